package behaviour_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// Counter is README.md's "A GenServer in 20 lines".
type Counter struct{}

type Inc struct{ By int }

func (Counter) Init(*actor.Context) (int, error) { return 0, nil }

func (Counter) HandleCall(_ *actor.Context, _ behaviour.From, req any, n int) behaviour.Result[int] {
	if inc, ok := req.(Inc); ok {
		n += inc.By
	}
	return behaviour.Reply(n, n) // {reply, N, N}
}

// README.md's GenServer, as it is there; then what the README says of
// calls: a call to a dead process fails with actor.NoProc.
func Example_counter() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	pid, _ := behaviour.Start[int](node, Counter{}, behaviour.WithName("counter"))
	n, err := behaviour.CallAs[int](context.Background(), pid, Inc{By: 2})
	fmt.Println(n, err) // 2 <nil>

	_ = behaviour.StopServer(context.Background(), node, pid, nil)
	_, err = behaviour.CallAs[int](context.Background(), pid, Inc{By: 2})
	fmt.Println(errors.Is(err, actor.NoProc))
	// Output:
	// 2 <nil>
	// true
}

// untilBye prints events and removes itself on "bye" (gen_event's
// remove_handler).
type untilBye struct{}

func (untilBye) HandleEvent(e string) error {
	if e == "bye" {
		return actor.Normal
	}
	fmt.Println("got", e)
	return nil
}

// A supervised handler (gen_event's add_sup_handler): its owner hears of
// its removal by a HandlerRemoved message with the reason; a handler that
// returns actor.Normal removes itself quietly.
func ExampleEventManager_AddSupervisedHandler() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	events, _ := behaviour.StartEventManager[string](node)
	owner, _ := node.NewInbox()
	_ = events.AddSupervisedHandler(ctx, owner.PID(), "printer", untilBye{})
	_ = events.SyncNotify(ctx, "hello")
	_ = events.SyncNotify(ctx, "bye")
	msg, _ := owner.Receive(ctx)
	removed := msg.(behaviour.HandlerRemoved)
	fmt.Println(removed.ID, removed.Reason)
	ids, _ := events.WhichHandlers(ctx)
	fmt.Println(len(ids))
	// Output:
	// got hello
	// printer normal
	// 0
}

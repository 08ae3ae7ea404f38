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

package behaviour_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// Stack is a GenServer whose state is a []string.
type Stack struct{}

type (
	Push struct{ Item string }
	Pop  struct{}
)

func (Stack) Init(*actor.Context) ([]string, error) { return nil, nil }

func (Stack) HandleCall(_ *actor.Context, _ behaviour.From, req any, s []string) behaviour.Result[[]string] {
	switch r := req.(type) {
	case Pop:
		if len(s) == 0 {
			return behaviour.Reply("", s)
		}
		return behaviour.Reply(s[len(s)-1], s[:len(s)-1])
	case Push:
		return behaviour.Reply("ok", append(s, r.Item))
	}
	return behaviour.Reply(nil, s)
}

func (Stack) HandleCast(_ *actor.Context, msg any, s []string) behaviour.Result[[]string] {
	if p, ok := msg.(Push); ok {
		s = append(s, p.Item)
	}
	return behaviour.NoReply(s)
}

func ExampleStart() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	pid, _ := behaviour.Start[[]string](node, Stack{}, behaviour.WithName("stack"))
	_ = behaviour.Cast(ctx, pid, Push{"milk"})
	_, _ = behaviour.Call(ctx, pid, Push{"eggs"})
	top, _ := behaviour.CallAs[string](ctx, pid, Pop{})
	next, _ := behaviour.CallAs[string](ctx, pid, Pop{})
	fmt.Println(top, next)
	// Output: eggs milk
}

type printer struct{ prefix string }

func (p printer) HandleEvent(e string) error {
	fmt.Println(p.prefix, e)
	return nil
}

func ExampleEventManager() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	events, _ := behaviour.StartEventManager[string](node)
	_ = events.AddHandler(ctx, "log", printer{prefix: "event:"})
	_ = events.SyncNotify(ctx, "bucket created")
	// Output: event: bucket created
}

// tally counts events and hands its count over when swapped out.
type tally struct{ n int }

func (t *tally) HandleEvent(string) error { t.n++; return nil }
func (t *tally) SwapOut() any             { return t.n }

// announcer takes over a count and prints each event with its number.
type announcer struct{ n int }

func (a *announcer) SwapIn(prev any) error { a.n, _ = prev.(int); return nil }
func (a *announcer) HandleEvent(e string) error {
	a.n++
	fmt.Printf("event %d: %s\n", a.n, e)
	return nil
}

func ExampleEventManager_SwapHandler() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	events, _ := behaviour.StartEventManager[string](node)
	_ = events.AddHandler(ctx, "count", &tally{})
	_ = events.SyncNotify(ctx, "bucket created")
	_ = events.SyncNotify(ctx, "key written")
	// Replace the quiet counter by a loud one, keeping the count.
	_ = events.SwapHandler(ctx, "count", "announce", &announcer{})
	_ = events.SyncNotify(ctx, "key deleted")
	ids, _ := events.WhichHandlers(ctx)
	fmt.Println(ids)
	// Output:
	// event 3: key deleted
	// [announce]
}

// Cache fills itself after Start has returned: Init asks for a continue,
// and HandleContinue runs before the first request is handled.
type Cache struct{}

type load struct{}

func (Cache) Init(*actor.Context) (map[string]string, error) {
	return behaviour.InitContinue(map[string]string(nil), load{})
}

func (Cache) HandleContinue(_ *actor.Context, _ any, _ map[string]string) behaviour.Result[map[string]string] {
	// A slow load (a file, a database) would run here, in the server,
	// without holding up Start or its supervisor.
	return behaviour.NoReply(map[string]string{"greeting": "hello"})
}

func (Cache) HandleCall(_ *actor.Context, _ behaviour.From, req any, s map[string]string) behaviour.Result[map[string]string] {
	key, _ := req.(string)
	return behaviour.Reply(s[key], s)
}

func ExampleInitContinue() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	pid, err := behaviour.Start[map[string]string](node, Cache{})
	fmt.Println("started:", err == nil)
	greeting, _ := behaviour.CallAs[string](ctx, pid, "greeting")
	fmt.Println(greeting)
	// Output:
	// started: true
	// hello
}

// Lookup is a GenServer that bounds its work by its caller's deadline.
type Lookup struct{}

func (Lookup) Init(*actor.Context) (struct{}, error) { return struct{}{}, nil }

func (Lookup) HandleCall(ctx *actor.Context, _ behaviour.From, _ any, s struct{}) behaviour.Result[struct{}] {
	d, ok := ctx.Deadline()
	if !ok {
		return behaviour.Reply("no deadline: the caller waits actor.DefaultCallTimeout", s)
	}
	// Work done under ctx (here a context derived from it) ends at the
	// caller's deadline, or earlier.
	wctx, cancel := context.WithTimeout(ctx, 24*time.Hour)
	defer cancel()
	wd, _ := wctx.Deadline()
	return behaviour.Reply(fmt.Sprintf("%v left, work bounded by it: %v", time.Until(d).Round(time.Minute), wd.Equal(d)), s)
}

// A caller's deadline is ctx.Deadline() in the handler, on this node or
// from another one; a call without one leaves the handler's ctx without.
func Example_callerDeadline() {
	n := actor.NewNode()
	defer n.Stop(context.Background())
	pid, _ := behaviour.Start(n, Lookup{})

	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	v, _ := behaviour.Call(ctx, pid, "find")
	fmt.Println(v)
	v, _ = behaviour.Call(context.Background(), pid, "find")
	fmt.Println(v)
	// Output:
	// 1h0m0s left, work bounded by it: true
	// no deadline: the caller waits actor.DefaultCallTimeout
}

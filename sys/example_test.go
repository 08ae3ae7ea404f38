package sys_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/arbor-otp/arbor/sys"
)

// Stack is a GenServer whose state is a []string.
type Stack struct{}

type Push struct{ Item string }

func (Stack) Init(*actor.Context) ([]string, error) { return nil, nil }

func (Stack) HandleCall(_ *actor.Context, _ behaviour.From, req any, s []string) behaviour.Result[[]string] {
	if p, ok := req.(Push); ok {
		s = append(s, p.Item)
	}
	return behaviour.Reply(len(s), s)
}

func (Stack) HandleCast(_ *actor.Context, msg any, s []string) behaviour.Result[[]string] {
	if p, ok := msg.(Push); ok {
		s = append(s, p.Item)
	}
	return behaviour.NoReply(s)
}

func newExampleNode() (*actor.Node, context.Context, func()) {
	node := actor.NewNode(actor.WithLogger(zerolog.Nop()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	return node, ctx, func() { _ = node.Stop(ctx); cancel() }
}

func ExampleGetStateAs() {
	node, ctx, stop := newExampleNode()
	defer stop()
	pid, _ := behaviour.Start[[]string](node, Stack{})
	_, _ = behaviour.Call(ctx, pid, Push{"milk"})

	s, err := sys.GetStateAs[[]string](ctx, node, pid)
	fmt.Println(s, err)

	// ReplaceState runs the function in the server, between two messages.
	s, err = sys.ReplaceState(ctx, node, pid, func(s []string) []string { return append(s, "eggs") })
	fmt.Println(s, err)

	// A panicking function leaves the state as it was.
	_, err = sys.ReplaceState(ctx, node, pid, func([]string) []string { panic("oops") })
	fmt.Println(err != nil)
	s, _ = sys.GetStateAs[[]string](ctx, node, pid)
	fmt.Println(s)
	// Output:
	// [milk] <nil>
	// [milk eggs] <nil>
	// true
	// [milk eggs]
}

func ExampleSuspend() {
	node, ctx, stop := newExampleNode()
	defer stop()
	pid, _ := behaviour.Start[[]string](node, Stack{})

	_ = sys.Suspend(ctx, node, pid)
	_ = behaviour.Cast(ctx, pid, Push{"milk"}) // queued, not handled

	// A call to a suspended server waits, and fails at its deadline.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	_, err := behaviour.Call(short, pid, Push{"eggs"})
	cancel()
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	st, _ := sys.GetStatus(ctx, node, pid)
	fmt.Println(st.Mode, st.QueueLen, st.State)

	_ = sys.Resume(ctx, node, pid)
	n, _ := behaviour.CallAs[int](ctx, pid, Push{"bread"})
	fmt.Println(n) // milk, eggs (whose caller gave up) and bread
	// Output:
	// true
	// suspended 2 []
	// 3
}

func ExampleTrace() {
	node, ctx, stop := newExampleNode()
	defer stop()
	pid, _ := behaviour.Start[[]string](node, Stack{})

	// Print each trace event's main fields; a real program logs them as
	// they are.
	l := zerolog.New(fieldPrinter{"event", "kind", "type", "msg", "reply"})
	_ = sys.Trace(ctx, node, pid, true, sys.TraceTo(l), sys.TracePerSecond(10))
	_ = behaviour.Cast(ctx, pid, Push{"milk"})
	_, _ = behaviour.Call(ctx, pid, Push{"eggs"})
	_ = sys.Trace(ctx, node, pid, false)
	// Output:
	// in cast sys_test.Push {Item:milk}
	// in call sys_test.Push {Item:eggs}
	// out int 2
}

// fieldPrinter prints the named fields of each JSON log line it is given.
type fieldPrinter []string

func (f fieldPrinter) Write(p []byte) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		return 0, err
	}
	var out []string
	for _, k := range f {
		if v, ok := m[k]; ok {
			out = append(out, fmt.Sprint(v))
		}
	}
	fmt.Println(strings.Join(out, " "))
	return len(p), nil
}

func ExampleApplicationTrees() {
	node, ctx, stop := newExampleNode()
	defer stop()
	c, _ := application.NewController(node)
	_ = c.Load(ctx, application.Spec{Name: "kv", Module: application.StartFunc(
		func(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
			return supervision.StartLink(ctx, []supervision.ChildSpec{
				{ID: "stack", Start: func(c *actor.Context) (actor.PID, error) {
					return behaviour.StartLink[[]string](c, Stack{})
				}},
				supervision.DynamicSpec("buckets", supervision.Template[string]{
					Start: func(c *actor.Context, _ string) (actor.PID, error) {
						return behaviour.StartLink[[]string](c, Stack{})
					},
				}),
			})
		})})
	_ = c.Start(ctx, "kv", application.Temporary)

	trees, _ := sys.ApplicationTrees(ctx, node)
	for _, app := range trees {
		fmt.Println(app.Name)
		printTree(app.Tree, "  ")
	}
	// Output:
	// kv
	//   supervisor
	//     stack: gen_server
	//     buckets: dynamic_supervisor
}

func printTree(t sys.TreeNode, indent string) {
	if t.ID == "" {
		fmt.Println(indent + t.Behaviour)
	} else {
		fmt.Printf("%s%s: %s\n", indent, t.ID, t.Behaviour)
	}
	for _, c := range t.Children {
		printTree(c, indent+"  ")
	}
}

// meter is a plain process that shows its state to sys by implementing
// actor.SysStater.
type meter struct{ ticks int }

type tick struct{}

func (m *meter) Receive(_ *actor.Context, msg any) error {
	switch r := msg.(type) {
	case tick:
		m.ticks++
	case *actor.Request:
		r.Reply(m.ticks)
	}
	return nil
}

func (m *meter) SysState() any { return m.ticks }

func ExampleGetState_plainProcess() {
	node, ctx, stop := newExampleNode()
	defer stop()
	pid, _ := node.Spawn(&meter{})
	_ = node.Send(pid, tick{})
	_ = node.Send(pid, tick{})

	// A sys request overtakes queued messages: a call first makes sure
	// the ticks are handled.
	_, _ = node.Call(ctx, pid, "sync")
	v, err := sys.GetState(ctx, node, pid)
	fmt.Println(v, err)
	// Output: 2 <nil>
}

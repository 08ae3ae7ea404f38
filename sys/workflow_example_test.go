package sys_test

import (
	"errors"
	"fmt"

	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/sys"
)

// sys:statistics: messages in and replies out since statistics were
// turned on (no reductions in Go: HandlerTime is the time in handlers).
func ExampleSetStatistics() {
	node, ctx, stop := newExampleNode()
	defer stop()
	pid, _ := behaviour.Start[[]string](node, Stack{})

	_, err := sys.Statistics(ctx, node, pid)
	fmt.Println(errors.Is(err, sys.ErrStatisticsOff))
	_ = sys.SetStatistics(ctx, node, pid, true)
	_, _ = behaviour.Call(ctx, pid, Push{"milk"})
	_ = behaviour.Cast(ctx, pid, Push{"eggs"})
	_, _ = behaviour.Call(ctx, pid, Push{"bread"})
	s, _ := sys.Statistics(ctx, node, pid)
	fmt.Println(s.MessagesIn, s.RepliesOut)
	// Output:
	// true
	// 3 2
}

// The process listing of a node (erlang:processes with process_info): one
// row a process, in PID order, with its name and behaviour.
func ExampleProcesses() {
	node, ctx, stop := newExampleNode()
	defer stop()
	_, _ = behaviour.Start[[]string](node, Stack{}, behaviour.WithName("stack"))
	m, _ := behaviour.StartEventManager[string](node, behaviour.WithName("events"))
	_ = m

	for _, p := range sys.Processes(ctx, node) {
		fmt.Println(p.Name, p.Behaviour, p.Mode, p.Answered)
	}
	// Output:
	// stack gen_server running true
	// events gen_event running true
}

package sys_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/sys"
)

// sys on a process of another node: both nodes serve remote sys, and n1
// reads and replaces the state of a GenServer of n2 whose state is a
// protobuf message.
func Example_remote() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := clustertest.New(ctx, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(ctx)
	n1, n2 := c.Node(0), c.Node(1)
	for _, n := range c.Nodes() {
		if err := sys.Serve(n); err != nil {
			fmt.Println(err)
			return
		}
	}
	pid, _ := behaviour.Start[*wrapperspb.Int64Value](n2.Node(), protoCounter{})

	st, err := sys.GetStatus(ctx, n1.Node(), pid)
	state, _ := st.State.(*wrapperspb.Int64Value)
	fmt.Println(st.Behaviour, state.GetValue(), err)
	v, err := sys.ReplaceState(ctx, n1.Node(), pid, func(s *wrapperspb.Int64Value) *wrapperspb.Int64Value {
		return wrapperspb.Int64(s.GetValue() + 42)
	})
	fmt.Println(v.GetValue(), err)
	fmt.Println(sys.Suspend(ctx, n1.Node(), pid), sys.Resume(ctx, n1.Node(), pid))
	// Output:
	// gen_server 0 <nil>
	// 42 <nil>
	// <nil> <nil>
}

package clustertest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
)

// Three nodes in one process: n1 calls a process of n2, monitors it, and
// watches n2 go down when the network between them is cut, and come back
// when it heals. n3 keeps its sessions with both throughout.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := clustertest.New(ctx, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(ctx)
	n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
	fmt.Println(n1.Name(), n1.Nodes())

	echo := actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(r.Message())
		}
		return nil
	})
	pid, _ := n2.Node().Spawn(echo, actor.WithName("echo"))
	reply, err := n1.CallNamed(ctx, n2.Name(), "echo", wrapperspb.String("hi"))
	fmt.Println("call:", value(reply), err)

	events, _ := n1.Node().NewInbox()
	defer events.Close()
	_ = n1.MonitorNodes(events.PID(), true)
	watcher, _ := n1.Node().NewInbox()
	defer watcher.Close()
	_, _ = watcher.Monitor(ctx, pid)
	_, _ = n1.Node().Call(ctx, pid, wrapperspb.String("sync")) // the monitor is in place

	c.Cut(n1, n2)
	if m, err := events.Receive(ctx); err == nil {
		d := m.(cluster.NodeDown)
		fmt.Println("down:", d.Node, d.Reason)
	}
	if m, err := watcher.Receive(ctx); err == nil {
		d := m.(actor.Down)
		fmt.Println("monitor:", d.PID == pid, errors.Is(d.Reason, actor.NoConnection))
	}
	fmt.Println(n3.Name(), n3.Nodes())

	c.Heal(n1, n2)
	if m, err := events.Receive(ctx); err == nil {
		fmt.Println("up:", m.(cluster.NodeUp).Node)
	}
	reply, err = n1.CallNamed(ctx, n2.Name(), "echo", wrapperspb.String("again"))
	fmt.Println("call:", value(reply), err)
	// Output:
	// n1@mem:1 [n2@mem:2 n3@mem:3]
	// call: hi <nil>
	// down: n2@mem:2 cluster: heartbeat timeout
	// monitor: true true
	// n3@mem:3 [n1@mem:1 n2@mem:2]
	// up: n2@mem:2
	// call: again <nil>
}

func value(reply any) string {
	s, _ := reply.(*wrapperspb.StringValue)
	return s.GetValue()
}

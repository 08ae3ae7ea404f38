package cluster_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
)

// Two nodes: b registers "echo"; a lists b as its static peer, sees it come
// up, calls "echo" there by name and monitors the process behind it.
//
// In a real deployment each node is its own program (examples/cluster,
// whose test runs two of them). The example has no checked output: under
// the race detector, two nodes in one test process trip on protoactor
// remote replacing gRPC's process-wide logger at each start.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	b, err := cluster.Start(ctx, "b", cluster.WithListenAddr("127.0.0.1:7002"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Stop(ctx)
	echo := actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(r.Message()) // a reply to another node must be protobuf too
		}
		return nil
	})
	pid, err := b.Node().Spawn(echo, actor.WithName("echo"))
	if err != nil {
		fmt.Println(err)
		return
	}

	a, err := cluster.Start(ctx, "a",
		cluster.WithListenAddr("127.0.0.1:7001"),
		cluster.WithProvider(cluster.Static(b.Name())))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Stop(ctx)
	inbox, _ := a.Node().NewInbox()
	defer inbox.Close()
	_ = a.MonitorNodes(inbox.PID(), true)
	if m, err := inbox.Receive(ctx); err == nil {
		fmt.Println("up:", m.(cluster.NodeUp).Node) // up: b@127.0.0.1:7002
	}

	reply, err := a.CallNamed(ctx, b.Name(), "echo", wrapperspb.String("hi"))
	fmt.Println(reply, err) // value:"hi" <nil>

	// A PID works from any node: monitor b's process from a. What a node
	// sends to another (messages, signals, calls) stays in order, so once
	// this call returns the monitor is in place.
	ref, _ := inbox.Monitor(ctx, pid)
	_, _ = a.Node().Call(ctx, pid, wrapperspb.String("ping"))
	_ = b.Node().Kill(pid)
	if m, err := inbox.Receive(ctx); err == nil {
		d := m.(actor.Down)
		fmt.Println(d.Ref == ref, d.Reason) // true killed
	}
}

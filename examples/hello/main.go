// Command hello is a small Arbor program: a GenServer counter and a worker
// it monitors, on a node with no cluster.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// Counter is a GenServer whose state is an int.
type Counter struct{}

type inc struct{}

func (Counter) Init(*actor.Context) (int, error) { return 0, nil }

func (Counter) HandleCall(_ *actor.Context, _ behaviour.From, req any, n int) behaviour.Result[int] {
	if _, ok := req.(inc); ok {
		n++
	}
	return behaviour.Reply(n, n)
}

func (Counter) HandleCast(_ *actor.Context, _ any, n int) behaviour.Result[int] {
	return behaviour.NoReply(n + 1)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node := actor.NewNode(actor.WithNodeName("hello@localhost"))
	defer node.Stop(ctx)

	counter, err := behaviour.Start[int](node, Counter{}, behaviour.WithName("counter"))
	if err != nil {
		return fmt.Errorf("start counter: %w", err)
	}
	for i := 0; i < 3; i++ {
		if err := behaviour.Cast(ctx, counter, inc{}); err != nil {
			return err
		}
	}
	n, err := behaviour.CallAs[int](ctx, counter, inc{})
	if err != nil {
		return fmt.Errorf("call counter: %w", err)
	}
	fmt.Printf("counter %v is at %d\n", counter, n)

	// A worker that crashes, watched through a monitor.
	inbox, err := node.NewInbox()
	if err != nil {
		return err
	}
	worker, err := node.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error {
		return errors.New("out of coffee")
	}))
	if err != nil {
		return err
	}
	if _, err := inbox.Monitor(ctx, worker); err != nil {
		return err
	}
	_ = node.Send(worker, "work")
	msg, err := inbox.Receive(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("worker %v exited: %v\n", worker, msg.(actor.Down).Reason)
	return behaviour.StopServer(ctx, node, counter, nil)
}

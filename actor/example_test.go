package actor_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-otp/arbor/actor"
)

// A worker linked to a process that traps exits: the worker's crash arrives
// as an Exit message instead of killing the watcher.
func ExampleContext_SpawnLink() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	watcher, _ := node.NewInbox(actor.WithTrapExit())
	var worker actor.PID
	_ = watcher.Do(ctx, func(c *actor.Context) error {
		worker, _ = c.SpawnLink(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
			if msg == "fail" {
				return errors.New("disk full")
			}
			return nil
		}))
		return nil
	})
	_ = node.Send(worker, "fail")
	msg, _ := watcher.Receive(ctx)
	exit := msg.(actor.Exit)
	fmt.Println(exit.From == worker, exit.Reason)
	// Output: true disk full
}

// Monitoring a process: Down carries the exit reason.
func ExampleContext_Monitor() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	pid, _ := node.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return actor.Normal }))
	ib, _ := node.NewInbox()
	_, _ = ib.Monitor(ctx, pid)
	_ = node.Send(pid, "stop")
	msg, _ := ib.Receive(ctx)
	fmt.Println(msg.(actor.Down).Reason)
	// Output: normal
}

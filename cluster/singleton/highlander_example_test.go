package singleton_test

import (
	"context"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// Two supervisors, as on two nodes, run the same singleton in the
// registry (Highlander) mode: the first claims the key and runs the
// child; the second watches and takes over when the first stops. Any
// node finds the instance by key with Call. Real deployments use
// registry.NewCluster so the scope spans the nodes; the example keeps it
// on one node so it runs anywhere.
func ExampleWithRegistry() {
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = node.Stop(context.Background()) }()
	reg := registry.New(node)
	if err := singleton.AddScope(reg, "singletons"); err != nil {
		fmt.Println(err)
		return
	}

	billing := func(holder string) supervision.ChildSpec {
		return supervision.ChildSpec{
			ID: "billing",
			Start: func(ctx *actor.Context) (actor.PID, error) {
				return ctx.SpawnLink(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
					if r, ok := msg.(*actor.Request); ok {
						r.Reply("billing runs on " + holder)
					}
					return nil
				}))
			},
		}
	}
	events := make(chan singleton.Event, 16)
	watcher, _ := node.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if ev, ok := msg.(singleton.Event); ok && ev.Kind != singleton.Waiting {
			events <- ev
		}
		return nil
	}))
	ctx := context.Background()
	supA, _ := supervision.Start(node, []supervision.ChildSpec{
		singleton.Spec(billing("a"), singleton.WithRegistry(reg, "singletons"), singleton.WithSubscriber(watcher)),
	})
	fmt.Println((<-events).Kind)
	reply, err := singleton.Call(ctx, reg, "singletons", "billing", "who?")
	fmt.Println(reply, err)

	supB, _ := supervision.Start(node, []supervision.ChildSpec{
		singleton.Spec(billing("b"), singleton.WithRegistry(reg, "singletons"), singleton.WithSubscriber(watcher)),
	})
	_ = supervision.Stop(ctx, node, supA) // a's node goes away
	fmt.Println((<-events).Kind)          // a's Released
	fmt.Println((<-events).Kind)          // b's Takeover
	reply, err = singleton.Call(ctx, reg, "singletons", "billing", "who?")
	fmt.Println(reply, err)
	_ = supervision.Stop(ctx, node, supB)
	// Output:
	// acquired
	// billing runs on a <nil>
	// released
	// takeover
	// billing runs on b <nil>
}

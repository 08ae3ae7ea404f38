package kv_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/rs/zerolog"
)

// The seed's iex session: start the kv application, create a bucket, put
// and get a value.
func Example() {
	node := actor.NewNode(actor.WithLogger(zerolog.Nop()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer func() { _ = node.Stop(ctx) }()

	c, _ := application.NewController(node)
	_ = c.Load(ctx, kv.Spec())
	started, err := c.EnsureAllStarted(ctx, kv.Name, application.Permanent)
	fmt.Println("started:", started, err)

	reg, _ := kv.FindRegistry(node)
	_, _ = reg.Create(ctx, "shopping")
	shopping, found, _ := reg.Lookup(ctx, "shopping")
	fmt.Println("shopping found:", found)
	_ = shopping.Put(ctx, "eggs", "3")
	eggs, _, _ := shopping.Get(ctx, "eggs")
	fmt.Println("eggs:", eggs)

	stopped, err := c.Stop(ctx, kv.Name)
	fmt.Println("stopped:", stopped, err)
	// Output:
	// started: [kv] <nil>
	// shopping found: true
	// eggs: 3
	// stopped: [kv] <nil>
}

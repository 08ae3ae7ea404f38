package application_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/rs/zerolog"
)

// store is a worker that keeps nothing; it stands for an application's
// real processes.
type store struct{}

func (store) Init(*actor.Context) (struct{}, error) { return struct{}{}, nil }

// treeApp is a Module whose top process is a one_for_one supervisor over
// one store worker.
var treeApp = application.StartFunc(func(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
	return supervision.StartLink(ctx, []supervision.ChildSpec{{
		ID: "store",
		Start: func(c *actor.Context) (actor.PID, error) {
			return behaviour.StartLink[struct{}](c, store{})
		},
	}})
})

func Example() {
	node := actor.NewNode(actor.WithLogger(zerolog.Nop()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer func() { _ = node.Stop(ctx) }()

	c, err := application.NewController(node)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = c.Load(ctx, application.Spec{Name: "kv", Vsn: "0.1.0", Module: treeApp})
	_ = c.Load(ctx, application.Spec{
		Name:         "kvserver",
		Vsn:          "0.2.0",
		Dependencies: []string{"kv"},
		Env:          map[string]any{"port": 4040},
		Module:       treeApp,
	})

	// Start does not start dependencies: OTP's {error, {not_started, kv}}.
	fmt.Println(c.Start(ctx, "kvserver", application.Permanent))

	// EnsureAllStarted does, dependencies first.
	started, err := c.EnsureAllStarted(ctx, "kvserver", application.Permanent)
	fmt.Println("started:", started, err)

	vsn, _ := c.Spec(ctx, "kv", application.KeyVsn)
	port, _, _ := application.GetEnvAs(ctx, c, "kvserver", "port", 0)
	fmt.Println("kv vsn:", vsn, "kvserver port:", port)

	for _, app := range must(c.WhichApplications(ctx)) {
		fmt.Println(app.Name, app.Vsn, app.Type, app.Status)
	}

	// Stopping kv stops kvserver, which depends on it, first.
	stopped, err := c.Stop(ctx, "kv")
	fmt.Println("stopped:", stopped, err)
	// Output:
	// application: kvserver depends on kv, which is not started
	// started: [kv kvserver] <nil>
	// kv vsn: 0.1.0 kvserver port: 4040
	// kv 0.1.0 permanent running
	// kvserver 0.2.0 permanent running
	// stopped: [kvserver kv] <nil>
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Run is what main calls. Here the context is cancelled once the
// applications run, as a SIGINT would do.
func ExampleRun() {
	node := actor.NewNode(actor.WithLogger(zerolog.Nop()))
	defer func() { _ = node.Stop(context.Background()) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	code := application.Run(ctx, node, []application.Spec{
		{Name: "kvserver", Dependencies: []string{"kv"}, Module: treeApp},
		{Name: "kv", Module: treeApp},
	}, application.WithOnStarted(func(_ context.Context, _ application.Controller, started []string) {
		fmt.Println("started:", started)
		cancel()
	}))
	fmt.Println("exit code:", code)
	// Output:
	// started: [kv kvserver]
	// exit code: 0
}

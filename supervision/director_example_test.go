package supervision_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/rs/zerolog"
)

// idle is a process that does nothing until it is stopped.
type idle struct{}

func (idle) Receive(*actor.Context, any) error { return nil }

func startIdle(ctx *actor.Context, _ []string) (actor.PID, error) { return ctx.SpawnLink(idle{}) }

// untilState asks the Director until child id is in state st.
func untilState(ctx context.Context, d supervision.Director[string], id string, st supervision.ChildState) {
	for ctx.Err() == nil {
		list, _ := d.WhichChildren(ctx)
		for _, c := range list {
			if c.ID == id && c.State == st {
				return
			}
		}
	}
}

// A child whose plan restarts it once, then waits for RestartChild.
func ExampleStartDirector() {
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer node.Stop(ctx)

	d, err := supervision.StartDirector(node, supervision.DirectorInit[string](
		func(*actor.Context) ([]supervision.DirectorSpec[string], supervision.DefaultSpec[string], error) {
			return []supervision.DirectorSpec[string]{{
				ID:    "bar",
				Start: startIdle,
				Plan:  supervision.Plan{supervision.PlanRestart, supervision.PlanWait},
			}}, supervision.DefaultSpec[string]{}, nil
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	kill := func() {
		pid, _ := d.GetPID(ctx, "bar")
		exited := node.WatchExit(pid)
		_ = node.Kill(pid)
		<-exited
	}

	kill() // first element: restart
	untilState(ctx, d, "bar", supervision.Running)
	kill() // second element: wait
	untilState(ctx, d, "bar", supervision.Waiting)
	pids, _ := d.GetPIDs(ctx)
	fmt.Println("running:", len(pids))

	_, err = d.RestartChild(ctx, "bar")
	fmt.Println("restart child:", err)
	plan, _ := d.GetPlan(ctx, "bar")
	fmt.Println("plan:", plan)
	// Output:
	// running: 0
	// restart child: <nil>
	// plan: [restart wait]
}

// A default child spec; children with Append merge with it.
func ExampleDirector_StartChild_append() {
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer node.Stop(ctx)

	d, err := supervision.StartDirector(node, supervision.DirectorInit[string](
		func(*actor.Context) ([]supervision.DirectorSpec[string], supervision.DefaultSpec[string], error) {
			return nil, supervision.DefaultSpec[string]{
				Start:            startIdle,
				TerminateTimeout: supervision.Timeout(time.Second),
				Plan:             supervision.Plan{supervision.PlanRestart},
				Count:            5,
			}, nil
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 1; i <= 10; i++ {
		if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: fmt.Sprint(i), Append: true}); err != nil {
			fmt.Println(err)
		}
	}
	spec, _ := d.GetChildSpec(ctx, "1")
	fmt.Println("count:", spec.Count)
	fmt.Println("terminate timeout:", spec.TerminateTimeout)
	fmt.Println("plan:", spec.Plan)
	counts, _ := d.CountChildren(ctx)
	fmt.Printf("%+v\n", counts)
	// Output:
	// count: 6
	// terminate timeout: 2s
	// plan: [restart func(default)]
	// {Specs:10 Active:10 Supervisors:0 Workers:10}
}

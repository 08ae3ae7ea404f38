package supervision_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/supervision"
)

// rest_for_one: when a child is restarted, the children started after it
// are restarted too; the ones before it keep running.
func ExampleWithStrategy() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	worker := func(id string) supervision.ChildSpec {
		return supervision.ChildSpec{ID: id, Start: func(c *actor.Context) (actor.PID, error) {
			return c.SpawnLink(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
				if err, ok := msg.(error); ok {
					return err // crash on demand
				}
				return nil
			}))
		}}
	}
	pids := func(sup actor.PID) map[string]actor.PID {
		cs, _ := supervision.WhichChildren(ctx, sup)
		m := map[string]actor.PID{}
		for _, c := range cs {
			m[c.ID] = c.PID
		}
		return m
	}
	sup, _ := supervision.Start(node, []supervision.ChildSpec{worker("db"), worker("cache"), worker("api")},
		supervision.WithStrategy(supervision.RestForOne))
	before := pids(sup)
	exited := node.WatchExit(before["cache"])
	_ = node.Send(before["cache"], errors.New("cache corrupted"))
	<-exited
	// the restart is done once every child has a new PID or its old one
	var after map[string]actor.PID
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		after = pids(sup)
		if after["cache"] != before["cache"] && !after["cache"].IsZero() && !after["api"].IsZero() && after["api"] != before["api"] {
			break
		}
	}
	for _, id := range []string{"db", "cache", "api"} {
		fmt.Printf("%s restarted: %v\n", id, after[id] != before[id])
	}
	// Output:
	// db restarted: false
	// cache restarted: true
	// api restarted: true
}

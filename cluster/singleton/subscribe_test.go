package singleton_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/supervision"
)

// TestSubscribe subscribes to a running singleton: Subscribe answers with
// the last event, later transitions follow in order, Unsubscribe stops
// them.
func TestSubscribe(t *testing.T) {
	node := actor.NewNode(actor.WithNodeName("n"), actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = node.Stop(context.Background()) }()
	locks := newMemLocks()
	led := &ledger{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Another holder has the key first.
	other, err := locks.holder("other").Acquire(ctx, "sub")
	if err != nil {
		t.Fatal(err)
	}
	sup, err := supervision.Start(node, []supervision.ChildSpec{
		singleton.Spec(workerSpec("sub", "n", led.add), singleton.WithLock(locks.holder("n"))),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = supervision.Stop(context.Background(), node, sup) }()
	kids, err := supervision.WhichChildren(ctx, sup)
	if err != nil || len(kids) != 1 {
		t.Fatalf("children %v %v", kids, err)
	}
	events := make(chan singleton.Event, 10)
	sub, err := node.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if ev, ok := msg.(singleton.Event); ok {
			events <- ev
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	last, err := singleton.Subscribe(ctx, kids[0].PID, sub)
	if err != nil || last.Kind != singleton.Waiting || last.Key != "sub" || last.Node != "n" {
		t.Fatalf("Subscribe: %+v %v, want the Waiting event", last, err)
	}
	if err := other.Release(ctx); err != nil {
		t.Fatal(err)
	}
	ev := <-events
	if ev.Kind != singleton.Takeover || ev.Previous != "other" || ev.Token <= other.Token() {
		t.Fatalf("event %+v, want a takeover from other", ev)
	}
	if err := singleton.Unsubscribe(ctx, kids[0].PID, sub); err != nil {
		t.Fatal(err)
	}
	if _, err := singleton.Subscribe(ctx, actor.PID{}, sub); err == nil {
		t.Fatal("Subscribe to the zero PID returned no error")
	}
}

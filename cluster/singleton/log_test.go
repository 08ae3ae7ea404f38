package singleton_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// TestDecisionsAreStructuredLogEvents checks that takeover and release
// are logged with fields, naming the key and the node.
func TestDecisionsAreStructuredLogEvents(t *testing.T) {
	node := actor.NewNode(actor.WithNodeName("n1"), actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = node.Stop(context.Background()) }()
	locks := newMemLocks()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	other, err := locks.holder("n0").Acquire(ctx, "logged")
	if err != nil {
		t.Fatal(err)
	}
	var buf testkit.LogBuffer
	log := zerolog.New(&buf).Level(zerolog.DebugLevel)
	sup, err := supervision.Start(node, []supervision.ChildSpec{
		singleton.Spec(workerSpec("logged", "n1", func(entry) {}), singleton.WithLock(locks.holder("n1")), singleton.WithLogger(log)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Release(ctx); err != nil {
		t.Fatal(err)
	}
	events := func() []string {
		var ev []string
		for _, r := range buf.Events(t) {
			if r["key"] != "logged" || r["node"] != "n1" || r["component"] != "singleton" {
				t.Fatalf("log record without key, node or component: %v", r)
			}
			if e, ok := r["event"].(string); ok {
				ev = append(ev, e)
			}
		}
		return ev
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if ev := events(); !slices.Contains(ev, "takeover") {
			return fmt.Errorf("events %v, want a takeover", ev)
		}
		return nil
	})
	if err := supervision.Stop(ctx, node, sup); err != nil {
		t.Fatal(err)
	}
	if ev := events(); !slices.Equal(ev, []string{"waiting", "takeover", "released"}) {
		t.Fatalf("events %v, want waiting, takeover, released", ev)
	}
	for _, r := range buf.Events(t) {
		if r["event"] == "takeover" && (r["previous"] != "n0" || r["token"] == nil) {
			t.Fatalf("takeover record %v lacks previous or token", r)
		}
	}
}

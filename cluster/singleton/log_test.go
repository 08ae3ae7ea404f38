package singleton_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the JSON log records written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(s.b.Bytes()), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

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
	var buf syncBuffer
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
		for _, r := range buf.records(t) {
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
	for _, r := range buf.records(t) {
		if r["event"] == "takeover" && (r["previous"] != "n0" || r["token"] == nil) {
			t.Fatalf("takeover record %v lacks previous or token", r)
		}
	}
}

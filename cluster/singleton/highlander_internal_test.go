package singleton

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// hlFixture is one node with a singleton scope "s" and a registry
// singleton of key "x" whose child counts its starts.
type hlFixture struct {
	node   *actor.Node
	reg    *registry.Registry
	scope  *registry.Scope
	h      *scopeHandler
	starts chan actor.PID
}

func newHLFixture(t *testing.T) *hlFixture {
	t.Helper()
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	t.Cleanup(func() { _ = node.Stop(context.Background()) })
	reg := registry.New(node)
	if err := AddScope(reg, "s"); err != nil {
		t.Fatal(err)
	}
	s, h, err := handlerOf(reg, "s")
	if err != nil {
		t.Fatal(err)
	}
	return &hlFixture{node: node, reg: reg, scope: s, h: h, starts: make(chan actor.PID, 16)}
}

func idle(*actor.Context, any) error { return nil }

// start starts the singleton under a supervisor and returns its process.
func (f *hlFixture) start(t *testing.T) actor.PID {
	t.Helper()
	child := supervision.ChildSpec{ID: "x", Start: func(ctx *actor.Context) (actor.PID, error) {
		pid, err := ctx.SpawnLink(actor.ReceiverFunc(idle))
		if err == nil {
			f.starts <- pid
		}
		return pid, err
	}}
	if _, err := supervision.Start(f.node, []supervision.ChildSpec{Spec(child, WithRegistry(f.reg, "s"))}); err != nil {
		t.Fatal(err)
	}
	var sp actor.PID
	testkit.Eventually(t, 10*time.Second, func() error {
		f.h.mu.Lock()
		defer f.h.mu.Unlock()
		for pid := range f.h.watchers["x"] {
			sp = pid
			return nil
		}
		return errors.New("the singleton does not watch x yet")
	})
	return sp
}

// unseen unregisters key x of holder without singleton sp hearing of
// it: sp does not watch x while the scope's handler tells the watchers,
// which a probe watching x sees.
func (f *hlFixture) unseen(t *testing.T, sp, holder actor.PID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	probe, err := f.node.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	f.h.unwatch("x", sp)
	f.h.watch("x", probe.PID())
	if err := f.scope.Unregister(ctx, "x", holder); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := probe.Receive(ctx)
		if err != nil {
			t.Fatalf("the probe heard nothing of x's freeing: %v", err)
		}
		if fm, ok := m.(freedMsg); ok && fm.pid == holder {
			break
		}
	}
	f.h.unwatch("x", probe.PID())
	f.h.watch("x", sp)
}

// syncWith returns once the singleton has handled every message sent to it
// before.
func syncWith(t *testing.T, sp actor.PID) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := Subscribe(ctx, sp, actor.PID{})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestConflictFreeingWaitsForTheWinner: on a node that is neither owner
// of a conflict, the loser's removal (reason ConflictResolution) can come
// before the winner's claim (the two come from two nodes, over two
// sessions, after a heal), leaving the key free here for a moment. A
// watcher that claimed then would start a third instance once its claim
// settled, if the winner's claim took longer than the settle time to
// arrive. The watcher waits instead: the winner's claim arriving meanwhile
// is accepted, no child starts; with no winner ever shown it claims at the
// next recheck.
func TestConflictFreeingWaitsForTheWinner(t *testing.T) {
	f := newHLFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	loser, _ := f.node.Spawn(actor.ReceiverFunc(idle))
	if err := f.scope.Register(ctx, "x", loser, nil); err != nil {
		t.Fatal(err)
	}
	sp := f.start(t)
	if ev := syncWith(t, sp); ev.Kind != Waiting {
		t.Fatalf("singleton %v with the key held", ev)
	}
	// The key becomes free here by a conflict resolved elsewhere: drop
	// the loser's claim unseen, then tell the watcher as the scope's
	// handler does for a conflict's removal.
	f.unseen(t, sp, loser)
	f.h.OnProcessUnregistered("s", "x", loser, nil, registry.ConflictResolution{})
	syncWith(t, sp)
	// The winner's claim arrives now.
	winner, _ := f.node.Spawn(actor.ReceiverFunc(idle))
	if err := f.scope.Register(ctx, "x", winner, nil); err != nil {
		t.Fatalf("the winner's claim after the conflict's freeing: %v (the watcher claimed the key at once)", err)
	}
	select {
	case pid := <-f.starts:
		t.Fatalf("child %v started while the winner holds the key", pid)
	default:
	}

	// With no winner: the watcher claims at its recheck.
	f.unseen(t, sp, winner)
	f.h.OnProcessUnregistered("s", "x", winner, nil, registry.ConflictResolution{})
	select {
	case <-f.starts:
	case <-time.After(10 * time.Second):
		t.Fatal("no instance after a conflict's freeing with no winner")
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if _, err := Whereis(f.reg, "s", "x"); err != nil {
			return fmt.Errorf("whereis: %w", err)
		}
		return nil
	})
}

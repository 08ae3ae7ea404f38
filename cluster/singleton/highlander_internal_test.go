package singleton

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"

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

// TestKilledSingletonLeavesNoEntries: a singleton process killed with
// actor.Kill (its supervisor's brutal kill, or a kill at its shutdown
// limit) runs none of its own code, yet neither the instance it ran nor
// its watch of the key stays behind in the package's maps (they leaked
// one entry per kill, and the scope's handler kept telling a dead
// process of every freeing).
func TestKilledSingletonLeavesNoEntries(t *testing.T) {
	f := newHLFixture(t)
	sp := f.start(t)
	select {
	case <-f.starts:
	case <-time.After(10 * time.Second):
		t.Fatal("no instance")
	}
	syncWith(t, sp) // the instance is published once the start's message is handled
	if _, ok := instances.Load(sp); !ok {
		t.Fatal("the running instance is not in instances")
	}
	exited := f.node.WatchExit(sp)
	if err := f.node.Exit(sp, actor.Kill); err != nil {
		t.Fatal(err)
	}
	<-exited
	testkit.Eventually(t, 10*time.Second, func() error {
		if _, ok := instances.Load(sp); ok {
			return fmt.Errorf("instances still maps the killed singleton %v", sp)
		}
		f.h.mu.Lock()
		_, watching := f.h.watchers["x"][sp]
		f.h.mu.Unlock()
		if watching {
			return fmt.Errorf("the killed singleton %v still watches x", sp)
		}
		return nil
	})
}

// TestStaleFreeingOfOwnClaimIgnored: the scope's table changes before its
// handler hears of it, so a singleton that saw its claim gone (its claim
// settling found the key free or another's) and claimed again can get the
// notice of the earlier claim's freeing after the new claim holds. That
// notice must not stop the instance the new claim runs.
func TestStaleFreeingOfOwnClaimIgnored(t *testing.T) {
	f := newHLFixture(t)
	sp := f.start(t)
	var child actor.PID
	select {
	case child = <-f.starts:
	case <-time.After(10 * time.Second):
		t.Fatal("no instance")
	}
	if ev := syncWith(t, sp); ev.Kind != Acquired {
		t.Fatalf("singleton %v, want Acquired", ev)
	}
	// A late notice of an earlier claim of sp's: the key is sp's now.
	_ = f.node.Send(sp, freedMsg{pid: sp, reason: registry.Undefined{}})
	if ev := syncWith(t, sp); ev.Kind != Acquired {
		t.Fatalf("after a stale freeing of its own claim: %v, want still Acquired", ev)
	}
	if !f.node.IsAlive(child) {
		t.Fatal("the instance was stopped by a stale freeing")
	}
	if pid, _, err := f.scope.Lookup("x"); err != nil || pid != sp {
		t.Fatalf("x held by %v (%v), want %v", pid, err, sp)
	}
}

// TestSingletonScopeCollected: a singleton scope is collected once its
// node has stopped and its registry is dropped, as any scope is (the
// package kept every scope added with AddScope in a map, and with it the
// scope's node, forever).
func TestSingletonScopeCollected(t *testing.T) {
	w := func() weak.Pointer[registry.Scope] {
		node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
		reg := registry.New(node)
		if err := AddScope(reg, "s"); err != nil {
			t.Fatal(err)
		}
		s, err := reg.Scope("s")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := node.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		return weak.Make(s)
	}()
	testkit.Eventually(t, 10*time.Second, func() error {
		runtime.GC()
		if w.Value() != nil {
			return errors.New("the singleton scope of a stopped node is still reachable")
		}
		return nil
	})
}

// TestRunningHolderNoticesLostClaim: a holder whose running child relies
// on the scope's handler to hear that its claim was dropped keeps that
// child forever when the notice is lost (the scope's event process
// restarted, say), while another process holds the key: two instances
// for good. The holder looks its claim up at each recheck, as a watcher
// does, and stops its child once the key is not its own.
func TestRunningHolderNoticesLostClaim(t *testing.T) {
	f := newHLFixture(t)
	sp := f.start(t)
	var child actor.PID
	select {
	case child = <-f.starts:
	case <-time.After(10 * time.Second):
		t.Fatal("no instance")
	}
	if ev := syncWith(t, sp); ev.Kind != Acquired {
		t.Fatalf("singleton %v, want Acquired", ev)
	}
	exited := f.node.WatchExit(child)
	// The claim goes without the holder hearing of it, and another
	// process takes the key.
	f.unseen(t, sp, sp)
	other, _ := f.node.Spawn(actor.ReceiverFunc(idle))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.scope.Register(ctx, "x", other, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the holder still runs its child while another process holds the key")
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if ev := syncWith(t, sp); ev.Kind != Waiting {
			return fmt.Errorf("singleton %v, want Waiting", ev)
		}
		return nil
	})
	if pid, _, err := f.scope.Lookup("x"); err != nil || pid != other {
		t.Fatalf("x held by %v (%v), want %v", pid, err, other)
	}
}

// TestResolverPublishNeverWeakens: the two owners of a conflict resolve
// it from the versions of the two claims they have at the time, and the
// registry resolves again on each owner when the other's claim changes,
// but not when its own does. Publishing the child re-registers the claim
// with a later time; the owners agree on every outcome only because that
// change never turns a winning claim into a losing one: a claim that beat
// another while claiming still beats it once serving, and a serving claim
// is never re-registered. This checks that rule on every pair.
func TestResolverPublishNeverWeakens(t *testing.T) {
	f := newHLFixture(t)
	mk := func(pid actor.PID, serving bool, at int64) registry.Registration {
		r := registry.Registration{PID: pid, Time: at}
		if serving {
			r.Meta = wrapperspb.Bytes([]byte{0})
		}
		return r
	}
	x, _ := f.node.Spawn(actor.ReceiverFunc(idle))
	y, _ := f.node.Spawn(actor.ReceiverFunc(idle))
	times := []int64{100, 200, 300}
	for _, tx := range times {
		for _, ty := range times {
			for _, ys := range []bool{false, true} {
				other := mk(y, ys, ty)
				claiming := mk(x, false, tx)
				if f.h.ResolveRegistryConflict("s", "x", claiming, other) != x {
					continue
				}
				for _, later := range []int64{tx + 1, tx + 1000} {
					if got := f.h.ResolveRegistryConflict("s", "x", mk(x, true, later), other); got != x {
						t.Errorf("claiming at %d beat %+v, serving since %d loses to it", tx, other, later)
					}
					if got := f.h.ResolveRegistryConflict("s", "x", other, mk(x, true, later)); got != x {
						t.Errorf("order: claiming at %d beat %+v, serving since %d loses to it", tx, other, later)
					}
				}
			}
		}
	}
}

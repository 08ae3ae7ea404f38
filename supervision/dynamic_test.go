package supervision_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// counter is a dynamic child whose start argument is its initial value; it
// answers calls with that value.
type counter struct{ n int }

func (c *counter) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case *actor.Request:
		m.Reply(c.n)
	case crash:
		return m.reason
	}
	return nil
}

func counterTemplate(r supervision.Restart) supervision.Template[int] {
	return supervision.Template[int]{
		Restart: r,
		Start: func(ctx *actor.Context, n int) (actor.PID, error) {
			return ctx.SpawnLink(&counter{n: n})
		},
	}
}

func TestDynamicSupervisor(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	sup, err := supervision.StartDynamic(n, counterTemplate(supervision.Permanent), supervision.WithMaxChildren(2))
	if err != nil {
		t.Fatal(err)
	}
	p1, err := sup.StartChild(ctx, 41)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := actor.Call(ctx, p1, "get"); err != nil || v != 41 {
		t.Fatalf("call: %v %v", v, err)
	}
	if _, err := sup.StartChild(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := sup.StartChild(ctx, 3); !errors.Is(err, supervision.ErrMaxChildren) {
		t.Fatalf("third child: %v", err)
	}
	// A crashed permanent child comes back with its argument and a new PID.
	exited := n.WatchExit(p1)
	_ = n.Send(p1, crash{errBoom})
	<-exited
	var p1b actor.PID
	testkit.Eventually(t, 5*time.Second, func() error {
		list, err := sup.WhichChildren(ctx)
		if err != nil {
			return err
		}
		for _, c := range list {
			if v, _ := actor.Call(ctx, c.PID, "get"); v == 41 && c.PID != p1 {
				p1b = c.PID
				return nil
			}
		}
		return fmt.Errorf("41 not restarted: %+v", list)
	})
	if err := sup.TerminateChild(ctx, p1b); err != nil {
		t.Fatal(err)
	}
	if err := sup.TerminateChild(ctx, p1b); !errors.Is(err, supervision.ErrNotFound) {
		t.Fatalf("terminate twice: %v", err)
	}
	if c, err := sup.CountChildren(ctx); err != nil || c != (supervision.Counts{Specs: 1, Active: 1, Workers: 1}) {
		t.Fatalf("count %+v %v", c, err)
	}
	if err := sup.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}
}

func TestDynamicTemporaryNotRestarted(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	sup, err := supervision.StartDynamic(n, counterTemplate(supervision.Temporary))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := sup.StartChild(ctx, 1)
	exited := n.WatchExit(p)
	_ = n.Send(p, crash{errBoom})
	<-exited
	testkit.Eventually(t, 5*time.Second, func() error {
		c, err := sup.CountChildren(ctx)
		if err != nil || c.Specs != 0 {
			return fmt.Errorf("count %+v %v", c, err)
		}
		return nil
	})
	if err := sup.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// TestDynamicParallelShutdown: children that ignore the shutdown signal are
// all killed at the one deadline, not one timeout after another.
func TestDynamicParallelShutdown(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	clk := newFakeClock()
	sup, err := supervision.StartDynamic(n, supervision.Template[string]{
		Shutdown: supervision.Timeout(time.Second),
		Start: func(ctx *actor.Context, id string) (actor.PID, error) {
			return ctx.SpawnLink(&worker{id: id, trap: true, ignoreShutdown: true})
		},
	}, supervision.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	var exits []<-chan error
	for i := 0; i < 50; i++ {
		p, err := sup.StartChild(ctx, fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		exits = append(exits, n.WatchExit(p))
	}
	done := make(chan error, 1)
	go func() { done <- sup.Stop(ctx, n) }()
	clk.waitTimer(t)
	clk.Advance(time.Second) // one timeout for all 50
	for _, ch := range exits {
		if r := <-ch; !errors.Is(r, actor.Killed) {
			t.Fatalf("child exit %v", r)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDynamicManyChildrenReturnToBaseline starts 100k children under a
// DynamicSupervisor, stops it, and checks goroutines and heap return to
// their starting point.
func TestDynamicManyChildrenReturnToBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	n := newNode(t)
	// A first round fills the node's bounded pool of idle workers, which is
	// part of its resting state.
	dynamicCycle(t, n, 1000)
	baseG, baseHeap := settle()
	dynamicCycle(t, n, 100_000)
	g, heap := settle()
	if g > baseG {
		t.Fatalf("goroutines %d, baseline %d", g, baseG)
	}
	// The PID table keeps one slot per peak process.
	if limit := baseHeap + 4<<20; heap > limit {
		t.Fatalf("heap %d B, baseline %d B", heap, baseHeap)
	}
	t.Logf("goroutines %d→%d, heap %d→%d B", baseG, g, baseHeap, heap)
}

// dynamicCycle starts a DynamicSupervisor with count children and stops
// it.
func dynamicCycle(t *testing.T, n *actor.Node, count int) {
	t.Helper()
	// 100k calls in a row: about 10 s under the race detector on a loaded
	// machine, so more than actortest's deadline. This test measures
	// resources, not time.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sup, err := supervision.StartDynamic(n, counterTemplate(supervision.Temporary))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < count; i++ {
		if _, err := sup.StartChild(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := sup.CountChildren(ctx); err != nil || c.Active != count {
		t.Fatalf("count %+v %v", c, err)
	}
	if err := sup.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}
	if c := n.CountProcesses(); c != 0 {
		t.Fatalf("%d processes left", c)
	}
}

// settle waits for exiting goroutines to finish and returns the goroutine
// count and live heap after a GC.
func settle() (int, uint64) {
	var g int
	for i := 0; i < 100; i++ {
		g = runtime.NumGoroutine()
		runtime.GC()
		runtime.Gosched()
		if runtime.NumGoroutine() == g {
			break
		}
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return g, ms.HeapAlloc
}

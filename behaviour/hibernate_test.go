package behaviour_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// sleeper is a GenServer that grows its process's buffers on request and
// hibernates when told to.
type sleeper struct{ target actor.PID }

type (
	spike struct{ monitors int } // call: monitor target that many times, then demonitor all
	nap   struct{}               // call: reply, then hibernate
	noop  struct{}               // cast
)

func (sleeper) Init(*actor.Context) (int, error) { return 0, nil }

func (sl sleeper) HandleCall(ctx *actor.Context, _ behaviour.From, req any, n int) behaviour.Result[int] {
	switch r := req.(type) {
	case spike:
		refs := make([]actor.Ref, r.monitors)
		for i := range refs {
			refs[i] = ctx.Monitor(sl.target)
		}
		for _, ref := range refs {
			ctx.Demonitor(ref)
		}
	case nap:
		return behaviour.Reply(n, n).Hibernate()
	}
	return behaviour.Reply(n, n)
}

func (sleeper) HandleCast(_ *actor.Context, _ any, n int) behaviour.Result[int] {
	return behaviour.NoReply(n + 1)
}

// idleHeap starts procs servers, makes each one handle a burst of casts
// and a peak of monitors, hibernates them if asked, waits until all are
// idle and returns the live heap bytes per server.
func idleHeap(tb testing.TB, procs int, hibernate bool) float64 {
	n := actortest.NewNode(tb)
	ctx := actortest.Context(tb)
	target := actortest.NewInbox(tb, n)
	base := liveHeap()
	pids := make([]actor.PID, procs)
	for i := range pids {
		pid, err := behaviour.Start[int](n, sleeper{target: target.PID()})
		if err != nil {
			tb.Fatal(err)
		}
		pids[i] = pid
	}
	for _, pid := range pids {
		for range 300 {
			_ = behaviour.Cast(ctx, pid, noop{})
		}
		if _, err := behaviour.Call(ctx, pid, spike{monitors: 200}); err != nil {
			tb.Fatal(err)
		}
		if hibernate {
			if _, err := behaviour.Call(ctx, pid, nap{}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	// A process is idle (and has hibernated) once its status is waiting.
	for _, pid := range pids {
		testkit.Eventually(tb, 30*time.Second, func() error {
			info, err := n.ProcessInfo(ctx, pid)
			if err != nil {
				return err
			}
			if info.Status != actor.StatusWaiting {
				return fmt.Errorf("%v is %v", pid, info.Status)
			}
			return nil
		})
	}
	perProc := float64(liveHeap()-base) / float64(procs)
	runtime.KeepAlive(pids)
	stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = n.Stop(stopCtx)
	return perProc
}

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestHibernateReleasesIdleMemory: a hibernated server that handled a burst
// of messages and a peak of monitors holds at least 2 KiB less while idle
// than one that did not hibernate.
func TestHibernateReleasesIdleMemory(t *testing.T) {
	const procs = 400
	awake := idleHeap(t, procs, false)
	asleep := idleHeap(t, procs, true)
	t.Logf("idle heap per server: %.0f B awake, %.0f B hibernated", awake, asleep)
	if asleep > awake-2048 {
		t.Fatalf("hibernating kept %.0f B of %.0f B per idle server", asleep, awake)
	}
}

// TestHibernateKeepsState: a hibernated server wakes with its state.
func TestHibernateKeepsState(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	pid, _ := behaviour.Start[int](n, sleeper{})
	_ = behaviour.Cast(ctx, pid, noop{})
	if _, err := behaviour.Call(ctx, pid, nap{}); err != nil {
		t.Fatal(err)
	}
	_ = behaviour.Cast(ctx, pid, noop{})
	if v, err := behaviour.CallAs[int](ctx, pid, "get"); err != nil || v != 2 {
		t.Fatalf("after hibernating: %v %v", v, err)
	}
}

// BenchmarkHibernateIdleHeap reports the live heap an idle server holds
// after a burst of 300 casts and 200 monitors, awake and hibernated.
func BenchmarkHibernateIdleHeap(b *testing.B) {
	for _, hib := range []bool{false, true} {
		b.Run(fmt.Sprintf("hibernate=%v", hib), func(b *testing.B) {
			var per float64
			for range b.N {
				per = idleHeap(b, 400, hib)
			}
			b.ReportMetric(per, "B/idle-server")
		})
	}
}

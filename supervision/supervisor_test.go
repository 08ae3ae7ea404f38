package supervision_test

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// TestRestartMatrix: strategy × restart type of the failing child × exit
// reason → which children are restarted. Children a, b, c start in that
// order; b has the restart type under test, a and c are permanent.
// Restarted children have new PIDs and their names point to them.
func TestRestartMatrix(t *testing.T) {
	type how int
	const (
		send how = iota
		kill
		panics
	)
	reasons := []struct {
		name   string
		how    how
		reason error
	}{
		{"normal", send, actor.Normal},
		{"shutdown", send, actor.Shutdown},
		{"{shutdown,x}", send, &actor.ShutdownError{Reason: "x"}},
		{"kill", kill, nil},
		{"panic", panics, nil},
		{"error", send, errBoom},
	}
	abnormal := map[string]bool{"kill": true, "panic": true, "error": true}
	group := map[supervision.Strategy][]string{
		supervision.OneForOne:  {"b"},
		supervision.OneForAll:  {"a", "b", "c"},
		supervision.RestForOne: {"b", "c"},
	}
	for _, strategy := range []supervision.Strategy{supervision.OneForOne, supervision.OneForAll, supervision.RestForOne} {
		for _, restart := range []supervision.Restart{supervision.Permanent, supervision.Transient, supervision.Temporary} {
			for _, r := range reasons {
				restarts := restart == supervision.Permanent || restart == supervision.Transient && abnormal[r.name]
				var want []string
				if restarts {
					want = group[strategy]
				}
				name := fmt.Sprintf("%v/%v/%s", strategy, restart, r.name)
				t.Run(name, func(t *testing.T) {
					n := newNode(t)
					ctx := ctxT(t)
					sup, err := supervision.Start(n, []supervision.ChildSpec{
						spec("a", supervision.Permanent), spec("b", restart), spec("c", supervision.Permanent),
					}, supervision.WithStrategy(strategy))
					if err != nil {
						t.Fatal(err)
					}
					before := pids(t, sup)
					b := before["b"]
					exited := n.WatchExit(b)
					switch r.how {
					case send:
						_ = n.Send(b, crash{r.reason})
					case kill:
						_ = n.Kill(b)
					case panics:
						_ = n.Send(b, panicMsg{})
					}
					<-exited
					var after map[string]supervision.ChildInfo
					testkit.Eventually(t, 5*time.Second, func() error {
						after = children(t, sup)
						bi, ok := after["b"]
						switch {
						case restarts && (!ok || bi.State != supervision.Running || bi.PID == b):
							return fmt.Errorf("b not restarted yet: %+v", bi)
						case !restarts && ok && bi.State == supervision.Running:
							return fmt.Errorf("b still marked running: %+v", bi)
						}
						return nil
					})
					var got []string
					for _, id := range []string{"a", "b", "c"} {
						c, ok := after[id]
						if !ok {
							if id != "b" || restart != supervision.Temporary {
								t.Fatalf("child %s missing: %+v", id, after)
							}
							continue
						}
						if c.State == supervision.Running && c.PID != before[id] {
							got = append(got, id)
							if where, _ := n.WhereIs(id); where != c.PID {
								t.Errorf("name %s -> %v, child is %v", id, where, c.PID)
							}
							if _, err := actor.Call(ctx, c.PID, "ping"); err != nil {
								t.Errorf("call restarted %s: %v", id, err)
							}
						}
					}
					if !slices.Equal(got, want) {
						t.Fatalf("restarted %v, want %v", got, want)
					}
					if _, kept := after["b"]; restart == supervision.Temporary && kept {
						t.Fatalf("temporary child's spec kept: %+v", after["b"])
					}
					if err := supervision.Stop(ctx, n, sup); err != nil {
						t.Fatalf("stop: %v", err)
					}
				})
			}
		}
	}
}

// TestIntensity: the fourth crash within the period ends the supervisor
// after its children (stopped in reverse order), with a shutdown reason its
// parent sees; crashes spaced wider than the period are survived.
func TestIntensity(t *testing.T) {
	t.Run("exceeded", func(t *testing.T) {
		n := newNode(t)
		ctx := ctxT(t)
		clk := newFakeClock()
		stops := make(chan string, 8)
		parent, err := n.NewInbox(actor.WithTrapExit())
		if err != nil {
			t.Fatal(err)
		}
		var sup actor.PID
		_ = parent.Do(ctx, func(c *actor.Context) error {
			sup, err = supervision.StartLink(c, []supervision.ChildSpec{
				recorded("a", nil, stops), spec("b", supervision.Permanent), recorded("c", nil, stops),
			}, supervision.WithClock(clk))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < supervision.DefaultMaxRestarts; i++ {
			crashAndWaitRestart(t, n, sup, "b")
			clk.Advance(time.Second) // 4 crashes within 3s < 5s
		}
		b := pids(t, sup)["b"]
		_ = n.Send(b, crash{errBoom})
		ex := recvExit(t, parent)
		if ex.From != sup || !errors.Is(ex.Reason, actor.Shutdown) {
			t.Fatalf("parent got %+v, want Exit from supervisor with shutdown", ex)
		}
		if got := drain(t, stops, 2); !slices.Equal(got, []string{"c", "a"}) {
			t.Fatalf("stop order %v, want [c a]", got)
		}
		if n.IsAlive(sup) {
			t.Fatal("supervisor alive")
		}
	})
	t.Run("spaced", func(t *testing.T) {
		n := newNode(t)
		ctx := ctxT(t)
		clk := newFakeClock()
		sup, err := supervision.Start(n, []supervision.ChildSpec{spec("b", supervision.Permanent)},
			supervision.WithClock(clk), supervision.WithIntensity(1, 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			crashAndWaitRestart(t, n, sup, "b")
			clk.Advance(5*time.Second + time.Millisecond)
		}
		if err := supervision.Stop(ctx, n, sup); err != nil {
			t.Fatalf("stop after spaced crashes: %v", err)
		}
	})
}

func recvExit(t testing.TB, ib *actor.Inbox) actor.Exit {
	t.Helper()
	for {
		m, err := ib.Receive(ctxT(t))
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if ex, ok := m.(actor.Exit); ok {
			return ex
		}
	}
}

// crashAndWaitRestart crashes child id and waits for its replacement.
func crashAndWaitRestart(t testing.TB, n *actor.Node, sup actor.PID, id string) actor.PID {
	t.Helper()
	old := pids(t, sup)[id]
	exited := n.WatchExit(old)
	_ = n.Send(old, crash{errBoom})
	<-exited
	var now actor.PID
	testkit.Eventually(t, 5*time.Second, func() error {
		c := children(t, sup)[id]
		if c.State != supervision.Running || c.PID == old {
			return fmt.Errorf("%s not restarted: %+v", id, c)
		}
		now = c.PID
		return nil
	})
	return now
}

func TestShutdownLimits(t *testing.T) {
	stubborn := func(id string, sd supervision.Shutdown, ignored chan<- struct{}) supervision.ChildSpec {
		return supervision.ChildSpec{ID: id, Shutdown: sd, Start: func(ctx *actor.Context) (actor.PID, error) {
			return ctx.SpawnLink(&worker{id: id, trap: true, ignoreShutdown: true, ignored: ignored})
		}}
	}
	t.Run("timeout then kill", func(t *testing.T) {
		n := newNode(t)
		ctx := ctxT(t)
		clk := newFakeClock()
		sup, err := supervision.Start(n, []supervision.ChildSpec{stubborn("s", supervision.Timeout(time.Second), nil)},
			supervision.WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		child := pids(t, sup)["s"]
		exited := n.WatchExit(child)
		done := make(chan error, 1)
		go func() { done <- supervision.TerminateChild(ctx, sup, "s") }()
		clk.waitTimer(t)
		select {
		case r := <-exited:
			t.Fatalf("child exited before its timeout: %v", r)
		default:
		}
		clk.Advance(time.Second)
		if r := <-exited; !errors.Is(r, actor.Killed) {
			t.Fatalf("child exit %v, want killed", r)
		}
		if err := <-done; err != nil {
			t.Fatalf("terminate: %v", err)
		}
		if c := children(t, sup)["s"]; c.State != supervision.Stopped {
			t.Fatalf("child %+v, want stopped", c)
		}
	})
	t.Run("brutal kill", func(t *testing.T) {
		n := newNode(t)
		ctx := ctxT(t)
		sup, err := supervision.Start(n, []supervision.ChildSpec{stubborn("s", supervision.BrutalKill, nil)})
		if err != nil {
			t.Fatal(err)
		}
		exited := n.WatchExit(pids(t, sup)["s"])
		if err := supervision.TerminateChild(ctx, sup, "s"); err != nil {
			t.Fatal(err)
		}
		if r := <-exited; !errors.Is(r, actor.Killed) {
			t.Fatalf("child exit %v, want killed", r)
		}
	})
	t.Run("infinity waits", func(t *testing.T) {
		n := newNode(t)
		ctx := ctxT(t)
		clk := newFakeClock()
		ignored := make(chan struct{}, 1)
		sup, err := supervision.Start(n, []supervision.ChildSpec{stubborn("s", supervision.Infinity, ignored)},
			supervision.WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		child := pids(t, sup)["s"]
		exited := n.WatchExit(child)
		done := make(chan error, 1)
		go func() { done <- supervision.TerminateChild(ctx, sup, "s") }()
		<-ignored // the shutdown reached the child, which ignores it
		clk.Advance(24 * time.Hour)
		select {
		case err := <-done:
			t.Fatalf("terminate returned %v while the child runs", err)
		case r := <-exited:
			t.Fatalf("child exited: %v", r)
		default:
		}
		_ = n.Send(child, release{})
		if r := <-exited; !errors.Is(r, actor.Shutdown) {
			t.Fatalf("child exit %v, want shutdown", r)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestTreeStopsInReverseOrder: a nested tree stops depth first, each
// supervisor's children in reverse start order.
func TestTreeStopsInReverseOrder(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	starts, stops := make(chan string, 16), make(chan string, 16)
	sup, err := supervision.Start(n, []supervision.ChildSpec{
		recorded("w1", starts, stops),
		supervision.SupervisorSpec("sub", []supervision.ChildSpec{recorded("w2", starts, stops), recorded("w3", starts, stops)}),
		recorded("w4", starts, stops),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, starts, 4); !slices.Equal(got, []string{"w1", "w2", "w3", "w4"}) {
		t.Fatalf("start order %v", got)
	}
	if err := supervision.Stop(ctx, n, sup); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, stops, 4); !slices.Equal(got, []string{"w4", "w3", "w2", "w1"}) {
		t.Fatalf("stop order %v", got)
	}
	if c := n.CountProcesses(); c != 0 {
		t.Fatalf("%d processes left", c)
	}
}

// TestRestForOneOrder: only the children after the failed one restart, the
// later ones stopped in reverse order, all started again in order.
func TestRestForOneOrder(t *testing.T) {
	n := newNode(t)
	starts, stops := make(chan string, 16), make(chan string, 16)
	var specs []supervision.ChildSpec
	for _, id := range []string{"a", "b", "c", "d"} {
		specs = append(specs, recorded(id, starts, stops))
	}
	sup, err := supervision.Start(n, specs, supervision.WithStrategy(supervision.RestForOne))
	if err != nil {
		t.Fatal(err)
	}
	drain(t, starts, 4)
	before := pids(t, sup)
	crashAndWaitRestart(t, n, sup, "b")
	if got := drain(t, stops, 2); !slices.Equal(got, []string{"d", "c"}) {
		t.Fatalf("stop order %v, want [d c]", got)
	}
	if got := drain(t, starts, 3); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Fatalf("restart order %v, want [b c d]", got)
	}
	after := pids(t, sup)
	if after["a"] != before["a"] {
		t.Fatal("a was restarted")
	}
	for _, id := range []string{"b", "c", "d"} {
		if after[id] == before[id] {
			t.Fatalf("%s not restarted", id)
		}
	}
}

// TestRestartLoopTerminable: a child whose restart keeps failing can be
// terminated and deleted while the supervisor retries, and the supervisor
// then stops cleanly.
func TestRestartLoopTerminable(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	clk := newFakeClock()
	var attempts atomic.Int64
	flaky := supervision.ChildSpec{ID: "flaky", Start: func(c *actor.Context) (actor.PID, error) {
		if attempts.Add(1) == 1 {
			return c.SpawnLink(&worker{id: "flaky"})
		}
		clk.Advance(time.Second) // keep the intensity window from filling up
		return actor.PID{}, errBoom
	}}
	sup, err := supervision.Start(n, []supervision.ChildSpec{spec("ok", supervision.Permanent), flaky},
		supervision.WithClock(clk), supervision.WithIntensity(10, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	_ = n.Send(pids(t, sup)["flaky"], crash{errBoom})
	testkit.Eventually(t, 5*time.Second, func() error {
		if a := attempts.Load(); a < 5 {
			return fmt.Errorf("%d start attempts", a)
		}
		return nil
	})
	if c := children(t, sup)["flaky"]; c.State != supervision.Restarting {
		t.Fatalf("flaky %+v, want restarting", c)
	}
	if err := supervision.DeleteChild(ctx, sup, "flaky"); !errors.Is(err, supervision.ErrRestarting) {
		t.Fatalf("delete while restarting: %v", err)
	}
	if err := supervision.TerminateChild(ctx, sup, "flaky"); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	if err := supervision.DeleteChild(ctx, sup, "flaky"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	settled := attempts.Load()
	if _, err := supervision.GetChildSpec(ctx, sup, "flaky"); !errors.Is(err, supervision.ErrNotFound) {
		t.Fatalf("spec after delete: %v", err)
	}
	if a := attempts.Load(); a != settled {
		t.Fatalf("restart attempts went on: %d -> %d", settled, a)
	}
	if err := supervision.Stop(ctx, n, sup); err != nil {
		t.Fatal(err)
	}
}

// TestStartFailureLeavesNothing: a child failing in the supervisor's start
// fails Start, the children already started are stopped in reverse order,
// and no process remains.
func TestStartFailureLeavesNothing(t *testing.T) {
	n := newNode(t)
	starts, stops := make(chan string, 8), make(chan string, 8)
	bad := supervision.ChildSpec{ID: "bad", Start: func(*actor.Context) (actor.PID, error) { return actor.PID{}, errBoom }}
	_, err := supervision.Start(n, []supervision.ChildSpec{recorded("a", starts, stops), recorded("b", starts, stops), bad, recorded("c", starts, stops)},
		supervision.WithName("sup"))
	var se *supervision.StartError
	if !errors.As(err, &se) || se.ID != "bad" || !errors.Is(err, errBoom) {
		t.Fatalf("start: %v", err)
	}
	if got := drain(t, stops, 2); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("stop order %v", got)
	}
	if c := n.CountProcesses(); c != 0 {
		t.Fatalf("%d processes left", c)
	}
	if _, ok := n.WhereIs("sup"); ok {
		t.Fatal("supervisor name kept")
	}
}

// TestChildAPI walks StartChild, TerminateChild, RestartChild, DeleteChild,
// GetChildSpec, CountChildren and their errors.
func TestChildAPI(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	sup, err := supervision.Start(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := supervision.StartChild(ctx, sup, spec("a", supervision.Permanent))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := supervision.StartChild(ctx, sup, spec("a", supervision.Permanent)); !errors.Is(err, supervision.ErrAlreadyStarted) || again != pid {
		t.Fatalf("second start: %v %v", again, err)
	}
	if _, err := supervision.StartChild(ctx, sup, supervision.ChildSpec{ID: "x"}); !errors.Is(err, supervision.ErrInvalidSpec) {
		t.Fatalf("no start func: %v", err)
	}
	if _, err := supervision.StartChild(ctx, sup, supervision.ChildSpec{ID: "s", Significant: true, Start: spec("s", 0).Start}); !errors.Is(err, supervision.ErrInvalidSpec) {
		t.Fatalf("significant permanent: %v", err)
	}
	ign := supervision.ChildSpec{ID: "ign", Start: func(*actor.Context) (actor.PID, error) { return actor.PID{}, actor.Ignore }}
	if _, err := supervision.StartChild(ctx, sup, ign); !errors.Is(err, actor.Ignore) {
		t.Fatalf("ignore: %v", err)
	}
	if _, err := supervision.StartChild(ctx, sup, ign); !errors.Is(err, supervision.ErrAlreadyPresent) {
		t.Fatalf("ignored spec kept: %v", err)
	}
	if err := supervision.DeleteChild(ctx, sup, "a"); !errors.Is(err, supervision.ErrRunning) {
		t.Fatalf("delete running: %v", err)
	}
	if _, err := supervision.RestartChild(ctx, sup, "a"); !errors.Is(err, supervision.ErrRunning) {
		t.Fatalf("restart running: %v", err)
	}
	if err := supervision.TerminateChild(ctx, sup, "a"); err != nil {
		t.Fatal(err)
	}
	if n.IsAlive(pid) {
		t.Fatal("terminated child alive")
	}
	cnt, err := supervision.CountChildren(ctx, sup)
	if err != nil || cnt != (supervision.Counts{Specs: 2, Active: 0, Workers: 2}) {
		t.Fatalf("count %+v %v", cnt, err)
	}
	pid2, err := supervision.RestartChild(ctx, sup, "a")
	if err != nil || pid2 == pid || pid2.IsZero() {
		t.Fatalf("restart: %v %v", pid2, err)
	}
	got, err := supervision.GetChildSpec(ctx, sup, "a")
	if err != nil || got.ID != "a" {
		t.Fatalf("spec %+v %v", got, err)
	}
	for _, f := range []func() error{
		func() error { return supervision.TerminateChild(ctx, sup, "nope") },
		func() error { return supervision.DeleteChild(ctx, sup, "nope") },
		func() error { _, err := supervision.RestartChild(ctx, sup, "nope"); return err },
		func() error { _, err := supervision.GetChildSpec(ctx, sup, "nope"); return err },
	} {
		if err := f(); !errors.Is(err, supervision.ErrNotFound) {
			t.Fatalf("unknown child: %v", err)
		}
	}
	if err := supervision.TerminateChild(ctx, sup, "a"); err != nil {
		t.Fatal(err)
	}
	if err := supervision.DeleteChild(ctx, sup, "a"); err != nil {
		t.Fatal(err)
	}
	if err := supervision.Stop(ctx, n, sup); err != nil {
		t.Fatal(err)
	}
	if err := supervision.Stop(ctx, n, sup); !errors.Is(err, actor.NoProc) {
		t.Fatalf("stop dead: %v", err)
	}
}

// TestAutoShutdown: a significant transient child's normal exit ends the
// supervisor under AnySignificant; under AllSignificant only the last one
// does.
func TestAutoShutdown(t *testing.T) {
	sig := func(id string) supervision.ChildSpec {
		s := spec(id, supervision.Transient)
		s.Significant = true
		return s
	}
	for _, tc := range []struct {
		mode    supervision.AutoShutdown
		exitsAt int // the supervisor exits after this many significant exits
	}{{supervision.AnySignificant, 1}, {supervision.AllSignificant, 2}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			n := newNode(t)
			sup, err := supervision.Start(n, []supervision.ChildSpec{spec("p", supervision.Permanent), sig("s1"), sig("s2")},
				supervision.WithAutoShutdown(tc.mode))
			if err != nil {
				t.Fatal(err)
			}
			supExit := n.WatchExit(sup)
			ps := pids(t, sup)
			for i, id := range []string{"s1", "s2"} {
				exited := n.WatchExit(ps[id])
				_ = n.Send(ps[id], crash{actor.Normal})
				<-exited
				if i+1 == tc.exitsAt {
					if r := <-supExit; !errors.Is(r, actor.Shutdown) {
						t.Fatalf("supervisor exit %v", r)
					}
					return
				}
				testkit.Eventually(t, 5*time.Second, func() error {
					if c := children(t, sup)[id]; c.State != supervision.Stopped {
						return fmt.Errorf("%s %+v", id, c)
					}
					return nil
				})
			}
		})
	}
}

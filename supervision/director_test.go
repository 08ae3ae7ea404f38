package supervision_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// startBar starts a test worker linked to the Director; its args are
// ignored.
func startBar(ctx *actor.Context, _ []string) (actor.PID, error) {
	return ctx.SpawnLink(&worker{id: "bar"})
}

// noChildren is a Director callback with no children and no default spec.
var noChildren = supervision.DirectorInit[string](func(*actor.Context) ([]supervision.DirectorSpec[string], supervision.DefaultSpec[string], error) {
	return nil, supervision.DefaultSpec[string]{}, nil
})

// startDirector starts a Director stopped at the end of the test.
func startDirector(t *testing.T, n *actor.Node, cb supervision.DirectorCallback[string], opts ...supervision.Option) supervision.Director[string] {
	t.Helper()
	d, err := supervision.StartDirector(n, cb, opts...)
	if err != nil {
		t.Fatalf("start director: %v", err)
	}
	return d
}

// childState returns the WhichChildren row of id (ok false if absent).
func childState(t *testing.T, d supervision.Director[string], id string) (supervision.ChildInfo, bool) {
	t.Helper()
	list, err := d.WhichChildren(ctxT(t))
	if err != nil {
		t.Fatalf("which children: %v", err)
	}
	for _, c := range list {
		if c.ID == id {
			return c, true
		}
	}
	return supervision.ChildInfo{}, false
}

// killChild kills the running child id and waits for its exit.
func killChild(t *testing.T, n *actor.Node, d supervision.Director[string], id string) actor.PID {
	t.Helper()
	pid, err := d.GetPID(ctxT(t), id)
	if err != nil {
		t.Fatalf("get pid %s: %v", id, err)
	}
	exited := n.WatchExit(pid)
	_ = n.Kill(pid)
	<-exited
	return pid
}

// waitState waits until child id is in state st (and, when running, has a
// PID other than old).
func waitState(t *testing.T, d supervision.Director[string], id string, st supervision.ChildState, old actor.PID) supervision.ChildInfo {
	t.Helper()
	var info supervision.ChildInfo
	testkit.Eventually(t, 5*time.Second, func() error {
		c, ok := childState(t, d, id)
		switch {
		case !ok:
			return fmt.Errorf("child %s absent", id)
		case c.State != st:
			return fmt.Errorf("child %s is %v, want %v", id, c.State, st)
		case st == supervision.Running && c.PID == old:
			return fmt.Errorf("child %s not restarted yet", id)
		}
		info = c
		return nil
	})
	return info
}

// The seed's first session: plan [restart, {restart, 5000}, delete].
func TestDirectorSeedRestartPlan(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	clk := newFakeClock()
	d := startDirector(t, n, noChildren, supervision.WithClock(clk))

	if l, _ := d.WhichChildren(ctx); len(l) != 0 {
		t.Fatalf("which children = %v, want none", l)
	}
	if c, _ := d.CountChildren(ctx); c != (supervision.Counts{}) {
		t.Fatalf("count children = %+v", c)
	}
	pid1, err := d.StartChild(ctx, supervision.DirectorSpec[string]{
		ID:    "bar_id",
		Start: startBar,
		Plan:  supervision.Plan{supervision.PlanRestart, supervision.PlanRestartAfter(5 * time.Second), supervision.PlanDelete},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := d.CountChildren(ctx); c != (supervision.Counts{Specs: 1, Active: 1, Workers: 1}) {
		t.Fatalf("count children = %+v", c)
	}
	if got, _ := d.GetPIDs(ctx); !slices.Equal(got, []supervision.ChildPID{{ID: "bar_id", PID: pid1}}) {
		t.Fatalf("get pids = %v", got)
	}

	// First crash: restarted at once.
	killChild(t, n, d, "bar_id")
	pid2 := waitState(t, d, "bar_id", supervision.Running, pid1).PID

	// Second crash: restarting for five seconds of the fake clock.
	killChild(t, n, d, "bar_id")
	waitState(t, d, "bar_id", supervision.Restarting, actor.PID{})
	if got, _ := d.GetPIDs(ctx); len(got) != 0 {
		t.Fatalf("get pids while restarting = %v, want none", got)
	}
	if _, err := d.GetPID(ctx, "bar_id"); !errors.Is(err, supervision.ErrNotRunning) {
		t.Fatalf("get pid while restarting: %v, want ErrNotRunning", err)
	}
	if _, err := d.GetPID(ctx, "bare_id"); !errors.Is(err, supervision.ErrNotFound) {
		t.Fatalf("get pid of unknown id: %v, want ErrNotFound", err)
	}
	clk.waitTimer(t)
	clk.Advance(4 * time.Second)
	if c, _ := childState(t, d, "bar_id"); c.State != supervision.Restarting {
		t.Fatalf("after 4 s: %v, want restarting", c.State)
	}
	clk.Advance(time.Second)
	pid3 := waitState(t, d, "bar_id", supervision.Running, pid2).PID
	if pid3 == pid1 {
		t.Fatal("restarted with an old PID")
	}

	// Third crash: deleted.
	killChild(t, n, d, "bar_id")
	testkit.Eventually(t, 5*time.Second, func() error {
		if _, ok := childState(t, d, "bar_id"); ok {
			return errors.New("child still present")
		}
		return nil
	})
}

// The seed's second session: plan [wait] with count 1, then ChangePlan.
func TestDirectorSeedWaitAndChangePlan(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	d := startDirector(t, n, supervision.DirectorInit[string](func(*actor.Context) ([]supervision.DirectorSpec[string], supervision.DefaultSpec[string], error) {
		return []supervision.DirectorSpec[string]{{
			ID:               "bar_id",
			Plan:             supervision.Plan{supervision.PlanWait},
			Start:            startBar,
			Count:            1,
			TerminateTimeout: supervision.Timeout(2 * time.Second),
		}}, supervision.DefaultSpec[string]{}, nil
	}), supervision.WithName("foo_sup"))

	spec, err := d.GetChildSpec(ctx, "bar_id")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Count != 1 || spec.TerminateTimeout != supervision.Timeout(2*time.Second) ||
		spec.Type != supervision.Worker || spec.Append || spec.Plan.String() != "[wait]" {
		t.Fatalf("child spec = %+v", spec)
	}

	killChild(t, n, d, "bar_id")
	info := waitState(t, d, "bar_id", supervision.Waiting, actor.PID{})
	if !info.PID.IsZero() {
		t.Fatalf("waiting child has PID %v", info.PID)
	}
	if c, _ := d.CountChildren(ctx); c != (supervision.Counts{Specs: 1, Workers: 1}) {
		t.Fatalf("count children = %+v", c)
	}
	if p, _ := d.GetPlan(ctx, "bar_id"); p.String() != "[wait]" {
		t.Fatalf("plan = %v", p)
	}

	// Changing the plan resets its counter: the count of 1 is available
	// again.
	if err := d.ChangePlan(ctx, "bar_id", supervision.Plan{supervision.PlanRestart}); err != nil {
		t.Fatal(err)
	}
	if s, _ := d.GetChildSpec(ctx, "bar_id"); s.Plan.String() != "[restart]" {
		t.Fatalf("plan after change = %v", s.Plan)
	}
	if got, _ := d.GetPIDs(ctx); len(got) != 0 {
		t.Fatalf("get pids = %v", got)
	}
	pid, err := d.RestartChild(ctx, "bar_id")
	if err != nil || pid.IsZero() {
		t.Fatalf("restart child: %v %v", pid, err)
	}
	killChild(t, n, d, "bar_id")
	waitState(t, d, "bar_id", supervision.Running, pid)

	// The plan has now run once (count 1): the next crash ends the
	// Director.
	exited := n.WatchExit(d.PID())
	killChild(t, n, d, "bar_id")
	reason := <-exited
	var max *supervision.MaxRestartPlanError
	if !errors.Is(reason, supervision.ErrMaxRestartPlan) || !errors.As(reason, &max) ||
		max.ID != "bar_id" || !errors.Is(max.Reason, actor.Killed) {
		t.Fatalf("director exit = %v, want reached max restart plan for bar_id", reason)
	}
}

// Without ChangePlan, the second crash of a [wait] count 1 child ends the
// Director.
func TestDirectorCountExhausted(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	d := startDirector(t, n, noChildren)
	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{
		ID: "w", Start: startBar, Plan: supervision.Plan{supervision.PlanWait},
	}); err != nil {
		t.Fatal(err)
	}
	other, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "other", Start: startBar})
	if err != nil {
		t.Fatal(err)
	}
	killChild(t, n, d, "w")
	waitState(t, d, "w", supervision.Waiting, actor.PID{})
	if _, err := d.RestartChild(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	exited, otherExited := n.WatchExit(d.PID()), n.WatchExit(other)
	killChild(t, n, d, "w")
	if reason := <-exited; !errors.Is(reason, supervision.ErrMaxRestartPlan) {
		t.Fatalf("director exit = %v", reason)
	}
	if reason := <-otherExited; !errors.Is(reason, actor.Shutdown) {
		t.Fatalf("other child exit = %v, want shutdown", reason)
	}
}

// The seed's third session: a default child spec and Append.
func TestDirectorSeedAppend(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	var mu sync.Mutex
	var seenArgs [][]string
	start := func(ctx *actor.Context, args []string) (actor.PID, error) {
		mu.Lock()
		seenArgs = append(seenArgs, args)
		mu.Unlock()
		return ctx.SpawnLink(&worker{})
	}
	d := startDirector(t, n, supervision.DirectorInit[string](func(*actor.Context) ([]supervision.DirectorSpec[string], supervision.DefaultSpec[string], error) {
		return []supervision.DirectorSpec[string]{{
				ID: "bar_id", Plan: supervision.Plan{supervision.PlanWait}, Start: start, Count: 1,
				TerminateTimeout: supervision.Timeout(2 * time.Second),
			}}, supervision.DefaultSpec[string]{
				Start:            start,
				TerminateTimeout: supervision.Timeout(time.Second),
				Plan:             supervision.Plan{supervision.PlanRestart},
				Count:            5,
				Modules:          []string{"bar"},
			}, nil
	}))
	if got, _ := d.GetPIDs(ctx); len(got) != 1 || got[0].ID != "bar_id" {
		t.Fatalf("get pids = %v", got)
	}
	def, err := d.GetDefaultChildSpec(ctx)
	if err != nil || def.Count != 5 || def.TerminateTimeout != supervision.Timeout(time.Second) || def.Plan.String() != "[restart]" {
		t.Fatalf("default spec = %+v, %v", def, err)
	}

	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "1", Append: true}); err != nil {
		t.Fatal(err)
	}
	s, err := d.GetChildSpec(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 6 { // 1 + 5
		t.Errorf("count = %v, want 6", s.Count)
	}
	if s.TerminateTimeout != supervision.Timeout(2*time.Second) { // 1000 + 1000
		t.Errorf("terminate timeout = %v, want 2s", s.TerminateTimeout)
	}
	if s.Plan.String() != "[restart func(default)]" { // [restart] ++ default plan
		t.Errorf("plan = %v", s.Plan)
	}
	if !slices.Equal(s.Modules, []string{"bar"}) || len(s.Args) != 0 || !s.Append || s.Type != supervision.Worker {
		t.Errorf("spec = %+v", s)
	}

	for i := 2; i <= 10; i++ {
		if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: fmt.Sprint(i), Append: true}); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := d.CountChildren(ctx); c != (supervision.Counts{Specs: 11, Active: 11, Workers: 11}) {
		t.Fatalf("count children = %+v", c)
	}

	// Start arguments concatenate: the default's, then the child's.
	if err := d.ChangeDefaultChildSpec(ctx, supervision.DefaultSpec[string]{Start: start, Args: []string{"x1", "x2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "args", Append: true, Args: []string{"y"}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	last := seenArgs[len(seenArgs)-1]
	mu.Unlock()
	if !slices.Equal(last, []string{"x1", "x2", "y"}) {
		t.Fatalf("start args = %v, want [x1 x2 y]", last)
	}
	// The new default adds nothing else: count 1, timeout 1 s, default plan.
	if s, _ := d.GetChildSpec(ctx, "args"); s.Count != 1 || s.TerminateTimeout != supervision.DefaultDirectorShutdown || s.Plan.String() != "[func(default)]" {
		t.Fatalf("spec = %+v", s)
	}
	// Infinity absorbs.
	if err := d.ChangeDefaultChildSpec(ctx, supervision.DefaultSpec[string]{Start: start, Count: supervision.CountInfinity, TerminateTimeout: supervision.Infinity}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "inf", Append: true, Count: 3}); err != nil {
		t.Fatal(err)
	}
	if s, _ := d.GetChildSpec(ctx, "inf"); s.Count != supervision.CountInfinity || s.TerminateTimeout != supervision.Infinity {
		t.Fatalf("spec = %+v", s)
	}
	// Without Append (and without Start), the default is not used.
	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "nostart"}); !errors.Is(err, supervision.ErrInvalidSpec) {
		t.Fatalf("start child without Start: %v, want ErrInvalidSpec", err)
	}
}

// PlanStop ends the Director with a *PlanStopError carrying the child's
// crash; PlanStopWith with exactly its reason. Other children are stopped.
func TestDirectorPlanStop(t *testing.T) {
	errCustom := errors.New("custom stop")
	for _, tc := range []struct {
		name  string
		elem  supervision.PlanElement
		check func(error) bool
	}{
		{"stop", supervision.PlanStop, func(r error) bool {
			var ps *supervision.PlanStopError
			return errors.Is(r, supervision.ErrPlanStop) && errors.As(r, &ps) && ps.ID == "s" && errors.Is(ps.Reason, actor.Killed)
		}},
		{"stop_with", supervision.PlanStopWith(errCustom), func(r error) bool { return r == errCustom }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t)
			ctx := ctxT(t)
			d := startDirector(t, n, noChildren)
			other, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "other", Start: startBar})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{
				ID: "s", Start: startBar, Plan: supervision.Plan{supervision.PlanRestart, tc.elem},
			}); err != nil {
				t.Fatal(err)
			}
			pid := killChild(t, n, d, "s")
			waitState(t, d, "s", supervision.Running, pid)
			exited, otherExited := n.WatchExit(d.PID()), n.WatchExit(other)
			killChild(t, n, d, "s")
			if r := <-exited; !tc.check(r) {
				t.Fatalf("director exit = %v", r)
			}
			if r := <-otherExited; !errors.Is(r, actor.Shutdown) {
				t.Fatalf("other child exit = %v", r)
			}
		})
	}
}

// A plan function decides from the exit reason and the exit count.
func TestDirectorPlanFunc(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	seen := make(chan int, 10)
	decide := supervision.PlanFunc("three_strikes", func(reason error, count int) supervision.PlanElement {
		seen <- count
		switch {
		case actor.IsNormalExit(reason):
			return supervision.PlanWait
		case count < 3:
			return supervision.PlanRestart
		}
		return supervision.PlanDelete
	})
	d := startDirector(t, n, noChildren)
	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{
		ID: "f", Start: startBar, Plan: supervision.Plan{decide}, Count: supervision.CountInfinity,
	}); err != nil {
		t.Fatal(err)
	}
	// A normal exit: wait.
	pid, _ := d.GetPID(ctx, "f")
	exited := n.WatchExit(pid)
	_ = n.Send(pid, crash{actor.Normal})
	<-exited
	waitState(t, d, "f", supervision.Waiting, actor.PID{})
	if _, err := d.RestartChild(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	// Crashes 2 and 3 (counting the normal exit): restart, then delete.
	pid = killChild(t, n, d, "f")
	waitState(t, d, "f", supervision.Running, pid)
	killChild(t, n, d, "f")
	testkit.Eventually(t, 5*time.Second, func() error {
		if _, ok := childState(t, d, "f"); ok {
			return errors.New("child still present")
		}
		return nil
	})
	if got := drain(t, intsToStrings(seen), 3); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("plan function counts = %v", got)
	}
}

func intsToStrings(ch <-chan int) <-chan string {
	out := make(chan string, cap(ch))
	for len(ch) > 0 {
		out <- fmt.Sprint(<-ch)
	}
	return out
}

// The default plan deletes a child that exits normally and restarts one
// that crashes.
func TestDirectorDefaultPlan(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	d := startDirector(t, n, noChildren)
	for _, id := range []string{"a", "b", "c"} {
		if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: id, Start: startBar}); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := d.GetPlan(ctx, "a"); p.String() != "[func(default)]" {
		t.Fatalf("plan = %v", p)
	}
	pa, _ := d.GetPID(ctx, "a")
	pb, _ := d.GetPID(ctx, "b")
	ea, eb := n.WatchExit(pa), n.WatchExit(pb)
	_ = n.Send(pa, crash{actor.Normal})
	_ = n.Send(pb, crash{&actor.ShutdownError{Reason: "x"}})
	<-ea
	<-eb
	pc := killChild(t, n, d, "c")
	waitState(t, d, "c", supervision.Running, pc)
	testkit.Eventually(t, 5*time.Second, func() error {
		l, _ := d.WhichChildren(ctx)
		if len(l) != 1 || l[0].ID != "c" {
			return fmt.Errorf("children = %v, want only c", l)
		}
		return nil
	})
}

// The seed's warning, designed out: a plan of PlanRestart repeated forever
// on a child whose start fails at once does not spin. Each child is started
// at most MaxRestarts times per Period (WithIntensity); further restarts
// wait, shown as Restarting, and a failed start goes through the plan like
// an exit.
func TestDirectorNoSpin(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	clk := newFakeClock()
	var attempts atomic.Int64
	start := func(ctx *actor.Context, _ []string) (actor.PID, error) {
		if attempts.Add(1) == 1 {
			return ctx.SpawnLink(&worker{})
		}
		return actor.PID{}, errBoom
	}
	d := startDirector(t, n, noChildren, supervision.WithClock(clk), supervision.WithIntensity(3, 5*time.Second))
	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{
		ID: "spin", Start: start, Plan: supervision.Plan{supervision.PlanRestart}, Count: supervision.CountInfinity,
	}); err != nil {
		t.Fatal(err)
	}
	killChild(t, n, d, "spin")
	clk.waitTimer(t) // the window is full: a timer holds the next attempt
	if got := attempts.Load(); got != 4 {
		t.Fatalf("attempts = %d, want 1 start + 3 restarts", got)
	}
	if c, _ := childState(t, d, "spin"); c.State != supervision.Restarting {
		t.Fatalf("state = %v, want restarting", c.State)
	}
	if got := attempts.Load(); got != 4 {
		t.Fatalf("attempts grew to %d without time passing", got)
	}
	// Each period lets three more attempts through.
	for round := 1; round <= 3; round++ {
		clk.Advance(5 * time.Second)
		want := int64(4 + 3*round)
		testkit.Eventually(t, 5*time.Second, func() error {
			if got := attempts.Load(); got != want {
				return fmt.Errorf("attempts = %d, want %d", got, want)
			}
			return nil
		})
		clk.waitTimer(t)
	}
	// A stuck child can still be terminated and deleted.
	if err := d.TerminateChild(ctx, "spin"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteChild(ctx, "spin"); err != nil {
		t.Fatal(err)
	}
}

// Plan elements that can never be reached are refused by validation.
func TestDirectorUnreachablePlan(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	d := startDirector(t, n, noChildren)
	r, w := supervision.PlanRestart, supervision.PlanWait
	for _, tc := range []struct {
		name  string
		plan  supervision.Plan
		count supervision.Count
	}{
		{"delete then more", supervision.Plan{r, r, supervision.PlanDelete, w, w, supervision.PlanRestartAfter(4 * time.Second)}, supervision.CountInfinity},
		{"stop then more", supervision.Plan{r, r, supervision.PlanStop, w, supervision.PlanRestartAfter(20 * time.Second), r}, supervision.CountInfinity},
		{"stop_with then more", supervision.Plan{supervision.PlanStopWith(errBoom), r}, 1},
		{"count repeats a terminal plan", supervision.Plan{r, supervision.PlanDelete}, 3},
		{"infinity repeats a terminal plan", supervision.Plan{supervision.PlanStop}, supervision.CountInfinity},
		{"zero element", supervision.Plan{{}}, 1},
		{"negative count", supervision.Plan{r}, -5},
	} {
		_, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "x", Start: startBar, Plan: tc.plan, Count: tc.count})
		if !errors.Is(err, supervision.ErrInvalidPlan) {
			t.Errorf("%s: start child: %v, want ErrInvalidPlan", tc.name, err)
		}
	}
	if c, _ := d.CountChildren(ctx); c.Specs != 0 {
		t.Fatalf("invalid specs were kept: %+v", c)
	}
	// The same rule for ChangePlan and for the default spec, whose plan
	// comes before every appended child's.
	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "ok", Start: startBar, Plan: supervision.Plan{r, supervision.PlanDelete}}); err != nil {
		t.Fatal(err)
	}
	if err := d.ChangePlan(ctx, "ok", supervision.Plan{supervision.PlanDelete, r}); !errors.Is(err, supervision.ErrInvalidPlan) {
		t.Fatalf("change plan: %v", err)
	}
	if err := d.ChangeDefaultChildSpec(ctx, supervision.DefaultSpec[string]{Plan: supervision.Plan{supervision.PlanDelete}}); !errors.Is(err, supervision.ErrInvalidPlan) {
		t.Fatalf("change default: %v", err)
	}
	// Invalid initial children fail the start: no process remains.
	before := n.CountProcesses()
	_, err := supervision.StartDirector(n, supervision.DirectorInit[string](func(*actor.Context) ([]supervision.DirectorSpec[string], supervision.DefaultSpec[string], error) {
		return []supervision.DirectorSpec[string]{{ID: "a", Start: startBar, Plan: supervision.Plan{supervision.PlanStop, r}}}, supervision.DefaultSpec[string]{}, nil
	}))
	if !errors.Is(err, supervision.ErrInvalidPlan) || n.CountProcesses() != before {
		t.Fatalf("start director with an invalid plan: %v, processes %d → %d", err, before, n.CountProcesses())
	}
}

// API errors, TerminateChild cancelling a pending restart, and a failing
// initial child.
func TestDirectorAPI(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	clk := newFakeClock()
	d := startDirector(t, n, noChildren, supervision.WithClock(clk))
	spec := supervision.DirectorSpec[string]{ID: "a", Start: startBar, Plan: supervision.Plan{supervision.PlanRestartAfter(time.Minute)}, Count: supervision.CountInfinity}
	pid, err := d.StartChild(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := d.StartChild(ctx, spec); !errors.Is(err, supervision.ErrAlreadyStarted) || p != pid {
		t.Fatalf("start again: %v %v", p, err)
	}
	if _, err := d.RestartChild(ctx, "a"); !errors.Is(err, supervision.ErrRunning) {
		t.Fatalf("restart running: %v", err)
	}
	if err := d.DeleteChild(ctx, "a"); !errors.Is(err, supervision.ErrRunning) {
		t.Fatalf("delete running: %v", err)
	}
	killChild(t, n, d, "a")
	waitState(t, d, "a", supervision.Restarting, actor.PID{})
	if _, err := d.RestartChild(ctx, "a"); !errors.Is(err, supervision.ErrRestarting) {
		t.Fatalf("restart restarting: %v", err)
	}
	if err := d.DeleteChild(ctx, "a"); !errors.Is(err, supervision.ErrRestarting) {
		t.Fatalf("delete restarting: %v", err)
	}
	if err := d.TerminateChild(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour) // the cancelled timer must not restart it
	if c, _ := childState(t, d, "a"); c.State != supervision.Stopped {
		t.Fatalf("state after terminate = %v", c.State)
	}
	if _, err := d.StartChild(ctx, spec); !errors.Is(err, supervision.ErrAlreadyPresent) {
		t.Fatalf("start present: %v", err)
	}
	if err := d.DeleteChild(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		d.DeleteChild(ctx, "a"), d.TerminateChild(ctx, "a"), d.ChangePlan(ctx, "a", nil),
		func() error { _, err := d.RestartChild(ctx, "a"); return err }(),
		func() error { _, err := d.GetPlan(ctx, "a"); return err }(),
		func() error { _, err := d.GetChildSpec(ctx, "a"); return err }(),
	} {
		if !errors.Is(err, supervision.ErrNotFound) {
			t.Errorf("unknown child: %v, want ErrNotFound", err)
		}
	}
	// The supervision package's functions work on a Director too.
	if _, err := supervision.WhichChildren(ctx, d.PID()); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}

	// A child failing to start in Init fails the start; nothing remains.
	before := n.CountProcesses()
	_, err = supervision.StartDirector(n, supervision.DirectorInit[string](func(*actor.Context) ([]supervision.DirectorSpec[string], supervision.DefaultSpec[string], error) {
		return []supervision.DirectorSpec[string]{
			{ID: "ok", Start: startBar},
			{ID: "bad", Start: func(*actor.Context, []string) (actor.PID, error) { return actor.PID{}, errBoom }},
		}, supervision.DefaultSpec[string]{}, nil
	}))
	var se *supervision.StartError
	if !errors.As(err, &se) || se.ID != "bad" || !errors.Is(err, errBoom) {
		t.Fatalf("start director: %v", err)
	}
	if n.CountProcesses() != before {
		t.Fatalf("processes %d → %d", before, n.CountProcesses())
	}
}

// WithDebug traces requests, replies, exits and timer events; child
// reports carry the plan and counters.
func TestDirectorDebugTrace(t *testing.T) {
	var buf testkit.LogBuffer
	n := actor.NewNode(actor.WithLogger(zerolog.New(&buf)))
	t.Cleanup(func() { _ = n.Stop(ctxT(t)) })
	ctx := ctxT(t)
	clk := newFakeClock()
	d := startDirector(t, n, noChildren, supervision.WithClock(clk), supervision.WithDebug(), supervision.WithName("dname"))
	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "bar_id", Start: startBar, Plan: supervision.Plan{supervision.PlanRestartAfter(5 * time.Second)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CountChildren(ctx); err != nil {
		t.Fatal(err)
	}
	pid := killChild(t, n, d, "bar_id")
	clk.waitTimer(t)
	clk.Advance(5 * time.Second)
	waitState(t, d, "bar_id", supervision.Running, pid)
	if err := d.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}
	has := func(match func(map[string]any) bool) bool {
		return slices.ContainsFunc(buf.Events(t), match)
	}
	for _, kind := range []string{"request", "reply", "exit", "timer"} {
		if !has(func(e map[string]any) bool { return e["dbg"] == kind && e["supervisor"] == "dname" }) {
			t.Errorf("no %s trace event", kind)
		}
	}
	if !has(func(e map[string]any) bool { return e["dbg"] == "request" && e["value"] == "count_children" }) ||
		!has(func(e map[string]any) bool {
			return e["dbg"] == "reply" && e["value"] == "{Specs:1 Active:1 Supervisors:0 Workers:1}"
		}) {
		t.Error("no count_children request and reply in the trace")
	}
	if !has(func(e map[string]any) bool {
		return e["dbg"] == "exit" && e["from"] == pid.String() && e["reason"] != nil
	}) {
		t.Error("exit trace lacks from/reason")
	}
	if !has(func(e map[string]any) bool {
		return e["event"] == "child_terminated" && e["child"] == "bar_id" && e["plan_index"] == 1.0 &&
			e["plan_length"] == 1.0 && e["count"] == "1" && e["restart_count"] == 0.0 && e["plan"] != nil
	}) {
		t.Error("no child_terminated report with plan fields")
	}
	if !has(func(e map[string]any) bool {
		return e["event"] == "child_started" && e["child"] == "bar_id" && e["restart_count"] == 1.0
	}) {
		t.Error("no child_started report after the restart")
	}
	if !has(func(e map[string]any) bool { return e["event"] == "child_restart_delayed" && e["delay"] != nil }) {
		t.Error("no child_restart_delayed report")
	}
}

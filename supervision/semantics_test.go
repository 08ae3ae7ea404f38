package supervision_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// semLog records child starts and stops, in order.
type semLog = testkit.List[string]

// semChild is a spec whose process traps exits and logs its start and the
// reason it stops with; a message error ends it with that error, "hang"
// makes it ignore the shutdown signal.
func semChild(l *semLog, id string, r supervision.Restart, sd supervision.Shutdown) supervision.ChildSpec {
	return supervision.ChildSpec{ID: id, Restart: r, Shutdown: sd, Start: func(ctx *actor.Context) (actor.PID, error) {
		l.Add("start " + id)
		hang := false
		return ctx.SpawnLink(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
			switch m := msg.(type) {
			case error:
				return m
			case string:
				hang = m == "hang"
			case actor.Exit:
				if hang {
					return nil
				}
				l.Add(fmt.Sprintf("stop %s %v", id, m.Reason))
				return m.Reason
			}
			return nil
		}), actor.WithTrapExit())
	}}
}

// childPID returns the PID of sup's child id; there must be one.
func childPID(t *testing.T, sup actor.PID, id string) actor.PID {
	t.Helper()
	cs := children(t, sup)
	c, ok := cs[id]
	if !ok {
		t.Fatalf("no child %s in %v", id, cs)
	}
	return c.PID
}

// crashAndWait ends pid, a child of sup, with reason and returns once sup
// has acted on the exit: no row of WhichChildren shows pid any more (or
// sup itself is gone).
func crashAndWait(t *testing.T, n *actor.Node, sup, pid actor.PID, reason error) {
	t.Helper()
	ctx := actortest.Context(t)
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, pid)
	n.Send(pid, reason)
	actortest.ReceiveAs[actor.Down](t, ib)
	testkit.Eventually(t, actortest.Timeout, func() error {
		cs, err := supervision.WhichChildren(ctx, sup)
		if errors.Is(err, actor.NoProc) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.PID == pid {
				return fmt.Errorf("%v still listed", pid)
			}
		}
		return nil
	})
}

func TestSupervisorStrategiesSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	boom := errors.New("boom")
	for _, c := range []struct {
		s    supervision.Strategy
		want []string
	}{
		{supervision.OneForOne, []string{"start b"}},
		{supervision.OneForAll, []string{"stop c " + actor.Shutdown.Error(), "stop a " + actor.Shutdown.Error(), "start a", "start b", "start c"}},
		{supervision.RestForOne, []string{"stop c " + actor.Shutdown.Error(), "start b", "start c"}},
	} {
		t.Run(c.s.String(), func(t *testing.T) {
			l := &semLog{}
			sup, err := supervision.Start(n, []supervision.ChildSpec{
				semChild(l, "a", supervision.Permanent, 0),
				semChild(l, "b", supervision.Permanent, 0),
				semChild(l, "c", supervision.Permanent, 0),
			}, supervision.WithStrategy(c.s))
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Take(); !slices.Equal(got, []string{"start a", "start b", "start c"}) {
				t.Fatalf("start order %q", got)
			}
			b := childPID(t, sup, "b")
			crashAndWait(t, n, sup, b, boom)
			if nb := childPID(t, sup, "b"); nb == b || nb.IsZero() {
				t.Errorf("b not restarted: %v", nb)
			}
			if got := l.Take(); !slices.Equal(got, c.want) {
				t.Errorf("restart: got %q want %q", got, c.want)
			}
			if err := supervision.Stop(ctx, n, sup); err != nil {
				t.Fatal(err)
			}
			want := []string{"stop c " + actor.Shutdown.Error(), "stop b " + actor.Shutdown.Error(), "stop a " + actor.Shutdown.Error()}
			if got := l.Take(); !slices.Equal(got, want) {
				t.Errorf("stop order %q", got)
			}
		})
	}
}

func TestSupervisorRestartTypesAndIntensity(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	sup, err := supervision.Start(n, []supervision.ChildSpec{
		semChild(l, "perm", supervision.Permanent, 0),
		semChild(l, "trans", supervision.Transient, 0),
		semChild(l, "temp", supervision.Temporary, 0),
	}, supervision.WithIntensity(2, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	l.Take()
	crashAndWait(t, n, sup, childPID(t, sup, "trans"), actor.Normal)
	crashAndWait(t, n, sup, childPID(t, sup, "temp"), errors.New("x"))
	cs, _ := supervision.WhichChildren(ctx, sup)
	if len(cs) != 2 || cs[1].ID != "trans" || !cs[1].PID.IsZero() {
		t.Errorf("children after transient normal exit and temporary crash: %+v", cs)
	}
	cnt, err := supervision.CountChildren(ctx, sup)
	if err != nil || cnt.Specs != 2 || cnt.Active != 1 || cnt.Workers != 2 {
		t.Errorf("counts %+v %v", cnt, err)
	}
	if got := l.Take(); len(got) != 0 {
		t.Errorf("restarts of transient(normal)/temporary: %q", got)
	}
	// intensity: 2 restarts allowed, the 3rd exceeds
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, sup)
	crashAndWait(t, n, sup, childPID(t, sup, "perm"), errors.New("c1"))
	crashAndWait(t, n, sup, childPID(t, sup, "perm"), errors.New("c2"))
	p := childPID(t, sup, "perm")
	n.Send(p, errors.New("c3"))
	d := actortest.ReceiveAs[actor.Down](t, ib)
	if !errors.Is(d.Reason, actor.Shutdown) {
		t.Errorf("supervisor over its intensity exited with %v, want shutdown", d.Reason)
	}
	if n.IsAlive(p) {
		t.Error("child alive after its supervisor stopped")
	}
}

func TestSupervisorShutdownLimits(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	sup, err := supervision.Start(n, []supervision.ChildSpec{
		semChild(l, "slow", supervision.Permanent, supervision.Timeout(20*time.Millisecond)),
		semChild(l, "brutal", supervision.Permanent, supervision.BrutalKill),
	})
	if err != nil {
		t.Fatal(err)
	}
	slow := childPID(t, sup, "slow")
	n.Send(slow, "hang")
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, slow)
	ib.Monitor(ctx, childPID(t, sup, "brutal"))
	l.Take()
	if err := supervision.Stop(ctx, n, sup); err != nil {
		t.Fatal(err)
	}
	r1 := actortest.ReceiveAs[actor.Down](t, ib).Reason
	r2 := actortest.ReceiveAs[actor.Down](t, ib).Reason
	if !errors.Is(r1, actor.Killed) || !errors.Is(r2, actor.Killed) {
		t.Errorf("brutal kill and timed-out child ended with %v, %v; want killed", r1, r2)
	}
	if got := l.Take(); len(got) != 0 {
		t.Errorf("trapped shutdown of brutally killed / hanging child: %q", got)
	}
}

func TestSupervisorAPIErrors(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	sup, err := supervision.Start(n, []supervision.ChildSpec{semChild(l, "a", supervision.Permanent, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := supervision.StartChild(ctx, sup, semChild(l, "a", supervision.Permanent, 0)); !errors.Is(err, supervision.ErrAlreadyStarted) || pid != childPID(t, sup, "a") {
		t.Errorf("start again: %v %v", pid, err)
	}
	if err := supervision.DeleteChild(ctx, sup, "a"); !errors.Is(err, supervision.ErrRunning) {
		t.Errorf("delete running: %v", err)
	}
	if _, err := supervision.RestartChild(ctx, sup, "a"); !errors.Is(err, supervision.ErrRunning) {
		t.Errorf("restart running: %v", err)
	}
	if err := supervision.TerminateChild(ctx, sup, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := supervision.StartChild(ctx, sup, semChild(l, "a", supervision.Permanent, 0)); !errors.Is(err, supervision.ErrAlreadyPresent) {
		t.Errorf("start present: %v", err)
	}
	if pid, err := supervision.RestartChild(ctx, sup, "a"); err != nil || pid.IsZero() {
		t.Errorf("restart: %v %v", pid, err)
	}
	if err := supervision.TerminateChild(ctx, sup, "zz"); !errors.Is(err, supervision.ErrNotFound) {
		t.Errorf("terminate unknown: %v", err)
	}
	if _, err := supervision.Start(n, []supervision.ChildSpec{semChild(l, "a", 0, 0), semChild(l, "a", 0, 0)}); !errors.Is(err, supervision.ErrDuplicateChild) {
		t.Errorf("duplicate ids: %v", err)
	}
	if _, err := supervision.Start(n, []supervision.ChildSpec{{ID: "nostart"}}); !errors.Is(err, supervision.ErrInvalidSpec) {
		t.Errorf("no start function: %v", err)
	}
	if _, err := supervision.StartChild(ctx, sup, supervision.ChildSpec{ID: "perm-sig", Significant: true, Start: semChild(l, "x", 0, 0).Start}); !errors.Is(err, supervision.ErrInvalidSpec) {
		t.Errorf("significant permanent: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := supervision.WhichChildren(short, actortest.NewInbox(t, n).PID()); err == nil {
		t.Errorf("which children of a non-supervisor: nil error")
	}
	if err := supervision.Stop(ctx, n, sup); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if n.IsAlive(sup) {
		t.Fatal("supervisor alive after Stop")
	}
	if _, err := supervision.WhichChildren(ctx, sup); !errors.Is(err, actor.NoProc) {
		t.Errorf("which children of a dead supervisor: %v", err)
	}
}

func TestSupervisorAutoShutdownAndDynamic(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	sig := semChild(l, "sig", supervision.Transient, 0)
	sig.Significant = true
	sup, err := supervision.Start(n, []supervision.ChildSpec{semChild(l, "other", supervision.Permanent, 0), sig},
		supervision.WithAutoShutdown(supervision.AnySignificant))
	if err != nil {
		t.Fatal(err)
	}
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, sup)
	n.Send(childPID(t, sup, "sig"), actor.Normal)
	if d := actortest.ReceiveAs[actor.Down](t, ib); !errors.Is(d.Reason, actor.Shutdown) {
		t.Errorf("auto shutdown reason %v", d.Reason)
	}

	ds, err := supervision.StartDynamic(n, supervision.Template[string]{Start: func(ctx *actor.Context, id string) (actor.PID, error) {
		return semChild(l, id, 0, 0).Start(ctx)
	}}, supervision.WithMaxChildren(2))
	if err != nil {
		t.Fatal(err)
	}
	ds.StartChild(ctx, "d1")
	p2, _ := ds.StartChild(ctx, "d2")
	if _, err := ds.StartChild(ctx, "d3"); !errors.Is(err, supervision.ErrMaxChildren) {
		t.Errorf("over max children: %v", err)
	}
	if err := ds.TerminateChild(ctx, p2); err != nil {
		t.Error(err)
	}
	if err := ds.TerminateChild(ctx, p2); !errors.Is(err, supervision.ErrNotFound) {
		t.Errorf("terminate gone child: %v", err)
	}
	if c, _ := ds.CountChildren(ctx); c.Specs != 1 || c.Active != 1 {
		t.Errorf("dynamic counts %+v", c)
	}
	ds.Stop(ctx, n)
}

func TestSupervisorMoreSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	boom := errors.New("boom")
	// a failing start stops the children already started, in reverse order
	bad := supervision.ChildSpec{ID: "bad", Start: func(*actor.Context) (actor.PID, error) { return actor.PID{}, boom }}
	before := n.CountProcesses()
	_, err := supervision.Start(n, []supervision.ChildSpec{semChild(l, "a", 0, 0), semChild(l, "b", 0, 0), bad})
	var se *supervision.StartError
	if !errors.As(err, &se) || !errors.Is(err, boom) {
		t.Errorf("start with a failing child: %v", err)
	}
	if got := l.Take(); !slices.Equal(got, []string{"start a", "start b", "stop b " + actor.Shutdown.Error(), "stop a " + actor.Shutdown.Error()}) {
		t.Errorf("failed start: %q", got)
	}
	testkit.Eventually(t, actortest.Timeout, func() error {
		if c := n.CountProcesses(); c != before {
			return fmt.Errorf("processes %d, were %d", c, before)
		}
		return nil
	})
	// intensity 0: the first restart is one too many
	sup, _ := supervision.Start(n, []supervision.ChildSpec{semChild(l, "a", 0, 0)}, supervision.WithIntensity(0, time.Second))
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, sup)
	n.Send(childPID(t, sup, "a"), boom)
	if r := actortest.ReceiveAs[actor.Down](t, ib).Reason; !errors.Is(r, actor.Shutdown) {
		t.Errorf("intensity 0: %v", r)
	}
	// a terminated temporary child's spec is gone, as in OTP
	sup, _ = supervision.Start(n, []supervision.ChildSpec{semChild(l, "tmp", supervision.Temporary, 0)})
	if err := supervision.TerminateChild(ctx, sup, "tmp"); err != nil {
		t.Fatal(err)
	}
	if cs, _ := supervision.WhichChildren(ctx, sup); len(cs) != 0 {
		t.Errorf("terminated temporary child kept: %+v", cs)
	}
	// ignore
	ign := supervision.ChildSpec{ID: "ign", Start: func(*actor.Context) (actor.PID, error) { return actor.PID{}, actor.Ignore }}
	if pid, err := supervision.StartChild(ctx, sup, ign); !errors.Is(err, actor.Ignore) || !pid.IsZero() {
		t.Errorf("ignored child: %v %v", pid, err)
	}
	if cs, _ := supervision.WhichChildren(ctx, sup); len(cs) != 1 || cs[0].ID != "ign" {
		t.Errorf("ignored child's spec: %+v", cs)
	}
	supervision.Stop(ctx, n, sup)
	// dynamic: temporary not restarted, permanent restarted, Ignore keeps nothing
	ds, _ := supervision.StartDynamic(n, supervision.Template[string]{Restart: supervision.Temporary, Start: func(ctx *actor.Context, id string) (actor.PID, error) {
		if id == "ignore" {
			return actor.PID{}, actor.Ignore
		}
		return semChild(l, id, 0, 0).Start(ctx)
	}})
	p, _ := ds.StartChild(ctx, "t1")
	crashAndWait(t, n, ds.PID(), p, boom)
	if pid, err := ds.StartChild(ctx, "ignore"); !errors.Is(err, actor.Ignore) || !pid.IsZero() {
		t.Errorf("dynamic ignore: %v %v", pid, err)
	}
	if c, _ := ds.CountChildren(ctx); c.Specs != 0 || c.Active != 0 {
		t.Errorf("dynamic counts %+v", c)
	}
	ds.Stop(ctx, n)
}

func TestSupervisorTemporaryAndTransientSiblings(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	sup, err := supervision.Start(n, []supervision.ChildSpec{
		semChild(l, "a", supervision.Permanent, 0),
		semChild(l, "t", supervision.Temporary, 0),
		semChild(l, "tr", supervision.Transient, 0),
		semChild(l, "c", supervision.Permanent, 0),
	}, supervision.WithStrategy(supervision.OneForAll))
	if err != nil {
		t.Fatal(err)
	}
	l.Take()
	// a transient child's normal exit restarts nobody
	crashAndWait(t, n, sup, childPID(t, sup, "tr"), actor.Normal)
	if got := l.Take(); len(got) != 0 {
		t.Errorf("transient normal exit under one_for_all: %q", got)
	}
	// a sibling's crash stops the temporary child and does not start it again
	crashAndWait(t, n, sup, childPID(t, sup, "a"), errors.New("boom"))
	sd := actor.Shutdown.Error()
	want := []string{"stop c " + sd, "stop t " + sd, "start a", "start tr", "start c"}
	var got []string
	testkit.Eventually(t, actortest.Timeout, func() error {
		got = append(got, l.Take()...)
		if len(got) < len(want) {
			return fmt.Errorf("events so far %q", got)
		}
		return nil
	})
	if !slices.Equal(got, want) {
		t.Errorf("one_for_all restart with temporary and stopped transient: %q, want %q", got, want)
	}
	cs, _ := supervision.WhichChildren(ctx, sup)
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{"a", "tr", "c"}) {
		t.Errorf("children %v", ids)
	}
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, sup)
	supervision.Stop(ctx, n, sup)
	if r := actortest.ReceiveAs[actor.Down](t, ib).Reason; !errors.Is(r, actor.Normal) {
		t.Errorf("stopped supervisor exited with %v", r)
	}
}

func TestSupervisorAllSignificant(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	s1 := semChild(l, "s1", supervision.Transient, 0)
	s1.Significant = true
	s2 := semChild(l, "s2", supervision.Temporary, 0)
	s2.Significant = true
	sup, err := supervision.Start(n, []supervision.ChildSpec{semChild(l, "w", 0, 0), s1, s2},
		supervision.WithAutoShutdown(supervision.AllSignificant))
	if err != nil {
		t.Fatal(err)
	}
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, sup)
	// an abnormal exit of a transient significant child restarts it
	crashAndWait(t, n, sup, childPID(t, sup, "s1"), errors.New("boom"))
	crashAndWait(t, n, sup, childPID(t, sup, "s1"), actor.Normal)
	if !n.IsAlive(sup) {
		t.Fatal("supervisor ended with a significant child left")
	}
	w := childPID(t, sup, "w")
	n.Send(childPID(t, sup, "s2"), actor.Normal)
	if r := actortest.ReceiveAs[actor.Down](t, ib).Reason; !errors.Is(r, actor.Shutdown) {
		t.Errorf("all significant gone: %v", r)
	}
	if n.IsAlive(w) {
		t.Error("worker alive after auto shutdown")
	}
	// a significant permanent child is refused
	bad := semChild(l, "p", supervision.Permanent, 0)
	bad.Significant = true
	if _, err := supervision.Start(n, []supervision.ChildSpec{bad}); !errors.Is(err, supervision.ErrInvalidSpec) {
		t.Errorf("significant permanent child: %v", err)
	}
}

func TestNestedSupervisorGivesUp(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	inner := supervision.SupervisorSpec("inner", []supervision.ChildSpec{semChild(l, "x", 0, 0)}, supervision.WithIntensity(0, time.Minute))
	top, err := supervision.Start(n, []supervision.ChildSpec{inner})
	if err != nil {
		t.Fatal(err)
	}
	in := childPID(t, top, "inner")
	x := childPID(t, in, "x")
	crashAndWait(t, n, in, x, errors.New("boom"))
	// inner exceeded its intensity and exited with shutdown; top restarted it
	testkit.Eventually(t, actortest.Timeout, func() error {
		cs, err := supervision.WhichChildren(ctx, top)
		if err != nil || len(cs) != 1 || cs[0].PID == in || cs[0].PID.IsZero() {
			return fmt.Errorf("top's children %+v %v", cs, err)
		}
		return nil
	})
	if cs, _ := supervision.WhichChildren(ctx, top); cs[0].Type != supervision.Supervisor {
		t.Errorf("type %v", cs[0].Type)
	}
	if c, _ := supervision.CountChildren(ctx, top); c.Supervisors != 1 || c.Workers != 0 {
		t.Errorf("counts %+v", c)
	}
	supervision.Stop(ctx, n, top)
}

func TestDynamicRestartTypes(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	for _, c := range []struct {
		r                     supervision.Restart
		normalKept, crashKept bool
	}{
		{supervision.Permanent, true, true},
		{supervision.Transient, false, true},
		{supervision.Temporary, false, false},
	} {
		ds, err := supervision.StartDynamic(n, supervision.Template[string]{Restart: c.r, Start: func(ctx *actor.Context, id string) (actor.PID, error) {
			return semChild(l, id, 0, 0).Start(ctx)
		}})
		if err != nil {
			t.Fatal(err)
		}
		p1, _ := ds.StartChild(ctx, "n")
		p2, _ := ds.StartChild(ctx, "c")
		crashAndWait(t, n, ds.PID(), p1, actor.Normal)
		crashAndWait(t, n, ds.PID(), p2, errors.New("boom"))
		cnt, _ := ds.CountChildren(ctx)
		want := 0
		if c.normalKept {
			want++
		}
		if c.crashKept {
			want++
		}
		if cnt.Specs != want || cnt.Active != want {
			t.Errorf("%v: counts %+v, want %d", c.r, cnt, want)
		}
		ds.Stop(ctx, n)
	}
}

func TestSupervisorChildLifecycleCalls(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	sup, err := supervision.Start(n, []supervision.ChildSpec{semChild(l, "a", supervision.Transient, supervision.Timeout(time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := supervision.GetChildSpec(ctx, sup, "a")
	if err != nil || spec.ID != "a" || spec.Restart != supervision.Transient || spec.Shutdown != supervision.Timeout(time.Second) {
		t.Errorf("child spec %+v %v", spec, err)
	}
	if _, err := supervision.GetChildSpec(ctx, sup, "zz"); !errors.Is(err, supervision.ErrNotFound) {
		t.Errorf("spec of an unknown child: %v", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(supervision.TerminateChild(ctx, sup, "a"))
	must(supervision.TerminateChild(ctx, sup, "a")) // stopped already: ok, as OTP
	if cs, _ := supervision.WhichChildren(ctx, sup); len(cs) != 1 || !cs[0].PID.IsZero() || cs[0].State != supervision.Stopped {
		t.Errorf("terminated child %+v", cs)
	}
	must(supervision.DeleteChild(ctx, sup, "a"))
	if err := supervision.DeleteChild(ctx, sup, "a"); !errors.Is(err, supervision.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := supervision.RestartChild(ctx, sup, "a"); !errors.Is(err, supervision.ErrNotFound) {
		t.Errorf("restart deleted: %v", err)
	}
	supervision.Stop(ctx, n, sup)
}

// TestSupervisorInvalidOptions: option values that are none of the
// package's constants are refused (an unknown strategy used to act as
// rest_for_one, an unknown auto shutdown as Never, a negative child limit
// as none), as OTP refuses an invalid strategy or max_children.
func TestSupervisorInvalidOptions(t *testing.T) {
	n := actortest.NewNode(t)
	for _, o := range []supervision.Option{supervision.WithStrategy(9), supervision.WithAutoShutdown(7)} {
		if pid, err := supervision.Start(n, nil, o); !errors.Is(err, supervision.ErrInvalidOption) || !pid.IsZero() {
			t.Errorf("start: %v %v", pid, err)
		}
	}
	tmpl := supervision.Template[int]{Start: func(c *actor.Context, _ int) (actor.PID, error) {
		return c.SpawnLink(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	}}
	if _, err := supervision.StartDynamic(n, tmpl, supervision.WithMaxChildren(-1)); !errors.Is(err, supervision.ErrInvalidOption) {
		t.Errorf("dynamic with max children -1: %v", err)
	}
	// what a DynamicSupervisor ignores stays ignored
	ds, err := supervision.StartDynamic(n, tmpl, supervision.WithStrategy(9))
	if err != nil {
		t.Errorf("dynamic with a strategy: %v", err)
	} else {
		ds.Stop(actortest.Context(t), n)
	}
}

// TestNilSupervisorOptionSkipped: a nil Option is skipped (it used to
// panic).
func TestNilSupervisorOptionSkipped(t *testing.T) {
	n := actortest.NewNode(t)
	sup, err := supervision.Start(n, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	supervision.Stop(actortest.Context(t), n, sup)
}

// TestSupervisorFailingRestartsCountTowardsIntensity: restarts whose start
// fails are retried and counted; past the intensity the supervisor exits
// with shutdown.
func TestSupervisorFailingRestartsCountTowardsIntensity(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	var mu sync.Mutex
	starts := 0
	spec := semChild(l, "a", 0, 0)
	inner := spec.Start
	spec.Start = func(c *actor.Context) (actor.PID, error) {
		mu.Lock()
		starts++
		k := starts
		mu.Unlock()
		if k > 1 {
			return actor.PID{}, errors.New("cannot start")
		}
		return inner(c)
	}
	sup, err := supervision.Start(n, []supervision.ChildSpec{spec}, supervision.WithIntensity(3, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, sup)
	n.Send(childPID(t, sup, "a"), errors.New("boom"))
	if r := actortest.ReceiveAs[actor.Down](t, ib).Reason; !errors.Is(r, actor.Shutdown) {
		t.Errorf("supervisor exit %v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if starts != 4 { // the first start, then three failing restarts
		t.Errorf("starts %d, want 4", starts)
	}
}

package supervision_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// The probes of this file check the return values that supervision's API
// docs promise, against OTP's supervisor module: start_child with a start
// that fails or ignores, terminate_child of a temporary child,
// count_children, and a supervisor whose start fails half-way.

func dpSpec(id string, r supervision.Restart, start func(*actor.Context) (actor.PID, error)) supervision.ChildSpec {
	return supervision.ChildSpec{ID: id, Restart: r, Start: start}
}

func dpWorker(ctx *actor.Context) (actor.PID, error) { return ctx.SpawnLink(actortest.ExitOnError) }

func TestProbeSupervisorReturnValues(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	sup, err := supervision.Start(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	failed := errors.New("no start")
	failing := func(*actor.Context) (actor.PID, error) { return actor.PID{}, failed }
	ignoring := func(*actor.Context) (actor.PID, error) { return actor.PID{}, actor.Ignore }

	// a failing start: *StartError, the spec is not kept
	var se *supervision.StartError
	if _, err := supervision.StartChild(ctx, sup, dpSpec("f", supervision.Permanent, failing)); !errors.As(err, &se) || se.ID != "f" || !errors.Is(err, failed) {
		t.Errorf("failing start: %v", err)
	}
	if _, err := supervision.GetChildSpec(ctx, sup, "f"); !errors.Is(err, supervision.ErrNotFound) {
		t.Errorf("a failed child's spec was kept: %v", err)
	}
	// ignore: actor.Ignore, the spec kept for a permanent child, not for a temporary one
	if pid, err := supervision.StartChild(ctx, sup, dpSpec("i", supervision.Permanent, ignoring)); !errors.Is(err, actor.Ignore) || !pid.IsZero() {
		t.Errorf("ignoring start: %v %v", pid, err)
	}
	if cs, _ := supervision.WhichChildren(ctx, sup); len(cs) != 1 || cs[0].ID != "i" || !cs[0].PID.IsZero() || cs[0].State != supervision.Stopped {
		t.Errorf("an ignored permanent child: %+v", cs)
	}
	if _, err := supervision.StartChild(ctx, sup, dpSpec("it", supervision.Temporary, ignoring)); !errors.Is(err, actor.Ignore) {
		t.Errorf("ignoring temporary start: %v", err)
	}
	if _, err := supervision.GetChildSpec(ctx, sup, "it"); !errors.Is(err, supervision.ErrNotFound) {
		t.Errorf("an ignored temporary child's spec was kept: %v", err)
	}
	// RestartChild of an ignored child that ignores again: actor.Ignore
	if _, err := supervision.RestartChild(ctx, sup, "i"); !errors.Is(err, actor.Ignore) {
		t.Errorf("restart of an ignoring child: %v", err)
	}
	if err := supervision.DeleteChild(ctx, sup, "i"); err != nil {
		t.Fatal(err)
	}

	// terminate_child of a temporary child deletes its spec
	if _, err := supervision.StartChild(ctx, sup, dpSpec("t", supervision.Temporary, dpWorker)); err != nil {
		t.Fatal(err)
	}
	if err := supervision.TerminateChild(ctx, sup, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := supervision.RestartChild(ctx, sup, "t"); !errors.Is(err, supervision.ErrNotFound) {
		t.Errorf("restart of a terminated temporary child: %v", err)
	}
	// a temporary child that exits by itself is gone too (never restarted)
	tp, err := supervision.StartChild(ctx, sup, dpSpec("t2", supervision.Temporary, dpWorker))
	if err != nil {
		t.Fatal(err)
	}
	exited := n.WatchExit(tp)
	n.Send(tp, errors.New("crash"))
	<-exited
	testkit.Eventually(t, actortest.Timeout, func() error {
		if _, err := supervision.GetChildSpec(ctx, sup, "t2"); !errors.Is(err, supervision.ErrNotFound) {
			return fmt.Errorf("a temporary child's spec kept after its exit: %v", err)
		}
		return nil
	})
	// a transient child that exits normally: not restarted, spec kept, RestartChild starts it
	tr, err := supervision.StartChild(ctx, sup, dpSpec("tr", supervision.Transient, dpWorker))
	if err != nil {
		t.Fatal(err)
	}
	exited = n.WatchExit(tr)
	n.Send(tr, actor.Normal)
	<-exited
	testkit.Eventually(t, actortest.Timeout, func() error {
		cs, err := supervision.WhichChildren(ctx, sup)
		if err != nil || len(cs) != 1 || cs[0].ID != "tr" || !cs[0].PID.IsZero() {
			return fmt.Errorf("after a normal exit of a transient child: %+v %v", cs, err)
		}
		return nil
	})
	if pid, err := supervision.RestartChild(ctx, sup, "tr"); err != nil || pid.IsZero() || pid == tr {
		t.Errorf("restart of a transient child: %v %v", pid, err)
	}

	// count_children: specs, active, supervisors, workers
	if _, err := supervision.StartChild(ctx, sup, supervision.SupervisorSpec("sub", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := supervision.StartChild(ctx, sup, dpSpec("w", supervision.Permanent, dpWorker)); err != nil {
		t.Fatal(err)
	}
	if err := supervision.TerminateChild(ctx, sup, "w"); err != nil {
		t.Fatal(err)
	}
	c, err := supervision.CountChildren(ctx, sup)
	if want := (supervision.Counts{Specs: 3, Active: 2, Supervisors: 1, Workers: 2}); err != nil || c != want {
		t.Errorf("count children %+v %v, want %+v", c, err, want)
	}
	cs, _ := supervision.WhichChildren(ctx, sup)
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{"tr", "sub", "w"}) {
		t.Errorf("which children in start order %v", ids)
	}
	for _, c := range cs {
		if c.ID == "sub" && c.Type != supervision.Supervisor {
			t.Errorf("sub's type %v", c.Type)
		}
	}
	// which_children of a process that is no supervisor: ErrNotSupervisor
	srv, err := n.Spawn(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply("what?")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := supervision.WhichChildren(ctx, srv); !errors.Is(err, supervision.ErrNotSupervisor) {
		t.Errorf("which children of a non-supervisor: %v", err)
	}
	if err := supervision.Stop(ctx, n, sup); err != nil {
		t.Fatal(err)
	}
	n.Kill(srv)
}

// TestProbeSupervisorStartFailsHalfway: a supervisor whose third child
// fails to start stops the children it started, in reverse order, starts
// no later one, and Start returns the *StartError of the failing child
// (OTP's {shutdown, {failed_to_start_child, Id, Reason}}).
func TestProbeSupervisorStartFailsHalfway(t *testing.T) {
	n := actortest.NewNode(t)
	l := &semLog{}
	failed := errors.New("no start")
	specs := []supervision.ChildSpec{
		semChild(l, "a", supervision.Permanent, 0),
		semChild(l, "b", supervision.Permanent, 0),
		dpSpec("c", supervision.Permanent, func(*actor.Context) (actor.PID, error) { return actor.PID{}, failed }),
		semChild(l, "d", supervision.Permanent, 0),
	}
	before := n.CountProcesses()
	pid, err := supervision.Start(n, specs)
	var se *supervision.StartError
	if !errors.As(err, &se) || se.ID != "c" || !errors.Is(err, failed) || !pid.IsZero() {
		t.Fatalf("start: %v %v", pid, err)
	}
	got := l.Take()
	want := []string{"start a", "start b", "stop b " + actor.Shutdown.Error(), "stop a " + actor.Shutdown.Error()}
	if !slices.Equal(got, want) {
		t.Errorf("log %q, want %q", got, want)
	}
	if after := n.CountProcesses(); after != before {
		t.Errorf("processes %d -> %d", before, after)
	}
}

// TestProbeSupervisorParentNormalExit: a supervisor started with StartLink
// stops its children and exits with its parent's reason when the parent
// exits, Normal included (supervisors trap exits; an 'EXIT' from the
// parent ends them whatever its reason).
func TestProbeSupervisorParentNormalExit(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	l := &semLog{}
	parent := actortest.NewInbox(t, n)
	var sup actor.PID
	if err := parent.Do(ctx, func(c *actor.Context) error {
		var err error
		sup, err = supervision.StartLink(c, []supervision.ChildSpec{
			semChild(l, "a", supervision.Permanent, 0),
			semChild(l, "b", supervision.Permanent, 0),
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	exited := n.WatchExit(sup)
	parent.Close()
	select {
	case r := <-exited:
		if !errors.Is(r, actor.Normal) {
			t.Errorf("supervisor exit %v, want Normal", r)
		}
	case <-ctx.Done():
		t.Fatal("the supervisor outlived its parent's normal exit")
	}
	want := []string{"start a", "start b", "stop b " + actor.Shutdown.Error(), "stop a " + actor.Shutdown.Error()}
	if got := l.Take(); !slices.Equal(got, want) {
		t.Errorf("log %q, want %q", got, want)
	}
}

// TestInvalidIntensityRefused: a negative restart intensity or a period
// that is not positive is refused with ErrInvalidOption, as OTP's
// supervisor refuses an invalid intensity or period (they were clamped
// silently: -1 acted as 0, a zero period as 5 s). A Director keeps its
// documented reading (a max below 1 counts as 1).
func TestInvalidIntensityRefused(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	tmpl := supervision.Template[int]{Start: func(c *actor.Context, _ int) (actor.PID, error) {
		return c.SpawnLink(actortest.ExitOnError)
	}}
	for _, o := range []supervision.Option{
		supervision.WithIntensity(-1, time.Second),
		supervision.WithIntensity(1, 0),
		supervision.WithIntensity(1, -time.Second),
	} {
		if pid, err := supervision.Start(n, nil, o); !errors.Is(err, supervision.ErrInvalidOption) || !pid.IsZero() {
			t.Errorf("Start: %v %v", pid, err)
		}
		if _, err := supervision.StartDynamic(n, tmpl, o); !errors.Is(err, supervision.ErrInvalidOption) {
			t.Errorf("StartDynamic: %v", err)
		}
	}
	d, err := supervision.StartDirector(n, supervision.DirectorInit[int](func(*actor.Context) ([]supervision.DirectorSpec[int], supervision.DefaultSpec[int], error) {
		return nil, supervision.DefaultSpec[int]{}, nil
	}), supervision.WithIntensity(-1, 0))
	if err != nil {
		t.Fatalf("a Director with a max below 1: %v", err)
	}
	d.Stop(ctx, n)
}

// TestNilSpawnerRefused: the Start functions refuse a nil Spawner (or a
// nil *actor.Node) with actor.ErrNilNode; they panicked.
func TestNilSpawnerRefused(t *testing.T) {
	var nilNode *actor.Node
	tmpl := supervision.Template[int]{Start: func(c *actor.Context, _ int) (actor.PID, error) {
		return c.SpawnLink(actortest.ExitOnError)
	}}
	initFn := supervision.DirectorInit[int](func(*actor.Context) ([]supervision.DirectorSpec[int], supervision.DefaultSpec[int], error) {
		return nil, supervision.DefaultSpec[int]{}, nil
	})
	for _, sp := range []actor.Spawner{nil, nilNode} {
		if _, err := supervision.Start(sp, nil); !errors.Is(err, actor.ErrNilNode) {
			t.Errorf("Start(%v): %v", sp, err)
		}
		if _, err := supervision.StartDynamic(sp, tmpl); !errors.Is(err, actor.ErrNilNode) {
			t.Errorf("StartDynamic(%v): %v", sp, err)
		}
		if _, err := supervision.StartDirector(sp, initFn); !errors.Is(err, actor.ErrNilNode) {
			t.Errorf("StartDirector(%v): %v", sp, err)
		}
	}
	n := actortest.NewNode(t)
	sup, err := supervision.Start(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := supervision.Stop(actortest.Context(t), nil, sup); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("Stop with a nil node: %v", err)
	}
}

// TestSupervisorEmptyNameRefused: WithName("") is refused with
// actor.ErrBadName by every kind of supervisor, as actor.WithName("") is
// by Spawn (it used to start an unnamed supervisor without a word).
func TestSupervisorEmptyNameRefused(t *testing.T) {
	n := actortest.NewNode(t)
	if _, err := supervision.Start(n, nil, supervision.WithName("")); !errors.Is(err, actor.ErrBadName) {
		t.Errorf("Start: %v, want ErrBadName", err)
	}
	if _, err := supervision.StartDynamic(n, supervision.Template[int]{Start: func(ctx *actor.Context, _ int) (actor.PID, error) { return dpWorker(ctx) }}, supervision.WithName("")); !errors.Is(err, actor.ErrBadName) {
		t.Errorf("StartDynamic: %v, want ErrBadName", err)
	}
	init := supervision.DirectorInit[int](func(*actor.Context) ([]supervision.DirectorSpec[int], supervision.DefaultSpec[int], error) {
		return nil, supervision.DefaultSpec[int]{}, nil
	})
	if _, err := supervision.StartDirector[int](n, init, supervision.WithName("")); !errors.Is(err, actor.ErrBadName) {
		t.Errorf("StartDirector: %v, want ErrBadName", err)
	}
	if _, err := supervision.Start(n, nil, supervision.WithName("named")); err != nil {
		t.Errorf("Start with a name: %v", err)
	}
}

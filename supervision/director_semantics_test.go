package supervision_test

import (
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/supervision"
)

func semDirChild(ctx *actor.Context, _ []string) (actor.PID, error) {
	return ctx.SpawnLink(actortest.ExitOnError)
}

func dirExit(t *testing.T, n *actor.Node, d supervision.Director[string], id string, reason error) {
	t.Helper()
	pid, err := d.GetPID(actortest.Context(t), id)
	if err != nil {
		t.Fatalf("pid of %s: %v", id, err)
	}
	crashAndWait(t, n, d.PID(), pid, reason)
}

func TestDirectorPlanSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	boom := errors.New("boom")

	t.Run("default plan", func(t *testing.T) {
		d := startDirector(t, n, noChildren)
		d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "c", Start: semDirChild, Count: supervision.CountInfinity})
		p1, _ := d.GetPID(ctx, "c")
		dirExit(t, n, d, "c", boom)
		if p2, err := d.GetPID(ctx, "c"); err != nil || p2 == p1 {
			t.Errorf("crash under the default plan: %v %v", p2, err)
		}
		dirExit(t, n, d, "c", actor.Normal)
		if _, ok := childState(t, d, "c"); ok {
			t.Errorf("normal exit under the default plan kept the child")
		}
		d.Stop(ctx, n)
	})
	t.Run("count exhausted", func(t *testing.T) {
		d := startDirector(t, n, noChildren)
		d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "c", Start: semDirChild, Plan: supervision.Plan{supervision.PlanRestart}})
		d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "other", Start: semDirChild})
		other, _ := d.GetPID(ctx, "other")
		ib := actortest.NewInbox(t, n)
		ib.Monitor(ctx, d.PID())
		dirExit(t, n, d, "c", boom)
		p, _ := d.GetPID(ctx, "c")
		n.Send(p, errors.New("again"))
		r := actortest.ReceiveAs[actor.Down](t, ib).Reason
		var me *supervision.MaxRestartPlanError
		if !errors.As(r, &me) || me.ID != "c" || !errors.Is(r, supervision.ErrMaxRestartPlan) {
			t.Errorf("director exit %v", r)
		}
		if n.IsAlive(other) {
			t.Errorf("other child alive after the director ended")
		}
	})
	t.Run("stop with", func(t *testing.T) {
		d := startDirector(t, n, noChildren)
		my := errors.New("mine")
		d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "c", Start: semDirChild, Plan: supervision.Plan{supervision.PlanStopWith(my)}})
		ib := actortest.NewInbox(t, n)
		ib.Monitor(ctx, d.PID())
		dirExit(t, n, d, "c", boom)
		if r := actortest.ReceiveAs[actor.Down](t, ib).Reason; r != my {
			t.Errorf("plan stop with: %v", r)
		}
	})
	t.Run("plan stop", func(t *testing.T) {
		d := startDirector(t, n, noChildren)
		d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "c", Start: semDirChild, Plan: supervision.Plan{supervision.PlanStop}})
		ib := actortest.NewInbox(t, n)
		ib.Monitor(ctx, d.PID())
		dirExit(t, n, d, "c", boom)
		r := actortest.ReceiveAs[actor.Down](t, ib).Reason
		var pe *supervision.PlanStopError
		if !errors.As(r, &pe) || pe.ID != "c" || !errors.Is(r, supervision.ErrPlanStop) {
			t.Errorf("plan stop: %v", r)
		}
	})
	t.Run("wait, change plan, restart", func(t *testing.T) {
		d := startDirector(t, n, noChildren)
		d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "c", Start: semDirChild, Plan: supervision.Plan{supervision.PlanWait}})
		dirExit(t, n, d, "c", boom)
		if c, _ := childState(t, d, "c"); c.State != supervision.Waiting {
			t.Errorf("state after wait: %v", c.State)
		}
		if _, err := d.GetPID(ctx, "c"); !errors.Is(err, supervision.ErrNotRunning) {
			t.Errorf("pid of a waiting child: %v", err)
		}
		if err := d.ChangePlan(ctx, "c", supervision.Plan{supervision.PlanRestart}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.RestartChild(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		p1, _ := d.GetPID(ctx, "c")
		dirExit(t, n, d, "c", boom)
		if p2, err := d.GetPID(ctx, "c"); err != nil || p2 == p1 {
			t.Errorf("restart by the changed plan: %v %v", p2, err)
		}
		if !n.IsAlive(d.PID()) {
			t.Errorf("director ended: the changed plan's counter was not reset")
		}
		d.Stop(ctx, n)
	})
	t.Run("invalid plans", func(t *testing.T) {
		d := startDirector(t, n, noChildren)
		for _, p := range []struct {
			plan  supervision.Plan
			count supervision.Count
		}{
			{supervision.Plan{supervision.PlanDelete, supervision.PlanRestart}, 0},
			{supervision.Plan{supervision.PlanRestart, supervision.PlanStop}, 3},
			{supervision.Plan{{}}, 0},
			{supervision.Plan{supervision.PlanRestart}, -5},
		} {
			if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "x", Start: semDirChild, Plan: p.plan, Count: p.count}); !errors.Is(err, supervision.ErrInvalidPlan) {
				t.Errorf("plan %v count %d: %v", p.plan, p.count, err)
			}
		}
		if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "nostart"}); err == nil {
			t.Errorf("spec without Start accepted")
		}
		d.Stop(ctx, n)
	})
}

func TestDirectorDelayedRestartCancelled(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	d := startDirector(t, n, noChildren)
	if _, err := d.StartChild(ctx, supervision.DirectorSpec[string]{ID: "c", Start: semDirChild,
		Plan: supervision.Plan{supervision.PlanRestartAfter(time.Hour)}, Count: supervision.CountInfinity}); err != nil {
		t.Fatal(err)
	}
	dirExit(t, n, d, "c", errors.New("boom"))
	if c, _ := childState(t, d, "c"); c.State != supervision.Restarting {
		t.Errorf("state during the delay: %v", c.State)
	}
	if _, err := d.GetPID(ctx, "c"); !errors.Is(err, supervision.ErrNotRunning) {
		t.Errorf("pid during the delay: %v", err)
	}
	if pids, _ := d.GetPIDs(ctx); len(pids) != 0 {
		t.Errorf("pids during the delay: %v", pids)
	}
	if _, err := d.RestartChild(ctx, "c"); !errors.Is(err, supervision.ErrRestarting) {
		t.Errorf("restart during the delay: %v", err)
	}
	if err := d.TerminateChild(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if c, _ := childState(t, d, "c"); c.State != supervision.Stopped {
		t.Errorf("state after terminate: %v", c.State)
	}
	if p, err := d.RestartChild(ctx, "c"); err != nil || p.IsZero() {
		t.Errorf("restart after terminate: %v %v", p, err)
	}
	d.Stop(ctx, n)
}

func TestLinkedDirectorFollowsItsParent(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	parent := actortest.NewInbox(t, n)
	var d supervision.Director[string]
	err := parent.Do(ctx, func(c *actor.Context) error {
		var err error
		d, err = supervision.StartDirectorLink(c, supervision.DirectorInit[string](
			func(*actor.Context) ([]supervision.DirectorSpec[string], supervision.DefaultSpec[string], error) {
				return []supervision.DirectorSpec[string]{{ID: "c", Start: semDirChild}}, supervision.DefaultSpec[string]{}, nil
			}))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	child, _ := d.GetPID(ctx, "c")
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, d.PID())
	ib.Monitor(ctx, child)
	pr := errors.New("parent gone")
	n.Exit(parent.PID(), pr)
	reasons := map[actor.PID]error{}
	for range 2 {
		d := actortest.ReceiveAs[actor.Down](t, ib)
		reasons[d.PID] = d.Reason
	}
	// the child is stopped (shutdown), the director exits with the parent's reason
	if !errors.Is(reasons[child], actor.Shutdown) || !errors.Is(reasons[d.PID()], pr) {
		t.Errorf("downs %v", reasons)
	}
}

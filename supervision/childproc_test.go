package supervision_test

import (
	"errors"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/supervision"
)

// TestStartOutcomesAlike: the three kinds of supervisor read a start
// function's result the same way: an error or a panic is a *StartError
// (wrapping the error, or an *actor.PanicError), actor.Ignore or a zero PID
// with no error declines with actor.Ignore, and a started child is linked
// to the supervisor and listed as running.
func TestStartOutcomesAlike(t *testing.T) {
	type start = func(ctx *actor.Context) (actor.PID, error)
	outcomes := []struct {
		name  string
		start start
		check func(t *testing.T, err error)
	}{
		{"error", func(*actor.Context) (actor.PID, error) { return actor.PID{}, errBoom }, func(t *testing.T, err error) {
			var se *supervision.StartError
			if !errors.As(err, &se) || !errors.Is(err, errBoom) {
				t.Fatalf("got %v, want a *StartError wrapping %v", err, errBoom)
			}
		}},
		{"panic", func(*actor.Context) (actor.PID, error) { panic("start panics") }, func(t *testing.T, err error) {
			var se *supervision.StartError
			var pe *actor.PanicError
			if !errors.As(err, &se) || !errors.As(err, &pe) || pe.Value != "start panics" {
				t.Fatalf("got %v, want a *StartError wrapping the panic", err)
			}
		}},
		{"ignore", func(*actor.Context) (actor.PID, error) { return actor.PID{}, actor.Ignore }, func(t *testing.T, err error) {
			if !errors.Is(err, actor.Ignore) {
				t.Fatalf("got %v, want actor.Ignore", err)
			}
		}},
		{"zero pid", func(*actor.Context) (actor.PID, error) { return actor.PID{}, nil }, func(t *testing.T, err error) {
			if !errors.Is(err, actor.Ignore) {
				t.Fatalf("got %v, want actor.Ignore", err)
			}
		}},
	}
	kinds := []struct {
		name string
		// startOne starts a supervisor of the kind with no children,
		// then one child with f, and returns the child's PID and the
		// supervisor's PID.
		startOne func(t *testing.T, n *actor.Node, f start) (actor.PID, actor.PID, error)
	}{
		{"Supervisor", func(t *testing.T, n *actor.Node, f start) (actor.PID, actor.PID, error) {
			sup, err := supervision.Start(n, nil)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := supervision.StartChild(ctxT(t), sup, supervision.ChildSpec{ID: "c", Start: f})
			return pid, sup, err
		}},
		{"Director", func(t *testing.T, n *actor.Node, f start) (actor.PID, actor.PID, error) {
			d, err := supervision.StartDirector[int](n, supervision.DirectorInit[int](func(*actor.Context) ([]supervision.DirectorSpec[int], supervision.DefaultSpec[int], error) {
				return nil, supervision.DefaultSpec[int]{}, nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			pid, err := d.StartChild(ctxT(t), supervision.DirectorSpec[int]{ID: "c", Start: func(ctx *actor.Context, _ []int) (actor.PID, error) { return f(ctx) }})
			return pid, d.PID(), err
		}},
		{"DynamicSupervisor", func(t *testing.T, n *actor.Node, f start) (actor.PID, actor.PID, error) {
			d, err := supervision.StartDynamic(n, supervision.Template[int]{Start: func(ctx *actor.Context, _ int) (actor.PID, error) { return f(ctx) }})
			if err != nil {
				t.Fatal(err)
			}
			pid, err := d.StartChild(ctxT(t), 1)
			return pid, d.PID(), err
		}},
	}
	for _, k := range kinds {
		for _, o := range outcomes {
			t.Run(k.name+"/"+o.name, func(t *testing.T) {
				n := newNode(t)
				_, _, err := k.startOne(t, n, o.start)
				o.check(t, err)
			})
		}
		t.Run(k.name+"/started", func(t *testing.T) {
			n := newNode(t)
			pid, sup, err := k.startOne(t, n, func(ctx *actor.Context) (actor.PID, error) { return ctx.Spawn(&worker{}) })
			if err != nil || pid.IsZero() {
				t.Fatalf("start: %v, %v", pid, err)
			}
			// The start function only spawned the child: the link is
			// the supervisor's, seen when the supervisor is killed.
			info, err := supervision.WhichChildren(ctxT(t), sup)
			if err != nil {
				t.Fatal(err)
			}
			if len(info) != 1 || info[0].PID != pid || info[0].State != supervision.Running {
				t.Fatalf("children %+v, want %v running", info, pid)
			}
			exited := n.WatchExit(pid)
			if err := n.Exit(sup, actor.Kill); err != nil {
				t.Fatal(err)
			}
			if r := <-exited; !errors.Is(r, actor.Killed) {
				t.Fatalf("child exited with %v after its supervisor was killed, want actor.Killed through the link", r)
			}
		})
	}
}

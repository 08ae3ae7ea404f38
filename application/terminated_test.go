package application_test

import (
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// exitOf waits for the reason Terminated reports, with a generous bound.
func exitOf(t *testing.T, c application.Controller) error {
	t.Helper()
	select {
	case r := <-c.Terminated():
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Terminated reported nothing")
		return nil
	}
}

// TestTerminatedAfterTheEnd asks for the controller's exit only after the
// controller has ended: Terminated reports the real reason, not noproc,
// every time and from every handle, as a context's Err does after Done.
func TestTerminatedAfterTheEnd(t *testing.T) {
	t.Run("shutdown", func(t *testing.T) {
		n, c := newController(t)
		found, err := application.ControllerOf(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Shutdown(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if r := exitOf(t, c); !errors.Is(r, actor.Normal) {
				t.Fatalf("Terminated call %d after Shutdown = %v, want normal", i, r)
			}
		}
		if r := exitOf(t, found); !errors.Is(r, actor.Normal) {
			t.Errorf("Terminated of ControllerOf's handle = %v, want normal", r)
		}
	})
	t.Run("application death", func(t *testing.T) {
		n, c := newController(t)
		ctx := ctxT(t)
		ev := newEvents()
		if err := c.Load(ctx, spec("victim", ev)); err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx, "victim", application.Permanent); err != nil {
			t.Fatal(err)
		}
		ev.expect(t, "start:victim")
		boom := errors.New("boom")
		if err := n.Send(topOf(t, c, "victim"), die{reason: boom}); err != nil {
			t.Fatal(err)
		}
		ev.expect(t, "prep_stop:victim", "stop:victim")
		// Wait for the end by the node, not by Terminated.
		awaitGone(t, n, c)
		var ee *application.ExitError
		if r := exitOf(t, c); !errors.As(r, &ee) || ee.App != "victim" || !errors.Is(r, boom) {
			t.Errorf("Terminated after the end = %v, want *ExitError for victim", r)
		}
	})
	t.Run("killed", func(t *testing.T) {
		n, c := newController(t)
		if err := n.Kill(c.PID()); err != nil {
			t.Fatal(err)
		}
		awaitGone(t, n, c)
		if r := exitOf(t, c); !errors.Is(r, actor.Killed) {
			t.Errorf("Terminated after a kill = %v, want killed", r)
		}
		if _, err := application.ControllerOf(n); !errors.Is(err, application.ErrNoController) {
			t.Errorf("ControllerOf after the end = %v, want ErrNoController", err)
		}
	})
	t.Run("zero", func(t *testing.T) {
		if r := exitOf(t, application.Controller{}); !errors.Is(r, actor.NoProc) {
			t.Errorf("Terminated of the zero Controller = %v, want noproc", r)
		}
	})
}

// awaitGone waits until the controller is no longer alive on n.
func awaitGone(t *testing.T, n *actor.Node, c application.Controller) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		if n.IsAlive(c.PID()) {
			return errors.New("the controller is still alive")
		}
		return nil
	})
}

// A process NewController did not start may hold ControllerName: then
// ControllerOf returns its handle at once (it used to need no record; now
// it must not wait for one), and Terminated watches that process.
func TestControllerOfAForeignName(t *testing.T) {
	n := newNode(t)
	ib, err := n.NewInbox(actor.WithName(application.ControllerName))
	if err != nil {
		t.Fatal(err)
	}
	found := make(chan application.Controller, 1)
	go func() {
		c, err := application.ControllerOf(n)
		if err != nil {
			t.Error(err)
		}
		found <- c
	}()
	var c application.Controller
	select {
	case c = <-found:
	case <-time.After(10 * time.Second):
		t.Fatal("ControllerOf did not return")
	}
	if c.PID() != ib.PID() {
		t.Fatalf("ControllerOf = %v, want the name's holder %v", c.PID(), ib.PID())
	}
	terminated := c.Terminated()
	ib.Close()
	select {
	case r := <-terminated:
		if errors.Is(r, actor.NoProc) {
			t.Errorf("Terminated = %v, want the holder's exit", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Terminated reported nothing")
	}
}

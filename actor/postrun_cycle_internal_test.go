package actor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestPostRunIdleBusyDead: postRun runs a process it finds
// idle on the calling goroutine, so the request is answered when it
// returns; a busy process gets the request queued, and answers it on its
// own worker; a dead one gives NoProc.
func TestPostRunIdleBusyDead(t *testing.T) {
	n := NewNode()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	release := make(chan struct{})
	pid, err := n.Spawn(ReceiverFunc(func(_ *Context, msg any) error {
		switch m := msg.(type) {
		case *Request:
			m.Reply(m.Message())
		case string:
			<-release // busy until released
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := n.lookup(pid)
	idle := func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.state != stIdle {
			return errors.New("not idle yet")
		}
		return nil
	}
	testkit.Eventually(t, 10*time.Second, idle)

	answered := make(chan any, 1)
	answer := func(v any, err error) { answered <- v }
	if err := n.postRun(pid, newRequest(PID{}, 1, answer)); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-answered:
		if v != 1 {
			t.Fatalf("answer %v", v)
		}
	default:
		t.Fatal("an idle process was not run by postRun's caller")
	}

	// Busy: the request waits for the process's worker.
	testkit.Eventually(t, 10*time.Second, idle)
	if err := n.Send(pid, "hold"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if idle() == nil {
			return errors.New("still idle")
		}
		return nil
	})
	if err := n.postRun(pid, newRequest(PID{}, 2, answer)); err != nil {
		t.Fatal(err)
	}
	close(release)
	select {
	case v := <-answered:
		if v != 2 {
			t.Fatalf("answer %v", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a busy process never answered")
	}

	if err := n.Kill(pid); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if n.IsAlive(pid) {
			return errors.New("still alive")
		}
		return nil
	})
	if err := n.postRun(pid, newRequest(PID{}, 3, answer)); !errors.Is(err, NoProc) {
		t.Fatalf("dead process: %v, want NoProc", err)
	}
}

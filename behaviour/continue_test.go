package behaviour_test

import (
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// TestInitContinueDoesNotBlockStart: Start returns when Init returns, while
// the HandleContinue asked for by InitContinue is still running.
func TestInitContinueDoesNotBlockStart(t *testing.T) {
	n := newNode(t)
	ib, _ := n.NewInbox()
	gate := make(chan struct{})
	var once bool
	open := func() {
		if !once {
			once = true
			close(gate)
		}
	}
	t.Cleanup(open) // before the node stops: a blocked Start must end
	started := make(chan error, 1)
	go func() {
		_, err := behaviour.Start[*probeState](n, &probe{report: ib.PID(), contGate: gate,
			init: func(*actor.Context) (*probeState, error) {
				return behaviour.InitContinue(&probeState{n: 1}, 2)
			}})
		started <- err
	}()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start waited for HandleContinue")
	}
	open()
	if m := recv(t, ib).(continued); m.n != 3 {
		t.Fatalf("continue state %d", m.n)
	}
}

// TestInitContinueStopIsAnExit: a Stop returned by the HandleContinue of
// InitContinue ends a started process: Start succeeds, and the linked
// parent gets the exit.
func TestInitContinueStopIsAnExit(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	parent, _ := n.NewInbox(actor.WithTrapExit())
	var pid actor.PID
	var startErr error
	err := parent.Do(ctx, func(c *actor.Context) error {
		pid, startErr = behaviour.StartLink[*probeState](c, &probe{report: parent.PID(),
			init: func(*actor.Context) (*probeState, error) {
				return behaviour.InitContinue(&probeState{}, contStop{errBoom})
			}})
		return nil
	})
	if err != nil || startErr != nil || pid.IsZero() {
		t.Fatalf("start: %v %v %v", err, startErr, pid)
	}
	if m := recv(t, parent).(terminated); m.reason != errBoom {
		t.Fatalf("terminate reason %v", m.reason)
	}
	ex := recv(t, parent).(actor.Exit)
	if ex.From != pid || !errors.Is(ex.Reason, errBoom) {
		t.Fatalf("parent got %+v", ex)
	}
}

// TestInitContinueRunsFirst: HandleContinue runs before a message that
// reached the mailbox during Init.
func TestInitContinueRunsFirst(t *testing.T) {
	n := newNode(t)
	ib, _ := n.NewInbox()
	_, err := behaviour.Start[*probeState](n, &probe{report: ib.PID(),
		init: func(ctx *actor.Context) (*probeState, error) {
			_ = ctx.Send(ctx.Self(), infoMsg{"early"})
			return behaviour.InitContinue(&probeState{}, 5)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := recv(t, ib).(continued); !ok || m.n != 5 {
		t.Fatalf("first report %#v, want the continue", m)
	}
	if m := recv(t, ib).(gotInfo); m.v != "early" {
		t.Fatalf("second report %#v", m)
	}
}

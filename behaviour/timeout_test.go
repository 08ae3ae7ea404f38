package behaviour_test

import (
	"time"

	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// TestTimeoutZeroFires: Result.Timeout(0) and InitTimeout(s, 0) time out at
// once when no message is waiting.
func TestTimeoutZeroFires(t *testing.T) {
	n := newNode(t)
	pid, ib := startProbe(t, n)
	if _, err := behaviour.Call(ctxT(t), pid, idle{d: 0}); err != nil {
		t.Fatal(err)
	}
	if m, ok := recv(t, ib).(timedOut); !ok {
		t.Fatalf("got %#v, want a timeout", m)
	}

	ib2, _ := n.NewInbox()
	_, err := behaviour.Start[*probeState](n, &probe{report: ib2.PID(),
		init: func(*actor.Context) (*probeState, error) {
			return behaviour.InitTimeout(&probeState{}, 0)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := recv(t, ib2).(timedOut); !ok {
		t.Fatalf("got %#v, want a timeout", m)
	}
}

// TestTimeoutZeroYieldsToWaitingMessage: a message already in the mailbox
// when Timeout(0) is asked for is handled instead, and no Timeout follows.
func TestTimeoutZeroYieldsToWaitingMessage(t *testing.T) {
	n := newNode(t)
	pid, ib := startProbe(t, n)
	ctx := ctxT(t)
	if _, err := behaviour.Call(ctx, pid, busyIdle{}); err != nil {
		t.Fatal(err)
	}
	if _, err := behaviour.Call(ctx, pid, ping{}); err != nil {
		t.Fatal(err)
	}
	// The server's reports arrive in order: a Timeout would sit between.
	if m, ok := recv(t, ib).(gotInfo); !ok || m.v != "waiting" {
		t.Fatalf("first report %#v", m)
	}
	if m := recv(t, ib); m != "pong" {
		t.Fatalf("second report %#v, want pong (no timeout)", m)
	}
}

// TestTimeoutCancelledByMessage: a message before the idle timeout cancels
// it, and no late Timeout arrives after a stale timer message.
func TestTimeoutCancelledByMessage(t *testing.T) {
	n := newNode(t)
	pid, ib := startProbe(t, n)
	ctx := ctxT(t)
	if _, err := behaviour.Call(ctx, pid, idle{d: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := behaviour.Call(ctx, pid, ping{}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, ib); m != "pong" {
		t.Fatalf("got %#v", m)
	}
}

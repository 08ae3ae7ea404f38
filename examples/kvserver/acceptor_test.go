package main

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// failingListener fails its first fails Accepts with err, then reports
// itself closed.
type failingListener struct {
	net.Listener // nil: only Accept is called
	err          error
	fails        int
	calls        int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.calls++
	if l.calls <= l.fails {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: l.err}
	}
	return nil, net.ErrClosed
}

// Failed accepts (EMFILE here) are logged and retried, not fatal; only a
// closed listener ends the loop.
func TestAcceptLoopRetriesErrors(t *testing.T) {
	var logs testkit.LogBuffer
	ln := &failingListener{err: syscall.EMFILE, fails: 4}
	a := acceptor{cfg: Config{}.withDefaults(), open: new(atomic.Int64)}
	a.acceptLoop(context.Background(), ln, make(chan struct{}), zerolog.New(&logs))
	if ln.calls != 5 {
		t.Errorf("%d accepts, want 5 (4 failures retried, then closed)", ln.calls)
	}
	if n := strings.Count(logs.String(), "kvserver cannot accept; retrying"); n != 4 {
		t.Errorf("%d failures logged, want 4:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("the log does not name the error:\n%s", logs.String())
	}
}

// A loop pausing after a failure returns as soon as it is stopped.
func TestAcceptLoopStopsDuringBackoff(t *testing.T) {
	ln := &failingListener{err: syscall.EMFILE, fails: 1 << 30}
	stopped := make(chan struct{})
	done := make(chan struct{})
	a := acceptor{cfg: Config{}.withDefaults(), open: new(atomic.Int64)}
	go func() {
		defer close(done)
		a.acceptLoop(context.Background(), ln, stopped, zerolog.Nop())
	}()
	close(stopped)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the accept loop did not return after stop")
	}
}

// Package actortest helps tests that run Arbor processes, as net/http/httptest
// does for HTTP: a quiet node stopped when the test ends, a context with a
// deadline, waiting for an Inbox's next message with a clear failure, and
// ExitOnError, a process the test ends with the reason it chooses.
//
//	func TestPing(t *testing.T) {
//		node := actortest.NewNode(t)
//		ib := actortest.NewInbox(t, node)
//		_ = node.Send(ib.PID(), "ping")
//		if got := actortest.Receive(t, ib); got != "ping" {
//			t.Fatalf("got %v", got)
//		}
//	}
package actortest

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/rs/zerolog"
)

// Timeout bounds Context and the waits of this package.
const Timeout = 10 * time.Second

// NewNode starts a node that logs nothing (unless opts set a logger) and
// stops it when the test ends, failing the test if its processes do not
// exit within Timeout.
func NewNode(t testing.TB, opts ...actor.NodeOption) *actor.Node {
	t.Helper()
	opts = append([]actor.NodeOption{actor.WithLogger(zerolog.New(io.Discard))}, opts...)
	n := actor.NewNode(opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("stop node: %v", err)
		}
	})
	return n
}

// Context returns a context that ends after Timeout or with the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// NewInbox spawns an inbox on n, failing the test if it cannot.
func NewInbox(t testing.TB, n *actor.Node, opts ...actor.SpawnOption) *actor.Inbox {
	t.Helper()
	ib, err := n.NewInbox(opts...)
	if err != nil {
		t.Fatalf("new inbox: %v", err)
	}
	return ib
}

// Receive returns the inbox's next message, failing the test if none
// arrives within Timeout.
func Receive(t testing.TB, ib *actor.Inbox) any {
	t.Helper()
	m, err := ib.Receive(Context(t))
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

// ReceiveAs is Receive that also fails the test if the message is not a T.
func ReceiveAs[T any](t testing.TB, ib *actor.Inbox) T {
	t.Helper()
	m := Receive(t, ib)
	v, ok := m.(T)
	if !ok {
		var zero T
		t.Fatalf("got %T %v, want %T", m, m, zero)
	}
	return v
}

// ExitOnError is a process that ends with any error it is sent as its exit
// reason (n.Send(pid, reason)) and ignores every other message: a worker
// that a test crashes, or stops, at will.
var ExitOnError actor.Receiver = actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
	if err, ok := msg.(error); ok {
		return err
	}
	return nil
})

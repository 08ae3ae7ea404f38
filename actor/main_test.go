package actor_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/rs/zerolog"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

// newNode starts a quiet node stopped at the end of the test.
func newNode(t testing.TB) *actor.Node {
	t.Helper()
	n := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("stop node: %v", err)
		}
	})
	return n
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newInbox(t testing.TB, n *actor.Node, opts ...actor.SpawnOption) *actor.Inbox {
	t.Helper()
	ib, err := n.NewInbox(opts...)
	if err != nil {
		t.Fatalf("new inbox: %v", err)
	}
	return ib
}

// recv waits for the next message of an inbox.
func recv(t testing.TB, ib *actor.Inbox) any {
	t.Helper()
	m, err := ib.Receive(ctxT(t))
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

// recvType waits for the next message and asserts its type.
func recvType[T any](t testing.TB, ib *actor.Inbox) T {
	t.Helper()
	m := recv(t, ib)
	v, ok := m.(T)
	if !ok {
		var zero T
		t.Fatalf("got %T %v, want %T", m, m, zero)
	}
	return v
}

// dieOn is a process that ends with the reason it is sent, or panics.
type dieOn struct{}

type die struct{ reason error }
type panicNow struct{}

func (dieOn) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case die:
		return m.reason
	case panicNow:
		panic("boom")
	}
	return nil
}

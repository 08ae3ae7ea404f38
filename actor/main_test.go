package actor_test

import (
	"context"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/internal/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func newNode(t testing.TB) *actor.Node { return actortest.NewNode(t) }

func ctxT(t testing.TB) context.Context { return actortest.Context(t) }

func newInbox(t testing.TB, n *actor.Node, opts ...actor.SpawnOption) *actor.Inbox {
	return actortest.NewInbox(t, n, opts...)
}

func recv(t testing.TB, ib *actor.Inbox) any { return actortest.Receive(t, ib) }

func recvType[T any](t testing.TB, ib *actor.Inbox) T { return actortest.ReceiveAs[T](t, ib) }

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

package behaviour_test

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

func recv(t testing.TB, ib *actor.Inbox) any {
	t.Helper()
	m, err := ib.Receive(ctxT(t))
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

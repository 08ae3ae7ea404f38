package actortest_test

import (
	"errors"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/internal/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func TestRoundTrip(t *testing.T) {
	node := actortest.NewNode(t)
	ib := actortest.NewInbox(t, node)
	if err := node.Send(ib.PID(), "ping"); err != nil {
		t.Fatal(err)
	}
	if got := actortest.ReceiveAs[string](t, ib); got != "ping" {
		t.Fatalf("got %q", got)
	}
}

func TestExitOnError(t *testing.T) {
	node := actortest.NewNode(t)
	ctx := actortest.Context(t)
	pid, err := node.Spawn(actortest.ExitOnError)
	if err != nil {
		t.Fatal(err)
	}
	ib := actortest.NewInbox(t, node)
	ib.Monitor(ctx, pid)
	if err := node.Send(pid, "ignored"); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := node.Send(pid, boom); err != nil {
		t.Fatal(err)
	}
	// had "ignored" ended it, its reason would not be boom
	if r := actortest.ReceiveAs[actor.Down](t, ib).Reason; !errors.Is(r, boom) {
		t.Fatalf("exit reason %v, want %v", r, boom)
	}
}

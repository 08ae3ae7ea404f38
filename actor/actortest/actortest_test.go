package actortest_test

import (
	"testing"

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

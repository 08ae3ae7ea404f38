package behaviour_test

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

func recv(t testing.TB, ib *actor.Inbox) any { return actortest.Receive(t, ib) }

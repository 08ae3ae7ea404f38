package behaviour_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// deadlineSeen is what a callback saw of ctx.Deadline().
type deadlineSeen struct {
	at time.Time
	ok bool
}

// deadlines is a GenServer whose callbacks report ctx.Deadline():
// "call" replies with the call's; "continue" replies from HandleContinue;
// "defer" keeps the caller ("held" says whether one is kept) and "release"
// answers it later with what the releasing call's handler saw; a cast
// records the cast's for "lastCast".
type deadlines struct{}

type deadlinesState struct {
	held     *behaviour.From
	lastCast deadlineSeen
}

func seenOf(ctx *actor.Context) deadlineSeen {
	d, ok := ctx.Deadline()
	return deadlineSeen{d, ok}
}

func (deadlines) Init(*actor.Context) (deadlinesState, error) { return deadlinesState{}, nil }

func (deadlines) HandleCall(ctx *actor.Context, from behaviour.From, req any, s deadlinesState) behaviour.Result[deadlinesState] {
	switch req {
	case "continue":
		s.held = &from
		return behaviour.NoReply(s).Continue("reply")
	case "defer":
		s.held = &from
		return behaviour.NoReply(s)
	case "release":
		s.held.Reply(seenOf(ctx))
		s.held = nil
		return behaviour.Reply("released", s)
	case "lastCast":
		return behaviour.Reply(s.lastCast, s)
	case "held":
		return behaviour.Reply(s.held != nil, s)
	}
	return behaviour.Reply(seenOf(ctx), s)
}

func (deadlines) HandleContinue(ctx *actor.Context, _ any, s deadlinesState) behaviour.Result[deadlinesState] {
	s.held.Reply(seenOf(ctx))
	s.held = nil
	return behaviour.NoReply(s)
}

func (deadlines) HandleCast(ctx *actor.Context, _ any, s deadlinesState) behaviour.Result[deadlinesState] {
	s.lastCast = seenOf(ctx)
	return behaviour.NoReply(s)
}

// A GenServer's HandleCall (and the HandleContinue it asks for) sees the
// caller's deadline as ctx.Deadline(); a call without a deadline and a cast
// see none. A reply deferred to a later call answers the first caller.
func TestHandleCallSeesCallerDeadline(t *testing.T) {
	n := newNode(t)
	pid, err := behaviour.Start(n, deadlines{})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Now().Add(time.Hour).Round(time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), want)
	defer cancel()
	for _, req := range []string{"call", "continue"} {
		got, err := behaviour.CallAs[deadlineSeen](ctx, pid, req)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ok || !got.at.Equal(want) {
			t.Fatalf("%s: the handler saw deadline %v (%v), want %v", req, got.at, got.ok, want)
		}
	}
	got, err := behaviour.CallAs[deadlineSeen](context.Background(), pid, "call")
	if err != nil || got.ok {
		t.Fatalf("a call without a deadline: the handler saw %v (%v), %v", got.at, got.ok, err)
	}

	// A reply deferred from a call with a deadline, made by the handler of
	// a call without one (which sees none).
	deferred := make(chan error, 1)
	var seenByRelease deadlineSeen
	go func() {
		var err error
		seenByRelease, err = behaviour.CallAs[deadlineSeen](ctx, pid, "defer")
		deferred <- err
	}()
	testkit.Eventually(t, 30*time.Second, func() error {
		if held, err := behaviour.CallAs[bool](ctxT(t), pid, "held"); err != nil || !held {
			return fmt.Errorf("the deferred call is not held yet (%v)", err)
		}
		return nil
	})
	if v, err := behaviour.Call(context.Background(), pid, "release"); err != nil || v != "released" {
		t.Fatalf("release: %v %v", v, err)
	}
	if err := <-deferred; err != nil {
		t.Fatal(err)
	}
	if seenByRelease.ok {
		t.Fatalf("the releasing call had no deadline, its handler saw %v", seenByRelease.at)
	}

	if err := behaviour.Cast(ctx, pid, "cast"); err != nil {
		t.Fatal(err)
	}
	got, err = behaviour.CallAs[deadlineSeen](ctxT(t), pid, "lastCast")
	if err != nil || got.ok {
		t.Fatalf("a cast's handler saw deadline %v (%v), %v", got.at, got.ok, err)
	}
}

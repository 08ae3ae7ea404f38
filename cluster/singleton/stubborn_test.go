package singleton_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// stubborn is a singleton child that traps exits and ignores them all:
// only a kill stops it. It reports its pid and token when it starts.
type stubborn struct {
	started chan<- stubbornStart
}

type stubbornStart struct {
	pid   actor.PID
	token uint64
	err   error
}

func (s *stubborn) Init(ctx *actor.Context) error {
	ctx.TrapExit(true)
	tok, err := singleton.FencingToken(ctx)
	s.started <- stubbornStart{pid: ctx.Self(), token: tok, err: err}
	return nil
}

func (s *stubborn) Receive(*actor.Context, any) error { return nil }

func stubbornSpec(id string, limit supervision.Shutdown, started chan<- stubbornStart) supervision.ChildSpec {
	return supervision.ChildSpec{
		ID:       id,
		Shutdown: limit,
		Start: func(ctx *actor.Context) (actor.PID, error) {
			return ctx.SpawnLink(&stubborn{started: started})
		},
	}
}

// TestKilledSingletonReleasesOnlyAfterItsChild kills the singleton's
// process under a child that traps exits and ignores the Shutdown it is
// sent: the child is killed at its shutdown limit, and the lock is given
// up (so the restarted singleton starts a new child) only once it has
// exited. Before, the lock was released after the limit plus
// supervision.KillWait with the first child still running: two instances.
func TestKilledSingletonReleasesOnlyAfterItsChild(t *testing.T) {
	agent := testkit.StartConsulAgent(t)
	node := actor.NewNode(actor.WithNodeName("k"), actor.WithLogger(zerolog.New(io.Discard)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = node.Stop(ctx)
	})
	started := make(chan stubbornStart, 10)
	const limit = 500 * time.Millisecond
	spec := singleton.Spec(stubbornSpec("stubborn", supervision.Timeout(limit), started),
		singleton.WithLock(newTestLocker(t, agent.Addr(), "k")))
	sup, err := supervision.Start(node, []supervision.ChildSpec{spec})
	if err != nil {
		t.Fatal(err)
	}
	next := func() stubbornStart {
		t.Helper()
		select {
		case s := <-started:
			if s.err != nil {
				t.Fatalf("child started without a token: %v", s.err)
			}
			return s
		case <-time.After(60 * time.Second):
			t.Fatal("no child started")
		}
		return stubbornStart{}
	}
	first := next()
	exited := node.WatchExit(first.pid)
	kids, err := supervision.WhichChildren(context.Background(), sup)
	if err != nil || len(kids) != 1 {
		t.Fatalf("children %v, %v", kids, err)
	}
	killed := time.Now()
	if err := node.Exit(kids[0].PID, actor.Kill); err != nil {
		t.Fatal(err)
	}

	// The supervisor restarts the singleton, which waits for the lock.
	var second stubbornStart
	select {
	case reason := <-exited:
		// Killed at its limit (the Shutdown-class exit it ignored came
		// through the link).
		if !errors.Is(reason, actor.Kill) && !errors.Is(reason, actor.Killed) {
			t.Errorf("first child exited with %v, want a kill", reason)
		}
		t.Logf("first child killed %v after its singleton was (limit %v)", time.Since(killed), limit)
	case second = <-started:
		t.Fatalf("a second child (token %d) started while the first (token %d) still runs", second.token, first.token)
	case <-time.After(60 * time.Second):
		t.Fatal("the first child was never killed")
	}
	second = next()
	if second.token <= first.token {
		t.Fatalf("token went from %d to %d", first.token, second.token)
	}
	t.Logf("second child started %v after the kill (token %d -> %d)", time.Since(killed), first.token, second.token)
}

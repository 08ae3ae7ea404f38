package singleton_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/consul"
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

// stuck is a singleton child whose first handler blocks until gate
// closes, so a kill cannot take effect meanwhile; it then reads the
// fencing token, reports it, and returns.
type stuck struct {
	started chan<- stubbornStart
	blocked chan<- struct{}
	gate    <-chan struct{}
	after   chan<- stubbornStart
}

type block struct{}

func (s *stuck) Init(ctx *actor.Context) error {
	tok, err := singleton.FencingToken(ctx)
	s.started <- stubbornStart{pid: ctx.Self(), token: tok, err: err}
	if s.gate != nil {
		return ctx.Send(ctx.Self(), block{})
	}
	return nil
}

func (s *stuck) Receive(ctx *actor.Context, msg any) error {
	if _, ok := msg.(block); ok {
		s.blocked <- struct{}{}
		<-s.gate
		tok, err := singleton.FencingToken(ctx)
		s.after <- stubbornStart{pid: ctx.Self(), token: tok, err: err}
	}
	return nil
}

// TestAbandonedChildNeverSeesTheNextLease loses the lease (its session
// destroyed in Consul) under a child whose handler does not return, so
// its kill cannot take effect and the singleton abandons it after
// supervision.KillWait. The singleton does not try for the lock again
// while that child lives, and the child, when its handler goes on, reads
// ErrNotHeld from FencingToken: never the token of a later lease. Before,
// the singleton took a new lease at once and the abandoned child read its
// token (FencingToken looked the lease up by the singleton's pid).
func TestAbandonedChildNeverSeesTheNextLease(t *testing.T) {
	agent := testkit.StartConsulAgent(t)
	node := actor.NewNode(actor.WithNodeName("ab"), actor.WithLogger(zerolog.New(io.Discard)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = node.Stop(ctx)
	})
	events := make(chan singleton.Event, 100)
	sub, err := node.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if ev, ok := msg.(singleton.Event); ok {
			events <- ev
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan stubbornStart, 10)
	blocked := make(chan struct{}, 1)
	after := make(chan stubbornStart, 1)
	gate := make(chan struct{})
	var openGate sync.Once
	t.Cleanup(func() { openGate.Do(func() { close(gate) }) }) // a failed test must not leave it stuck
	first := true
	child := supervision.ChildSpec{
		ID:       "abandoned",
		Shutdown: supervision.Timeout(200 * time.Millisecond),
		Start: func(ctx *actor.Context) (actor.PID, error) {
			s := &stuck{started: started}
			if first { // only the first child blocks
				first = false
				s.blocked, s.gate, s.after = blocked, gate, after
			}
			return ctx.SpawnLink(s)
		},
	}
	sup, err := supervision.Start(node, []supervision.ChildSpec{singleton.Spec(child,
		singleton.WithLock(newTestLocker(t, agent.Addr(), "ab")), singleton.WithSubscriber(sub))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = supervision.Stop(ctx, node, sup)
	})
	awaitEvent := func(kind singleton.EventKind) singleton.Event {
		t.Helper()
		for {
			select {
			case ev := <-events:
				if ev.Kind == kind {
					return ev
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("no %v event", kind)
			}
		}
	}
	var one stubbornStart
	select {
	case one = <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("no child started")
	}
	<-blocked

	client, err := api.NewClient(&api.Config{Address: agent.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	pair, _, err := client.KV().Get(consul.DefaultLockPrefix+"abandoned", nil)
	if err != nil || pair == nil || pair.Session == "" {
		t.Fatalf("read the pair: %v %v", pair, err)
	}
	if _, err := client.Session().Destroy(pair.Session, nil); err != nil {
		t.Fatal(err)
	}
	// Lost comes once the singleton has given up on the child (its limit,
	// then KillWait after the kill).
	awaitEvent(singleton.Lost)
	// While the abandoned child lives, no second child may start. (A
	// window, not a wait for an effect: before the fix the second child
	// started within the lock-delay.)
	select {
	case s := <-started:
		t.Fatalf("a second child (token %d) started while the abandoned one (token %d) lives", s.token, one.token)
	case <-time.After(2 * time.Second):
	}
	openGate.Do(func() { close(gate) })
	var got stubbornStart
	select {
	case got = <-after:
	case <-time.After(30 * time.Second):
		t.Fatal("the abandoned child did not go on")
	}
	if !errors.Is(got.err, singleton.ErrNotHeld) {
		t.Fatalf("abandoned child (token %d) read FencingToken = %d, %v; want ErrNotHeld", one.token, got.token, got.err)
	}
	// Its handler returned, so the kill took effect: the singleton tries
	// again and starts a new child under a newer lease.
	var two stubbornStart
	select {
	case two = <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("no second child after the abandoned one exited")
	}
	if two.err != nil || two.token <= one.token {
		t.Fatalf("second child: token %d, %v (first %d)", two.token, two.err, one.token)
	}
}

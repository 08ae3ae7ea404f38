package singleton_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/consul"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// Lock settings of the tests: the test agent accepts 1 s TTLs.
const (
	testTTL   = 2 * time.Second
	testDelay = 500 * time.Millisecond
)

// holder is one node taking part in a singleton: its own actor node, its
// own Locker, a supervisor with the singleton, and its events.
type holder struct {
	name   string
	node   *actor.Node
	sup    actor.PID
	events chan singleton.Event
}

func newTestLocker(t *testing.T, addr, name string) *consul.Locker {
	t.Helper()
	l, err := consul.NewLocker(consul.WithLockAddress(addr), consul.WithLockHolder(name),
		consul.WithLockTTL(testTTL), consul.WithLockDelay(testDelay), consul.WithLockWaitTime(time.Second),
		consul.WithLockLogger(zerolog.New(io.Discard)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func startHolder(t *testing.T, addr, name, id string, led *ledger) *holder {
	t.Helper()
	h := &holder{name: name, events: make(chan singleton.Event, 100)}
	h.node = actor.NewNode(actor.WithNodeName(name), actor.WithLogger(zerolog.New(io.Discard)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = h.node.Stop(ctx)
	})
	sub, err := h.node.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if ev, ok := msg.(singleton.Event); ok {
			h.events <- ev
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	spec := singleton.Spec(workerSpec(id, name, led.add), singleton.WithLock(newTestLocker(t, addr, name)),
		singleton.WithSubscriber(sub))
	h.sup, err = supervision.Start(h.node, []supervision.ChildSpec{spec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = supervision.Stop(ctx, h.node, h.sup)
	})
	return h
}

// next waits for h's next event, which must be of one of kinds.
func (h *holder) next(t *testing.T, within time.Duration, kinds ...singleton.EventKind) singleton.Event {
	t.Helper()
	select {
	case ev := <-h.events:
		if !slices.Contains(kinds, ev.Kind) {
			t.Fatalf("%s: event %v (%+v), want one of %v", h.name, ev.Kind, ev, kinds)
		}
		if ev.Node != h.name {
			t.Fatalf("%s: event names node %q", h.name, ev.Node)
		}
		return ev
	case <-time.After(within):
		t.Fatalf("%s: no event %v within %v", h.name, kinds, within)
	}
	return singleton.Event{}
}

// noEvent fails if h has an event queued right now.
func (h *holder) noEvent(t *testing.T) {
	t.Helper()
	select {
	case ev := <-h.events:
		t.Fatalf("%s: unexpected event %+v", h.name, ev)
	default:
	}
}

func lastStart(es []entry, who string) (entry, bool) {
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].kind == "start" && es[i].holder == who {
			return es[i], true
		}
	}
	return entry{}, false
}

func TestSpecWithoutModeFailsToStart(t *testing.T) {
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = node.Stop(context.Background()) }()
	_, err := supervision.Start(node, []supervision.ChildSpec{singleton.Spec(workerSpec("x", "n", func(entry) {}))})
	if !errors.Is(err, singleton.ErrNoMode) {
		t.Fatalf("start without a mode: %v, want ErrNoMode", err)
	}
	_, err = supervision.Start(node, []supervision.ChildSpec{singleton.Spec(supervision.ChildSpec{ID: "y"},
		singleton.WithLock(newTestLocker(t, "127.0.0.1:1", "n")))})
	if !errors.Is(err, supervision.ErrInvalidSpec) {
		t.Fatalf("start without a Start function: %v, want ErrInvalidSpec", err)
	}
	if _, err := singleton.FencingToken(context.Background()); !errors.Is(err, singleton.ErrNoLease) {
		t.Fatalf("FencingToken outside a singleton: %v, want ErrNoLease", err)
	}
}

// TestLockModeOneInstanceAndHandover: of two holders exactly one runs the
// child; stopping its supervisor stops the child with Shutdown and the
// other takes over at once (the lock is released, no lock-delay), with a
// larger token.
func TestLockModeOneInstanceAndHandover(t *testing.T) {
	agent := testkit.StartConsulAgent(t)
	led := &ledger{}
	a := startHolder(t, agent.Addr(), "a", "handover", led)
	a.next(t, 10*time.Second, singleton.Waiting)
	acq := a.next(t, 60*time.Second, singleton.Acquired)
	b := startHolder(t, agent.Addr(), "b", "handover", led)
	b.next(t, 10*time.Second, singleton.Waiting)
	if r := running(led.snapshot()); !slices.Equal(r, []string{"a"}) {
		t.Fatalf("running %v, want [a]", r)
	}
	b.noEvent(t)

	stopped := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := supervision.Stop(ctx, a.node, a.sup); err != nil {
		t.Fatal(err)
	}
	a.next(t, 10*time.Second, singleton.Released)
	tk := b.next(t, 60*time.Second, singleton.Takeover)
	if tk.Token <= acq.Token || tk.Previous != "a" {
		t.Fatalf("takeover %+v after holding %+v", tk, acq)
	}
	es := led.snapshot()
	start, _ := lastStart(es, "b")
	t.Logf("handover after a clean stop: %v (token %d -> %d)", start.at.Sub(stopped), acq.Token, tk.Token)
	if err := checkLedger(es); err != nil {
		t.Fatal(err)
	}
	if es[1].kind != "stop" || !isShutdown(es[1].reason) {
		t.Fatalf("a's child stopped with %+v, want a Shutdown reason", es[1])
	}
	if r := running(es); !slices.Equal(r, []string{"b"}) {
		t.Fatalf("running %v, want [b]", r)
	}
}

// TestLockModeConsulDown stops Consul under the holder: its child is
// stopped within the renew deadline (before the session could expire),
// nobody starts one while Consul is down, and once it is back exactly one
// runs, with a larger token (the agent keeps its Raft state).
func TestLockModeConsulDown(t *testing.T) {
	agent := testkit.StartPersistentConsulAgent(t)
	led := &ledger{}
	a := startHolder(t, agent.Addr(), "a", "outage", led)
	a.next(t, 10*time.Second, singleton.Waiting)
	acq := a.next(t, 60*time.Second, singleton.Acquired)
	b := startHolder(t, agent.Addr(), "b", "outage", led)
	b.next(t, 10*time.Second, singleton.Waiting)

	down := time.Now()
	agent.Stop()
	lost := a.next(t, 30*time.Second, singleton.Lost)
	if !errors.Is(lost.Err, cluster.ErrLeaseLost) {
		t.Errorf("lost with %v, want ErrLeaseLost", lost.Err)
	}
	es := led.snapshot()
	if len(es) != 2 || es[1].kind != "stop" || !isShutdown(es[1].reason) {
		t.Fatalf("ledger %+v, want a start and a Shutdown stop", es)
	}
	stoppedAfter := es[1].at.Sub(down)
	// The session was renewed at most TTL/5 before Consul went; the child
	// is stopped TTL/2 after that renewal, and Consul's servers expire a
	// session 2×TTL after it (TTL is what they promise). Stopped within
	// TTL of the outage, the child is gone well before that; the slack
	// is for a loaded machine.
	if stoppedAfter >= testTTL {
		t.Errorf("child stopped %v after consul went down; the session may expire %v after its last renewal", stoppedAfter, testTTL)
	}
	t.Logf("child stopped %v after consul went down (TTL %v, renew deadline %v)", stoppedAfter, testTTL, testTTL/2)
	a.next(t, 10*time.Second, singleton.Waiting)
	// Consul is still down: nobody may have started a child.
	if r := running(led.snapshot()); len(r) != 0 {
		t.Fatalf("running %v with consul down", r)
	}
	b.noEvent(t)

	agent.Start()
	testkit.Eventually(t, 60*time.Second, func() error {
		if r := running(led.snapshot()); len(r) != 1 {
			return fmt.Errorf("running %v, want one", r)
		}
		return nil
	})
	es = led.snapshot()
	if err := checkLedger(es); err != nil {
		t.Fatal(err)
	}
	t.Logf("after consul came back: %s runs with token %d (was %d)", running(es)[0], es[len(es)-1].token, acq.Token)
}

type panickyLocker struct{}

func (panickyLocker) Acquire(context.Context, string) (cluster.Lease, error) { panic("locker broke") }

// A Locker that panics (a user's, or a nil *consul.Locker) stops the
// singleton with a *actor.PanicError; the program goes on.
func TestPanickingLockerStopsTheSingleton(t *testing.T) {
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = node.Stop(context.Background()) }()
	sup, err := supervision.Start(node, []supervision.ChildSpec{singleton.Spec(workerSpec("p", "n", func(entry) {}),
		singleton.WithLock(panickyLocker{}))}, supervision.WithIntensity(0, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case reason := <-node.WatchExit(sup):
		if !errors.Is(reason, actor.Shutdown) {
			t.Logf("supervisor exited with %v", reason)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the supervisor of a singleton whose Locker panics did not give up")
	}
}

// A lock-mode Spec whose child's shutdown limit is not under the
// Locker's stop budget (TTL/2 + lock-delay) fails to start with
// ErrShutdownTooLong: Infinity (a supervisor's default) included. The
// defaults fit: a worker's 5 s under the default Locker's 7 s.
func TestLockModeRefusesAShutdownOverTheStopBudget(t *testing.T) {
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = node.Stop(context.Background()) }()
	short := newTestLocker(t, "127.0.0.1:1", "n") // budget 1.5 s
	if b := short.StopBudget(); b != testTTL/2+testDelay {
		t.Fatalf("StopBudget %v, want %v", b, testTTL/2+testDelay)
	}
	for _, c := range []struct {
		name  string
		child supervision.ChildSpec
	}{
		{"at the budget", supervision.ChildSpec{Shutdown: supervision.Timeout(testTTL/2 + testDelay)}},
		{"a worker's default", supervision.ChildSpec{}},
		{"infinity", supervision.ChildSpec{Shutdown: supervision.Infinity}},
		{"a supervisor's default", supervision.ChildSpec{Type: supervision.Supervisor}},
	} {
		c.child.ID = "budget"
		c.child.Start = workerSpec("budget", "n", func(entry) {}).Start
		_, err := supervision.Start(node, []supervision.ChildSpec{singleton.Spec(c.child, singleton.WithLock(short))})
		if !errors.Is(err, singleton.ErrShutdownTooLong) {
			t.Errorf("%s: start %v, want ErrShutdownTooLong", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}

	def, err := consul.NewLocker(consul.WithLockAddress("127.0.0.1:1"), consul.WithLockLogger(zerolog.New(io.Discard)))
	if err != nil {
		t.Fatal(err)
	}
	for _, child := range []supervision.ChildSpec{
		{ID: "default"},
		{ID: "brutal", Shutdown: supervision.BrutalKill},
	} {
		child.Start = workerSpec(child.ID, "n", func(entry) {}).Start
		sup, err := supervision.Start(node, []supervision.ChildSpec{singleton.Spec(child, singleton.WithLock(def))})
		if err != nil {
			t.Fatalf("%s under the default Locker (budget %v): %v", child.ID, def.StopBudget(), err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := supervision.Stop(ctx, node, sup); err != nil {
			t.Error(err)
		}
		cancel()
	}
}

// TestLockModeFrozenConsul freezes the Consul agent (SIGSTOP: requests
// hang, nothing is refused) under two holders: the holder stops its
// child within the renew deadline, nobody starts one while the agent is
// frozen, a holder's supervisor stops in bounded time, and once the agent
// goes on exactly one child runs, with a larger token.
func TestLockModeFrozenConsul(t *testing.T) {
	agent := testkit.StartConsulAgent(t)
	led := &ledger{}
	a := startHolder(t, agent.Addr(), "a", "frozen-consul", led)
	a.next(t, 10*time.Second, singleton.Waiting)
	acq := a.next(t, 60*time.Second, singleton.Acquired)
	b := startHolder(t, agent.Addr(), "b", "frozen-consul", led)
	b.next(t, 10*time.Second, singleton.Waiting)
	c := startHolder(t, agent.Addr(), "c", "frozen-consul", led)
	c.next(t, 10*time.Second, singleton.Waiting)

	pid := agent.PID()
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	frozen := time.Now()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	a.next(t, 30*time.Second, singleton.Lost)
	a.next(t, 10*time.Second, singleton.Waiting)
	es := led.snapshot()
	if len(es) != 2 || es[1].kind != "stop" || !isShutdown(es[1].reason) {
		t.Fatalf("ledger %+v, want a start and a Shutdown stop", es)
	}
	if d := es[1].at.Sub(frozen); d >= testTTL { // as in TestLockModeConsulDown
		t.Errorf("child stopped %v after the freeze; the session may expire %v after its last renewal", d, testTTL)
	} else {
		t.Logf("child stopped %v after the agent froze", d)
	}
	// A singleton waiting on a frozen agent stops in bounded time.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stopping := time.Now()
	if err := supervision.Stop(ctx, c.node, c.sup); err != nil {
		t.Fatalf("stop c with the agent frozen: %v", err)
	}
	t.Logf("c's supervisor stopped %v after it was asked, the agent frozen", time.Since(stopping))
	if r := running(led.snapshot()); len(r) != 0 {
		t.Fatalf("running %v with the agent frozen", r)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, func() error {
		if r := running(led.snapshot()); len(r) != 1 {
			return fmt.Errorf("running %v, want one", r)
		}
		return nil
	})
	es = led.snapshot()
	if err := checkLedger(es); err != nil {
		t.Fatal(err)
	}
	t.Logf("after the agent went on: %s runs with token %d (was %d), %v after the freeze began",
		running(es)[0], es[len(es)-1].token, acq.Token, es[len(es)-1].at.Sub(frozen))
}

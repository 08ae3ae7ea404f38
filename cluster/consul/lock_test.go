package consul_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/consul"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// testTTL is the session TTL of the lock tests; the test agent accepts
// TTLs down to 1 s.
const testTTL = 2 * time.Second

func newLocker(t *testing.T, addr, holder string, opts ...consul.LockOption) *consul.Locker {
	t.Helper()
	opts = append([]consul.LockOption{consul.WithLockAddress(addr), consul.WithLockHolder(holder),
		consul.WithLockTTL(testTTL), consul.WithLockDelay(500 * time.Millisecond),
		consul.WithLockWaitTime(time.Second), consul.WithLockLogger(zerolog.New(io.Discard))}, opts...)
	l, err := consul.NewLocker(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func acquire(t *testing.T, l *consul.Locker, key string) cluster.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	le, err := l.Acquire(ctx, key)
	if err != nil {
		t.Fatalf("acquire %s: %v", key, err)
	}
	t.Cleanup(func() { _ = le.Release(context.Background()) })
	return le
}

type acquired struct {
	lease cluster.Lease
	err   error
	at    time.Time
}

// acquireAsync starts an Acquire and returns where its result arrives.
func acquireAsync(t *testing.T, l *consul.Locker, key string) (<-chan acquired, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	out := make(chan acquired, 1)
	done := make(chan struct{})
	var res acquired
	go func() {
		defer close(done)
		le, err := l.Acquire(ctx, key)
		res = acquired{le, err, time.Now()}
		out <- res
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if res.lease != nil {
			_ = res.lease.Release(context.Background())
		}
	})
	return out, cancel
}

func wait(t *testing.T, ch <-chan acquired, within time.Duration) acquired {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("acquire: %v", r.err)
		}
		return r
	case <-time.After(within):
		t.Fatalf("not acquired within %v", within)
	}
	return acquired{}
}

func TestLockOptionsAreChecked(t *testing.T) {
	for _, o := range []consul.LockOption{consul.WithLockTTL(time.Millisecond), consul.WithLockDelay(-1),
		consul.WithLockDelay(2 * time.Minute), consul.WithLockWaitTime(0)} {
		if _, err := consul.NewLocker(o); !errors.Is(err, consul.ErrBadLockOption) {
			t.Errorf("NewLocker: %v, want ErrBadLockOption", err)
		}
	}
	l, err := consul.NewLocker()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(context.Background(), ""); !errors.Is(err, consul.ErrBadLockOption) {
		t.Errorf("Acquire(\"\"): %v, want ErrBadLockOption", err)
	}
}

// TestLockTTLRefusedByConsul asks for a TTL Consul refuses: Acquire says
// so rather than retrying forever.
func TestLockTTLRefusedByConsul(t *testing.T) {
	a := testkit.StartConsulAgent(t)
	l := newLocker(t, a.Addr(), "a", consul.WithLockTTL(48*time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := l.Acquire(ctx, "ttl"); !errors.Is(err, consul.ErrBadLockOption) {
		t.Fatalf("Acquire with a 48h TTL: %v, want ErrBadLockOption", err)
	}
}

// TestLockTokenIncreasesAcrossHolders hands a key from one holder to
// another and back, deleting the pair in between, and checks that every
// acquisition's token is larger than the last, while the pair's LockIndex
// starts again at 1 after the delete (why it is not the token).
func TestLockTokenIncreasesAcrossHolders(t *testing.T) {
	a := testkit.StartConsulAgent(t)
	la, lb := newLocker(t, a.Addr(), "a"), newLocker(t, a.Addr(), "b")
	client, err := api.NewClient(&api.Config{Address: a.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	const key = "token"
	first := acquire(t, la, key)
	if !first.Held() {
		t.Fatal("a fresh lease is not held")
	}
	waiting, _ := acquireAsync(t, lb, key)
	select {
	case r := <-waiting:
		t.Fatalf("b acquired a held key: %+v", r)
	default:
	}
	released := time.Now()
	if err := first.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(first.Err(), cluster.ErrLeaseReleased) || first.Held() {
		t.Fatalf("released lease: Err %v, Held %v", first.Err(), first.Held())
	}
	second := wait(t, waiting, 30*time.Second)
	t.Logf("handover after release: %v", second.at.Sub(released))
	if second.lease.Token() <= first.Token() {
		t.Fatalf("token went from %d to %d", first.Token(), second.lease.Token())
	}
	if err := second.lease.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := client.KV().Delete(consul.DefaultLockPrefix+key, nil); err != nil {
		t.Fatal(err)
	}
	third := acquire(t, la, key)
	if third.Token() <= second.lease.Token() {
		t.Fatalf("token went from %d to %d after the pair was deleted", second.lease.Token(), third.Token())
	}
	pair, _, err := client.KV().Get(consul.DefaultLockPrefix+key, nil)
	if err != nil || pair == nil {
		t.Fatalf("read the pair: %v %v", pair, err)
	}
	if pair.LockIndex != 1 {
		t.Errorf("LockIndex after delete = %d, want 1 (it restarts; that is why it is not the token)", pair.LockIndex)
	}
	t.Logf("tokens %d < %d < %d; LockIndex of the recreated pair %d", first.Token(), second.lease.Token(), third.Token(), pair.LockIndex)
}

// TestLockTakeoverAfterInvalidation destroys the holder's session in
// Consul, as its expiry would: the holder's lease is lost, and the other
// holder takes the key once the lock-delay has passed, with a larger token.
func TestLockTakeoverAfterInvalidation(t *testing.T) {
	a := testkit.StartConsulAgent(t)
	la, lb := newLocker(t, a.Addr(), "a"), newLocker(t, a.Addr(), "b")
	client, err := api.NewClient(&api.Config{Address: a.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	first := acquire(t, la, "inval")
	waiting, _ := acquireAsync(t, lb, "inval")
	pair, _, err := client.KV().Get(consul.DefaultLockPrefix+"inval", nil)
	if err != nil || pair == nil || pair.Session == "" {
		t.Fatalf("read the pair: %v %v", pair, err)
	}
	destroyed := time.Now()
	if _, err := client.Session().Destroy(pair.Session, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("the holder did not see its session go")
	}
	if !errors.Is(first.Err(), cluster.ErrLeaseLost) || first.Held() {
		t.Fatalf("lost lease: Err %v, Held %v", first.Err(), first.Held())
	}
	second := wait(t, waiting, 30*time.Second)
	if d := second.at.Sub(destroyed); d < 500*time.Millisecond {
		t.Errorf("taken over %v after the invalidation, within the lock-delay", d)
	} else {
		t.Logf("takeover %v after the invalidation (lock-delay 500ms)", d)
	}
	if second.lease.Token() <= first.Token() {
		t.Fatalf("token went from %d to %d", first.Token(), second.lease.Token())
	}
	if p := second.lease.Previous(); p != "a" {
		t.Fatalf("Previous of the takeover = %q, want a", p)
	}
}

// TestLockLostWhenConsulStops stops the agent under a holder: its lease
// is lost within the renew deadline (TTL/2) of its last renewal, well
// before Consul could expire the session (TTL at the earliest), and no
// one acquires the key until the agent is back.
func TestLockLostWhenConsulStops(t *testing.T) {
	a := testkit.StartConsulAgent(t)
	la, lb := newLocker(t, a.Addr(), "a"), newLocker(t, a.Addr(), "b")
	first := acquire(t, la, "outage")
	waiting, _ := acquireAsync(t, lb, "outage")
	// Measured from the agent's exit: SIGTERM starts a graceful shutdown
	// that can take seconds on a loaded machine (Stop kills it after 10 s),
	// and the agent may renew the lease until it is gone.
	a.Stop()
	stopped := time.Now()
	select {
	case <-first.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("the holder kept its lease with Consul gone")
	}
	lostAfter := time.Since(stopped)
	if !errors.Is(first.Err(), cluster.ErrLeaseLost) || first.Held() {
		t.Fatalf("lost lease: Err %v, Held %v", first.Err(), first.Held())
	}
	// The lease was last renewed at most TTL/5 before the stop; it must
	// be given up by TTL/2 after that renewal, which is before TTL.
	if lostAfter >= testTTL {
		t.Errorf("lease given up %v after consul stopped; the session may have expired at %v", lostAfter, testTTL)
	}
	t.Logf("lease given up %v after consul stopped (TTL %v, deadline %v)", lostAfter, testTTL, testTTL/2)
	select {
	case r := <-waiting:
		t.Fatalf("acquired with consul down: %+v", r)
	default:
	}
	if err := first.Release(context.Background()); err == nil {
		t.Error("Release with consul down returned no error")
	}
	a.Start()
	second := wait(t, waiting, 60*time.Second)
	if !second.lease.Held() {
		t.Fatal("lease acquired after the restart is not held")
	}
	// A -dev agent starts its Raft indexes again: tokens are only as
	// durable as Consul's state (see TestLockTokenSurvivesConsulRestart).
	t.Logf("token before the outage %d, after the -dev restart %d", first.Token(), second.lease.Token())
}

// The lock's session has no node checks (only its TTL expires it, never a
// failed agent) and the lock-delay asked for, zero included: consul/api
// leaves a zero delay out, which Consul reads as its 15 s default.
func TestLockSessionHasNoChecksAndItsDelay(t *testing.T) {
	a := testkit.StartConsulAgent(t)
	client, err := api.NewClient(&api.Config{Address: a.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		delay time.Duration
		max   time.Duration
	}{{0, time.Millisecond}, {500 * time.Millisecond, 500 * time.Millisecond}} {
		holder := fmt.Sprintf("delay-%v", tc.delay)
		le := acquire(t, newLocker(t, a.Addr(), holder, consul.WithLockDelay(tc.delay)), holder)
		sessions, _, err := client.Session().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range sessions {
			if s.Name != holder {
				continue
			}
			found = true
			if s.LockDelay > tc.max {
				t.Errorf("WithLockDelay(%v): the session's lock-delay is %v", tc.delay, s.LockDelay)
			}
			if len(s.NodeChecks) != 0 || len(s.Checks) != 0 {
				t.Errorf("WithLockDelay(%v): the session has checks %v %v; a failed agent would free the key", tc.delay, s.NodeChecks, s.Checks)
			}
		}
		if !found {
			t.Fatalf("no session named %q among %d", holder, len(sessions))
		}
		if err := le.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// The default Locker's stop budget (TTL/2 + lock-delay) holds a worker's
// default shutdown limit, with room for its kill.
func TestLockStopBudget(t *testing.T) {
	l, err := consul.NewLocker()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.StopBudget(), consul.DefaultLockTTL/2+consul.DefaultLockDelay; got != want || got != 7*time.Second {
		t.Fatalf("StopBudget %v, want %v (7s)", got, want)
	}
	if d := 5 * time.Second; l.StopBudget()-d < time.Second { // supervision.DefaultWorkerShutdown
		t.Fatalf("StopBudget %v leaves under 1 s past a worker's default shutdown %v", l.StopBudget(), d)
	}
	l, err = consul.NewLocker(consul.WithLockTTL(4*time.Second), consul.WithLockDelay(0))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.StopBudget(); got != 2*time.Second {
		t.Fatalf("StopBudget with TTL 4s and no lock-delay %v, want 2s", got)
	}
}

// TestLockFrozenAgent freezes the Consul agent (SIGSTOP: its connections
// stay open and nothing answers) under a holder and a waiter. The
// holder's lease is lost within its renew deadline; the waiter's blocking
// query times out, so it reports Consul unreachable and keeps trying
// instead of hanging on it (it hung until the agent went on); Release
// returns within its context. Once the agent goes on (SIGCONT), the
// waiter takes the key with a larger token.
func TestLockFrozenAgent(t *testing.T) {
	a := testkit.StartConsulAgent(t)
	var logs testkit.LogBuffer
	la := newLocker(t, a.Addr(), "a")
	lb := newLocker(t, a.Addr(), "b", consul.WithLockLogger(zerolog.New(&logs).Level(zerolog.WarnLevel)))
	first := acquire(t, la, "frozen")
	waiting, _ := acquireAsync(t, lb, "frozen")
	pid := a.PID()
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	frozen := time.Now()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("the holder kept its lease with the agent frozen")
	}
	if lostAfter := time.Since(frozen); lostAfter >= testTTL {
		t.Errorf("lease given up %v after the freeze; the session may expire %v after its last renewal", lostAfter, testTTL)
	} else {
		t.Logf("lease given up %v after the freeze (deadline %v)", lostAfter, testTTL/2)
	}
	// The waiter's query (wait time 1 s) is cut at its timeout.
	testkit.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(logs.String(), "consul unreachable: cannot acquire the lock") {
			return fmt.Errorf("the waiter has not reported consul unreachable; log: %q", logs.String())
		}
		return nil
	})
	t.Logf("waiter reported consul unreachable %v after the freeze", time.Since(frozen))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	released := time.Now()
	err := first.Release(ctx)
	cancel()
	if took := time.Since(released); took > 10*time.Second {
		t.Errorf("Release with the agent frozen took %v (context of 1 s)", took)
	}
	if err == nil {
		t.Error("Release with the agent frozen returned no error")
	}
	select {
	case r := <-waiting:
		t.Fatalf("acquired with the agent frozen: %+v", r)
	default:
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	second := wait(t, waiting, 60*time.Second)
	if second.lease.Token() <= first.Token() {
		t.Fatalf("token went from %d to %d", first.Token(), second.lease.Token())
	}
	t.Logf("taken over %v after the freeze began (token %d -> %d)", second.at.Sub(frozen), first.Token(), second.lease.Token())
}

package singleton_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// TestLockModeNetsplit cuts the holder off Consul with a silent network
// cut (its requests hang, nothing is refused): it stops its child within
// the renew deadline, the other holder takes over only after Consul has
// expired the session, and the ledger never shows two instances. After
// the cut heals, the first holder waits: the lock is the other's.
func TestLockModeNetsplit(t *testing.T) {
	agent := testkit.StartConsulAgent(t)
	proxy := testkit.NewProxy(t, agent.Addr())
	led := &ledger{}
	a := startHolder(t, proxy.Addr(), "a", "split", led)
	a.next(t, 10*time.Second, singleton.Waiting)
	acq := a.next(t, 60*time.Second, singleton.Acquired)
	b := startHolder(t, agent.Addr(), "b", "split", led)
	b.next(t, 10*time.Second, singleton.Waiting)

	cut := time.Now()
	proxy.Cut(testkit.Blackhole)
	lost := a.next(t, 30*time.Second, singleton.Lost)
	if !errors.Is(lost.Err, cluster.ErrLeaseLost) {
		t.Errorf("lost with %v, want ErrLeaseLost", lost.Err)
	}
	a.next(t, 10*time.Second, singleton.Waiting)
	tk := b.next(t, 60*time.Second, singleton.Takeover)
	es := led.snapshot()
	if err := checkLedger(es); err != nil {
		t.Fatal(err)
	}
	stopAt, startAt := es[1].at, es[2].at
	t.Logf("cut: a's child stopped after %v, b's started after %v (token %d -> %d)",
		stopAt.Sub(cut), startAt.Sub(cut), acq.Token, tk.Token)
	if stopAt.Sub(cut) >= testTTL { // as in TestLockModeConsulDown
		t.Errorf("a stopped its child %v after the cut; its session may expire %v after its last renewal", stopAt.Sub(cut), testTTL)
	}
	if tk.Token <= acq.Token || tk.Previous != "a" {
		t.Fatalf("takeover %+v after holding %+v", tk, acq)
	}

	proxy.Heal()
	// b goes on holding; a, reachable again, waits for the key: when b
	// stops, a takes over.
	if r := running(led.snapshot()); !slices.Equal(r, []string{"b"}) {
		t.Fatalf("running %v after the heal, want [b]", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := supervision.Stop(ctx, b.node, b.sup); err != nil {
		t.Fatal(err)
	}
	back := a.next(t, 60*time.Second, singleton.Takeover)
	if back.Token <= tk.Token || back.Previous != "b" {
		t.Fatalf("takeover back %+v after %+v", back, tk)
	}
	if err := checkLedger(led.snapshot()); err != nil {
		t.Fatal(err)
	}
}

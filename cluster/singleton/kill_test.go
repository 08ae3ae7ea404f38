package singleton_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// takeoverBound is the worst case for a holder that dies without
// releasing: Consul expires its session at most 2×TTL after the last
// renewal, the key is then refused for the lock-delay, the waiter retries
// every 200 ms; plus slack for a loaded machine.
const takeoverBound = 2*testTTL + testDelay + 200*time.Millisecond + 5*time.Second

// TestLockModeKilledHolder kills (-9) the process that runs the child:
// the other process starts it once Consul has expired the dead one's
// session, with a larger token, and never before the TTL.
func TestLockModeKilledHolder(t *testing.T) {
	agent := testkit.StartConsulAgent(t)
	var seen []line
	p1 := startProc(t, agent.Addr(), "p1", "killed")
	first := p1.await(t, "start", 60*time.Second, &seen)
	p2 := startProc(t, agent.Addr(), "p2", "killed")
	// p1 works under its lease: its child is alive and checked the lock.
	p1.await(t, "work", 30*time.Second, &seen)

	killed := time.Now()
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p1.done
	second := p2.await(t, "start", 60*time.Second, &seen)
	took := time.Since(killed)
	t.Logf("takeover after kill -9: %v (token %d -> %d; TTL %v, lock-delay %v)", took, first.token, second.token, testTTL, testDelay)
	if second.token <= first.token {
		t.Fatalf("token went from %d to %d", first.token, second.token)
	}
	if took < testTTL {
		t.Errorf("taken over %v after the kill, before the session TTL %v", took, testTTL)
	}
	if took > takeoverBound {
		t.Errorf("taken over %v after the kill, over the bound %v", took, takeoverBound)
	}
}

// TestLockModeFrozenHolder stops (SIGSTOP) the process that runs the child
// until the other has taken over, then lets it go on (SIGCONT): the
// resumed child does no work under its old lock (FencingToken refuses at
// once, by the clock) and is stopped with Shutdown.
func TestLockModeFrozenHolder(t *testing.T) {
	agent := testkit.StartConsulAgent(t)
	var seen []line
	p1 := startProc(t, agent.Addr(), "p1", "frozen")
	first := p1.await(t, "start", 60*time.Second, &seen)
	p2 := startProc(t, agent.Addr(), "p2", "frozen")
	p1.await(t, "work", 30*time.Second, &seen)

	frozen := time.Now()
	if err := p1.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	second := p2.await(t, "start", 60*time.Second, &seen)
	t.Logf("takeover from a frozen holder: %v (token %d -> %d)", time.Since(frozen), first.token, second.token)
	if second.token <= first.token {
		t.Fatalf("token went from %d to %d", first.token, second.token)
	}
	resumed := time.Now()
	if err := p1.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stop := p1.await(t, "stop", 30*time.Second, &seen)
	p1.drain(&seen)
	t.Logf("resumed holder stopped its child %v after SIGCONT", stop.at.Sub(resumed))
	if stop.at.Before(resumed) {
		t.Fatalf("p1 stopped its child at %v, before it was resumed at %v", stop.at, resumed)
	}
	// A work line is stamped before its FencingToken check: any stamped
	// after the resume passed the check after the resume, which must
	// refuse.
	for _, l := range seen {
		if l.holder == "p1" && l.kind == "work" && !l.at.Before(resumed) {
			t.Errorf("p1 worked at %v under token %d after its resume at %v", l.at, l.token, resumed)
		}
	}
	// The other holder goes on working; p1 does not start again while it
	// holds the lock.
	p2.await(t, "work", 30*time.Second, &seen)
	p1.drain(&seen)
	for _, l := range seen {
		if l.holder == "p1" && l.kind == "start" && l.token != first.token {
			t.Errorf("p1 started again under token %d while p2 holds %d", l.token, second.token)
		}
	}
}

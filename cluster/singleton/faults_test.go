package singleton_test

import (
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// collector gathers the lines of several holder processes.
type collector struct {
	mu    sync.Mutex
	lines []line
}

func (c *collector) follow(p *proc) {
	go func() {
		for {
			select {
			case l := <-p.lines:
				c.mu.Lock()
				c.lines = append(c.lines, l)
				c.mu.Unlock()
			case <-p.done:
				// Lines read before the end are still queued.
				for {
					select {
					case l := <-p.lines:
						c.mu.Lock()
						c.lines = append(c.lines, l)
						c.mu.Unlock()
					default:
						return
					}
				}
			}
		}
	}()
}

func (c *collector) snapshot() []line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// starts returns the start lines seen so far.
func starts(ls []line) []line {
	var out []line
	for _, l := range ls {
		if l.kind == "start" {
			out = append(out, l)
		}
	}
	return out
}

// awaitStart waits for a start line with a token above after.
func (c *collector) awaitStart(t *testing.T, after uint64, within time.Duration) line {
	t.Helper()
	var got line
	testkit.Eventually(t, within, func() error {
		for _, l := range starts(c.snapshot()) {
			if l.token > after {
				got = l
				return nil
			}
		}
		return fmt.Errorf("no start with a token above %d", after)
	})
	return got
}

// checkFenced is what an outside store that compares tokens sees: in the
// order the children stamped them, the tokens of their work never go
// back, and each start has a token above every token before it.
func checkFenced(ls []line) error {
	ordered := slices.Clone(ls)
	slices.SortStableFunc(ordered, func(a, b line) int { return a.at.Compare(b.at) })
	var max uint64
	for _, l := range ordered {
		switch l.kind {
		case "work":
			if l.token < max {
				return fmt.Errorf("%s worked at %v under token %d after token %d was used", l.holder, l.at, l.token, max)
			}
		case "start":
			if l.token <= max {
				return fmt.Errorf("%s started at %v with token %d after token %d was used", l.holder, l.at, l.token, max)
			}
		}
		if l.kind != "stop" {
			max = l.token
		}
	}
	return nil
}

// TestLockModeLedgerAcrossFaults runs three holder processes through a
// kill -9 of the holder, a SIGSTOP of the holder (resumed after the
// takeover) and a stop and restart of Consul, and checks the ledger of
// every instance: each takeover has a larger token and no instance ever
// works under a token older than one already used.
func TestLockModeLedgerAcrossFaults(t *testing.T) {
	agent := testkit.StartPersistentConsulAgent(t)
	col := &collector{}
	procs := map[string]*proc{}
	start := func(name string) {
		p := startProc(t, agent.Addr(), name, "faults")
		procs[name] = p
		col.follow(p)
	}
	for _, n := range []string{"p1", "p2", "p3"} {
		start(n)
	}
	cur := col.awaitStart(t, 0, 60*time.Second)

	// kill -9 of the holder; it comes back as a new process.
	killed := time.Now()
	_ = procs[cur.holder].cmd.Process.Signal(syscall.SIGKILL)
	<-procs[cur.holder].done
	next := col.awaitStart(t, cur.token, 60*time.Second)
	t.Logf("kill -9 of %s: %s took over after %v", cur.holder, next.holder, next.at.Sub(killed))
	start(cur.holder + "r")
	cur = next

	// SIGSTOP of the holder until another takes over.
	frozen := procs[cur.holder]
	stopped := time.Now()
	_ = frozen.cmd.Process.Signal(syscall.SIGSTOP)
	next = col.awaitStart(t, cur.token, 60*time.Second)
	t.Logf("SIGSTOP of %s: %s took over after %v", cur.holder, next.holder, next.at.Sub(stopped))
	_ = frozen.cmd.Process.Signal(syscall.SIGCONT)
	cur = next

	// Consul stopped and started again.
	agent.Stop()
	agent.Start()
	next = col.awaitStart(t, cur.token, 60*time.Second)
	t.Logf("consul restart: %s runs with token %d (was %d)", next.holder, next.token, cur.token)

	if err := checkFenced(col.snapshot()); err != nil {
		t.Fatal(err)
	}
}

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

// instance is one run of a singleton child, as its lines tell it.
type instance struct {
	holder string
	token  uint64
	start  time.Time
	active time.Time // its last start or work line: the last time it acted
	stop   time.Time // zero if it wrote no stop line
}

func instanceKey(holder string, token uint64) string { return fmt.Sprintf("%s/%d", holder, token) }

// instances groups lines by instance, in the order they started.
func instances(ls []line) []*instance {
	byKey := map[string]*instance{}
	var out []*instance
	for _, l := range ls {
		k := instanceKey(l.holder, l.token)
		in := byKey[k]
		if in == nil {
			in = &instance{holder: l.holder, token: l.token}
			byKey[k] = in
			out = append(out, in)
		}
		switch l.kind {
		case "start":
			in.start, in.active = l.at, l.at
		case "work":
			if l.at.After(in.active) {
				in.active = l.at
			}
		case "stop":
			in.stop = l.at
		}
	}
	slices.SortFunc(out, func(a, b *instance) int { return a.start.Compare(b.start) })
	return out
}

// checkIntervals is the ledger's check: in the order the instances
// started, tokens strictly increase, and no two instances overlap. An
// instance ends at its stop line; one killed (-9) writes none and ends
// at the latest when its process died (killed); one whose process was
// frozen (frozen, by instanceKey) writes its stop line after its resume, which may come
// after the next start: it ends then at its last action, and must not
// have acted after the next start (the freeze is the only overlap
// allowed, and the process does nothing in it). It returns how many
// frozen overlaps it saw.
func checkIntervals(ls []line, killed map[string]time.Time, frozen map[string]bool) (int, error) {
	ins := instances(ls)
	overlaps := 0
	for i, in := range ins {
		if in.start.IsZero() {
			return 0, fmt.Errorf("%s worked under token %d without a start line", in.holder, in.token)
		}
		if i+1 == len(ins) {
			break
		}
		next := ins[i+1]
		if next.token <= in.token {
			return 0, fmt.Errorf("%s started at %v with token %d after %s's token %d", next.holder, next.start, next.token, in.holder, in.token)
		}
		if !in.active.Before(next.start) {
			return 0, fmt.Errorf("%s (token %d) acted at %v, not before %s started (token %d) at %v",
				in.holder, in.token, in.active, next.holder, next.token, next.start)
		}
		switch end, dead := killed[in.holder]; {
		case !in.stop.IsZero() && in.stop.Before(next.start):
		case !in.stop.IsZero() && frozen[instanceKey(in.holder, in.token)]:
			overlaps++
		case in.stop.IsZero() && dead && end.Before(next.start):
		default:
			return 0, fmt.Errorf("%s (token %d) ran from %v to %v (stop line %v), %s started (token %d) at %v",
				in.holder, in.token, in.start, in.active, in.stop, next.holder, next.token, next.start)
		}
	}
	return overlaps, nil
}

// TestLockModeLedgerAcrossFaults runs three holder processes, each
// reaching Consul through its own proxy, through a kill -9 of the holder,
// a SIGSTOP of the holder (resumed after the takeover), a netsplit of the
// holder from Consul and a stop and restart of Consul, and checks the
// ledger every instance writes (start, work, stop, with its token):
// tokens strictly increase, instances never overlap, and no instance ever
// works under a token older than one already used.
func TestLockModeLedgerAcrossFaults(t *testing.T) {
	agent := testkit.StartPersistentConsulAgent(t)
	col := &collector{}
	procs := map[string]*proc{}
	proxies := map[string]*testkit.Proxy{}
	killed := map[string]time.Time{}
	frozen := map[string]bool{}
	start := func(name string) {
		px := testkit.NewProxy(t, agent.Addr())
		p := startProc(t, px.Addr(), name, "faults")
		procs[name], proxies[name] = p, px
		col.follow(p)
	}
	for _, n := range []string{"p1", "p2", "p3"} {
		start(n)
	}
	cur := col.awaitStart(t, 0, 60*time.Second)

	// kill -9 of the holder; it comes back as a new process.
	_ = procs[cur.holder].cmd.Process.Signal(syscall.SIGKILL)
	<-procs[cur.holder].done
	killed[cur.holder] = time.Now() // after its death: its lines are all before
	next := col.awaitStart(t, cur.token, 60*time.Second)
	t.Logf("kill -9 of %s: %s took over after %v", cur.holder, next.holder, next.at.Sub(killed[cur.holder]))
	if d := next.at.Sub(killed[cur.holder]); d > takeoverBound {
		t.Errorf("takeover %v after the kill, over the bound %v", d, takeoverBound)
	}
	start(cur.holder + "r")
	cur = next

	// SIGSTOP of the holder until another takes over.
	stopped := time.Now()
	frozen[instanceKey(cur.holder, cur.token)] = true
	_ = procs[cur.holder].cmd.Process.Signal(syscall.SIGSTOP)
	next = col.awaitStart(t, cur.token, 60*time.Second)
	t.Logf("SIGSTOP of %s: %s took over after %v", cur.holder, next.holder, next.at.Sub(stopped))
	if d := next.at.Sub(stopped); d > takeoverBound { // a frozen holder is a dead one to Consul
		t.Errorf("takeover %v after the freeze, over the bound %v", d, takeoverBound)
	}
	_ = procs[cur.holder].cmd.Process.Signal(syscall.SIGCONT)
	cur = next

	// A silent netsplit between the holder and Consul.
	cut := time.Now()
	proxies[cur.holder].Cut(testkit.Blackhole)
	next = col.awaitStart(t, cur.token, 60*time.Second)
	t.Logf("netsplit of %s: %s took over after %v", cur.holder, next.holder, next.at.Sub(cut))
	if d := next.at.Sub(cut); d > takeoverBound {
		t.Errorf("takeover %v after the cut, over the bound %v", d, takeoverBound)
	}
	proxies[cur.holder].Heal()
	cur = next

	// Consul stopped and started again.
	agent.Stop()
	agent.Start()
	next = col.awaitStart(t, cur.token, 60*time.Second)
	t.Logf("consul restart: %s runs with token %d (was %d)", next.holder, next.token, cur.token)

	// The frozen holder has written its stop line since its resume.
	testkit.Eventually(t, 30*time.Second, func() error {
		for _, in := range instances(col.snapshot()) {
			if frozen[instanceKey(in.holder, in.token)] && in.stop.IsZero() {
				return fmt.Errorf("%s (token %d) has not stopped since its resume", in.holder, in.token)
			}
		}
		return nil
	})
	ls := col.snapshot()
	if err := checkFenced(ls); err != nil {
		t.Fatal(err)
	}
	overlaps, err := checkIntervals(ls, killed, frozen)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lock ledger: %d instances, tokens strictly increasing, no overlap (%d frozen holder idle past the takeover)",
		len(instances(ls)), overlaps)
}

// checkIntervals catches what it is for.
func TestCheckIntervals(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(1000+int64(s), 0) }
	l := func(h, kind string, tok uint64, s int) line {
		return line{holder: h, kind: kind, token: tok, at: at(s)}
	}
	ok := []line{l("a", "start", 1, 0), l("a", "work", 1, 1), l("a", "stop", 1, 2), l("b", "start", 5, 3), l("b", "work", 5, 4)}
	for _, c := range []struct {
		name   string
		ls     []line
		killed map[string]time.Time
		frozen map[string]bool
		bad    bool
	}{
		{"clean handover", ok, nil, nil, false},
		{"stop after the next start", []line{l("a", "start", 1, 0), l("b", "start", 5, 3), l("a", "stop", 1, 4)}, nil, nil, true},
		{"work after the next start", []line{l("a", "start", 1, 0), l("b", "start", 5, 3), l("a", "work", 1, 4)}, nil, nil, true},
		{"token back", []line{l("a", "start", 5, 0), l("a", "stop", 5, 1), l("b", "start", 5, 3)}, nil, nil, true},
		{"killed before", []line{l("a", "start", 1, 0), l("b", "start", 5, 3)}, map[string]time.Time{"a": at(2)}, nil, false},
		{"no stop, not killed", []line{l("a", "start", 1, 0), l("b", "start", 5, 3)}, nil, nil, true},
		{"frozen, idle", []line{l("a", "start", 1, 0), l("a", "work", 1, 1), l("b", "start", 5, 3), l("a", "stop", 1, 4)},
			nil, map[string]bool{instanceKey("a", 1): true}, false},
		{"frozen, but worked", []line{l("a", "start", 1, 0), l("b", "start", 5, 3), l("a", "work", 1, 4), l("a", "stop", 1, 5)},
			nil, map[string]bool{instanceKey("a", 1): true}, true},
	} {
		_, err := checkIntervals(c.ls, c.killed, c.frozen)
		if (err != nil) != c.bad {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

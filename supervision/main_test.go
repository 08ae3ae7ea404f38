package supervision_test

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

var errBoom = errors.New("boom")

func newNode(t testing.TB) *actor.Node { return actortest.NewNode(t) }

func ctxT(t testing.TB) context.Context { return actortest.Context(t) }

// worker is a test child. It answers ping calls with "pong", ends with the
// reason of a crash message, panics on panicMsg. With trap set it traps
// exits: an Exit from its parent ends it (after noting its ID on stops)
// unless ignoreShutdown is set, in which case only a release message ends
// it.
type worker struct {
	id             string
	trap           bool
	ignoreShutdown bool
	stops          chan<- string
	ignored        chan<- struct{} // told each time a shutdown is ignored
}

type (
	crash    struct{ reason error }
	panicMsg struct{}
	release  struct{}
)

func (w *worker) Init(ctx *actor.Context) error {
	if w.trap {
		ctx.TrapExit(true)
	}
	return nil
}

func (w *worker) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case *actor.Request:
		m.Reply("pong")
	case crash:
		return m.reason
	case panicMsg:
		panic("worker panics")
	case actor.Exit:
		if w.ignoreShutdown {
			if w.ignored != nil {
				w.ignored <- struct{}{}
			}
			return nil
		}
		if w.stops != nil {
			w.stops <- w.id
		}
		return m.Reason
	case release:
		return actor.Shutdown
	}
	return nil
}

// spec returns a worker child registered under its ID.
func spec(id string, restart supervision.Restart) supervision.ChildSpec {
	return supervision.ChildSpec{
		ID:      id,
		Restart: restart,
		Start: func(ctx *actor.Context) (actor.PID, error) {
			return ctx.SpawnLink(&worker{id: id}, actor.WithName(id))
		},
	}
}

// recorded returns a worker spec whose starts and stops are noted, in
// order, on the given channels.
func recorded(id string, starts, stops chan string) supervision.ChildSpec {
	return supervision.ChildSpec{
		ID: id,
		Start: func(ctx *actor.Context) (actor.PID, error) {
			if starts != nil {
				starts <- id
			}
			return ctx.SpawnLink(&worker{id: id, trap: true, stops: stops}, actor.WithName(id))
		},
	}
}

// children returns the children of sup by ID.
func children(t testing.TB, sup actor.PID) map[string]supervision.ChildInfo {
	t.Helper()
	list, err := supervision.WhichChildren(ctxT(t), sup)
	if err != nil {
		t.Fatalf("which children: %v", err)
	}
	out := make(map[string]supervision.ChildInfo, len(list))
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

// pids returns the PIDs of sup's children by ID.
func pids(t testing.TB, sup actor.PID) map[string]actor.PID {
	t.Helper()
	out := map[string]actor.PID{}
	for id, c := range children(t, sup) {
		out[id] = c.PID
	}
	return out
}

// drain reads count strings from ch.
func drain(t testing.TB, ch <-chan string, count int) []string {
	t.Helper()
	out := make([]string, 0, count)
	ctx := ctxT(t)
	for len(out) < count {
		select {
		case s := <-ch:
			out = append(out, s)
		case <-ctx.Done():
			t.Fatalf("got %v, want %d entries", out, count)
		}
	}
	return out
}

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	added  chan struct{}
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	pending bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_000_000, 0), added: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) supervision.Stopper {
	c.mu.Lock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f, pending: true}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	select {
	case c.added <- struct{}{}:
	default:
	}
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.pending
	t.pending = false
	return was
}

// Advance moves the clock and runs the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case !t.pending:
		case !t.at.After(c.now):
			t.pending = false
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// waitTimer waits until a timer is pending.
func (c *fakeClock) waitTimer(t testing.TB) {
	t.Helper()
	ctx := ctxT(t)
	for {
		c.mu.Lock()
		for _, tm := range c.timers {
			if tm.pending {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		select {
		case <-c.added:
		case <-ctx.Done():
			t.Fatal("no timer was set")
		}
	}
}

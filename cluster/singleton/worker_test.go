package singleton_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/supervision"
)

// A ledger entry: a singleton child on a holder started, worked or
// stopped, with its fencing token.
type entry struct {
	holder string
	kind   string // "start", "work", "stop"
	token  uint64
	reason error
	at     time.Time
}

// ledger is what every instance writes at start and stop.
type ledger struct {
	mu      sync.Mutex
	entries []entry
}

func (l *ledger) add(e entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.at = time.Now()
	l.entries = append(l.entries, e)
}

func (l *ledger) snapshot() []entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]entry(nil), l.entries...)
}

// running returns the holders whose last start has no stop after it.
func running(es []entry) []string {
	on := map[string]bool{}
	var order []string
	for _, e := range es {
		switch e.kind {
		case "start":
			if !slices.Contains(order, e.holder) {
				order = append(order, e.holder)
			}
			on[e.holder] = true
		case "stop":
			on[e.holder] = false
		}
	}
	var out []string
	for _, h := range order {
		if on[h] {
			out = append(out, h)
		}
	}
	return out
}

// checkLedger verifies that intervals never overlap (a start comes only
// when no instance runs) and that tokens strictly increase from one start
// to the next.
func checkLedger(es []entry) error {
	var (
		runningHolder string
		last          uint64
	)
	for i, e := range es {
		switch e.kind {
		case "start":
			if runningHolder != "" {
				return fmt.Errorf("entry %d: %s started while %s runs", i, e.holder, runningHolder)
			}
			if e.token <= last {
				return fmt.Errorf("entry %d: %s started with token %d after %d", i, e.holder, e.token, last)
			}
			runningHolder, last = e.holder, e.token
		case "stop":
			if e.holder != runningHolder {
				return fmt.Errorf("entry %d: %s stopped but %q runs", i, e.holder, runningHolder)
			}
			runningHolder = ""
		}
	}
	return nil
}

// worker is a singleton child that traps exits, records its start and its
// stop (with the exit reason it was given) and the fencing token.
type worker struct {
	holder string
	record func(entry)
	token  uint64
}

func (w *worker) Init(ctx *actor.Context) error {
	ctx.TrapExit(true)
	tok, err := singleton.FencingToken(ctx)
	if err != nil {
		return fmt.Errorf("fencing token in Init: %w", err)
	}
	w.token = tok
	w.record(entry{holder: w.holder, kind: "start", token: tok})
	return nil
}

func (w *worker) Receive(ctx *actor.Context, msg any) error {
	if m, ok := msg.(actor.Exit); ok && m.From == ctx.Parent() {
		// Terminate: a Shutdown-class reason from the singleton.
		w.record(entry{holder: w.holder, kind: "stop", token: w.token, reason: m.Reason})
		return m.Reason
	}
	return nil
}

func workerSpec(id, holder string, record func(entry)) supervision.ChildSpec {
	return supervision.ChildSpec{
		ID:       id,
		Shutdown: supervision.Timeout(time.Second),
		Start: func(ctx *actor.Context) (actor.PID, error) {
			if _, err := singleton.FencingToken(ctx); err != nil {
				return actor.PID{}, fmt.Errorf("fencing token in Start: %w", err)
			}
			return ctx.SpawnLink(&worker{holder: holder, record: record})
		},
	}
}

func isShutdown(err error) bool {
	var se *actor.ShutdownError
	return errors.Is(err, actor.Shutdown) || errors.As(err, &se)
}

package registry

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// holdProbe runs holdFlush in a process (it sends its flushChanges to
// itself) and reports each answer and each flushChanges it gets back.
type holdProbe struct {
	p   *scopeProc
	out chan any
}

type holdStep struct {
	pending, mark int
	since         time.Duration // how long ago the first change was queued
}

func (h *holdProbe) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case holdStep:
		h.p.repl.pending = make([]byte, m.pending)
		h.p.repl.flushMark = m.mark
		h.p.repl.firstAt = time.Now().Add(-m.since)
		hold := h.p.holdFlush(ctx)
		if !hold {
			h.p.flush(ctx) // what Receive does
		}
		h.out <- hold
	case flushChanges:
		h.out <- m
	}
	return nil
}

// TestHoldFlushWhileWritesCome: a flush goes round the mailbox once more
// when writes behind its flushChanges made changes (a busy scope
// process), and once more after that, letting the writers run, up to
// maxHeldChanges and maxHold; not when none did (a lone write is flushed
// at once).
func TestHoldFlushWhileWritesCome(t *testing.T) {
	node := actor.NewNode(actor.WithNodeName("x@127.0.0.1:9"))
	defer func() { _ = node.Stop(context.Background()) }()
	h := &holdProbe{p: &scopeProc{repl: &repl{}}, out: make(chan any, 4)}
	pid, err := node.Spawn(h)
	if err != nil {
		t.Fatal(err)
	}
	next := func() any {
		t.Helper()
		select {
		case v := <-h.out:
			return v
		case <-time.After(10 * time.Second):
			t.Fatal("no answer from the probe")
			return nil
		}
	}
	for _, c := range []struct {
		name          string
		pending, mark int
		since         time.Duration
		hold          bool
	}{
		{"a lone write", 100, 100, 0, false},
		{"nothing pending", 0, 0, 0, false},
		{"writes behind it", 200, 100, 0, true},
		{"then none: the writers run once more", 200, 200, 0, true},
		{"and none again", 200, 200, 0, false},
		{"writes behind it again", 300, 200, 0, true},
		{"none: the writers run", 300, 300, 0, true},
		{"they wrote again after the yield", 400, 300, 0, true},
		{"none: they run once more", 400, 400, 0, true},
		{"none again after that yield", 400, 400, 0, false},
		{"held up to the bytes' bound", maxHeldChanges, 100, 0, false},
		{"a lone write after the bound", 100, 100, 0, false},
		{"writes behind it, the first queued long ago", 300, 200, maxHold, false},
	} {
		if err := node.Send(pid, holdStep{c.pending, c.mark, c.since}); err != nil {
			t.Fatal(err)
		}
		if got := next(); got != c.hold {
			t.Fatalf("%s: held %v, want %v", c.name, got, c.hold)
		}
		if c.hold {
			if _, ok := next().(flushChanges); !ok {
				t.Fatalf("%s: held without a flushChanges sent again", c.name)
			}
			if h.p.repl.flushMark != c.pending {
				t.Fatalf("%s: mark %d, want %d", c.name, h.p.repl.flushMark, c.pending)
			}
		}
	}
}

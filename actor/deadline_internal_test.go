package actor

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
)

// A Request stays in the 64-byte size class with its deadline: a Call
// allocates what it did before deadlines reached the callee.
func TestRequestSizeClass(t *testing.T) {
	if s := unsafe.Sizeof(Request{}); s > 64 {
		t.Fatalf("Request is %d bytes, over the 64-byte size class", s)
	}
}

// A call view stays in the 64-byte size class with AfterFunc's functions:
// a call with a deadline allocates what it did (ADR 0010, second
// amendment).
func TestCallViewSizeClass(t *testing.T) {
	if s := unsafe.Sizeof(callView{}); s > 64 {
		t.Fatalf("callView is %d bytes, over the 64-byte size class", s)
	}
}

// A call made from a handler with its view as ctx waits for the deadline
// on the call's pooled timer: the view's Done (a channel and a timer kept
// until the deadline) is not made for it.
func TestNestedCallArmsNoViewTimer(t *testing.T) {
	n := NewNode(WithLogger(zerolog.Nop()))
	defer func() { _ = n.Stop(context.Background()) }()
	echo, _ := n.Spawn(ReceiverFunc(func(_ *Context, msg any) error {
		if r, ok := msg.(*Request); ok {
			r.Reply(r.Message())
		}
		return nil
	}))
	p, _ := n.Spawn(ReceiverFunc(func(ctx *Context, msg any) error {
		r, ok := msg.(*Request)
		if !ok {
			return nil
		}
		if ctx.call == nil {
			r.Reply("no view")
			return nil
		}
		if _, err := Call(ctx, echo, "hi"); err != nil {
			r.Reply(err)
			return nil
		}
		ctx.call.mu.Lock()
		defer ctx.call.mu.Unlock()
		r.Reply(ctx.call.done == nil)
		return nil
	}))
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := n.Call(cctx, p, "go")
	if err != nil {
		t.Fatal(err)
	}
	if v != true {
		t.Fatalf("the handler's nested call: %v, want no Done made", v)
	}
}

// The process record stays within 384 bytes (six cache lines, its size
// class) with the Context it holds for itself, and its read-mostly fields
// (own, which every access through a Context loads, node, self, recv)
// keep the first cache line, apart from the mailbox senders write (a
// layout that put casts' second word on the mailbox's line measured
// casts 1.3-2x slower, in noisy rounds).
func TestProcessRecordLayout(t *testing.T) {
	var p process
	if s := unsafe.Sizeof(p); s > 384 {
		t.Fatalf("process is %d bytes, over 384", s)
	}
	if end := unsafe.Offsetof(p.started) + unsafe.Sizeof(p.started); end > 64 || unsafe.Offsetof(p.dead) < 64 {
		t.Fatalf("the read-mostly fields end at %d, the mailbox starts at %d: want both at 64", end, unsafe.Offsetof(p.dead))
	}
}

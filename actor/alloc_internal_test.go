package actor

import (
	"context"
	"errors"
	"testing"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
)

// A spawn without options allocates the process record and nothing else:
// its config stays on the stack (spawnConfigOf), where taking its address
// for the options moved it to the heap, one more allocation per spawn.
func TestSpawnAllocatesTheRecordOnly(t *testing.T) {
	n := NewNode(WithLogger(zerolog.Nop()))
	defer func() { _ = n.Stop(context.Background()) }()
	idle := ReceiverFunc(func(*Context, any) error { return nil })
	// The process table grows now and then: over 1000 spawns its growth
	// is well under one allocation each.
	if allocs := testing.AllocsPerRun(1000, func() {
		if _, err := n.Spawn(idle); err != nil {
			t.Fatal(err)
		}
	}); allocs > 1 {
		t.Fatalf("a spawn allocates %v times, want 1 (the process record)", allocs)
	}
}

// A local call with a deadline allocates its request and the view the
// callee handles it with as one object (viewedRequest), in the 128-byte
// size class: one allocation, where the view was a second.
func TestCallWithDeadlineAllocatesOnce(t *testing.T) {
	if s := unsafe.Sizeof(viewedRequest{}); s > 128 {
		t.Fatalf("viewedRequest is %d bytes, over the 128-byte size class", s)
	}
	n := NewNode(WithLogger(zerolog.Nop()))
	defer func() { _ = n.Stop(context.Background()) }()
	pid, err := n.Spawn(ReceiverFunc(func(ctx *Context, msg any) error {
		if r, ok := msg.(*Request); ok {
			if _, ok := ctx.Deadline(); !ok {
				r.Reply(errNoView) // counted as the test's failure below
				return nil
			}
			r.Reply(nil)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var msg any = 1
	call := func() {
		if v, err := n.Call(ctx, pid, msg); err != nil || v != nil {
			t.Fatalf("call: %v, %v", v, err)
		}
	}
	call()
	// Under -race a sync.Pool drops a quarter of what it is given: the
	// call's pooled waiter (and its channel) is made again now and then,
	// half an allocation per call on average.
	if allocs := testing.AllocsPerRun(1000, call); allocs > 1 {
		t.Fatalf("a call with a deadline allocates %v times, want 1 (the request and its view)", allocs)
	}
}

var errNoView = errors.New("handled without the caller's deadline")

// A request handed on to another process is handled there with a view of
// that process (its own Self, the same deadline), not with the view made
// with the request for the first.
func TestForwardedRequestGetsAViewOfItsHandler(t *testing.T) {
	n := NewNode(WithLogger(zerolog.Nop()))
	defer func() { _ = n.Stop(context.Background()) }()
	type seen struct {
		self     PID
		deadline time.Time
	}
	views := make(chan seen, 2)
	second, err := n.Spawn(ReceiverFunc(func(ctx *Context, msg any) error {
		if r, ok := msg.(*Request); ok {
			d, _ := ctx.Deadline()
			views <- seen{ctx.Self(), d}
			r.Reply("second")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	first, err := n.Spawn(ReceiverFunc(func(ctx *Context, msg any) error {
		if r, ok := msg.(*Request); ok {
			d, _ := ctx.Deadline()
			views <- seen{ctx.Self(), d}
			return ctx.Send(second, r)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if v, err := n.Call(ctx, first, "hi"); err != nil || v != "second" {
		t.Fatalf("call: %v, %v", v, err)
	}
	for _, want := range []PID{first, second} {
		if got := <-views; got.self != want || !got.deadline.Equal(deadline) {
			t.Fatalf("handled by %v with deadline %v, want %v with %v", got.self, got.deadline, want, deadline)
		}
	}
}

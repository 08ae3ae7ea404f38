package actor_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// seen is what a handler saw of its ctx's deadline.
type seen struct {
	deadline time.Time
	ok       bool
}

// deadlineRelay answers a request with the deadline its ctx reports, or,
// when next is set, with what next saw when called with that ctx.
type deadlineRelay struct{ next actor.PID }

func (d deadlineRelay) Receive(ctx *actor.Context, msg any) error {
	req, ok := msg.(*actor.Request)
	if !ok {
		return nil
	}
	if !d.next.IsZero() {
		v, err := actor.Call(ctx, d.next, "deadline")
		if err != nil {
			return err
		}
		req.Reply(v)
		return nil
	}
	dl, ok := ctx.CallDeadline()
	req.Reply(seen{dl, ok})
	return nil
}

// A caller's deadline is the handler's ctx.CallDeadline(), also one call
// further down a chain; a caller without one leaves the handler without.
func TestCallDeadlineReachesHandler(t *testing.T) {
	n := newNode(t)
	last, _ := n.Spawn(deadlineRelay{})
	first, _ := n.Spawn(deadlineRelay{next: last})
	want := time.Now().Add(time.Hour).Round(time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), want)
	defer cancel()
	for _, to := range []actor.PID{last, first} {
		v, err := n.Call(ctx, to, "deadline")
		if err != nil {
			t.Fatal(err)
		}
		if s := v.(seen); !s.ok || !s.deadline.Equal(want) {
			t.Fatalf("handler saw deadline %v (%v), want %v", s.deadline, s.ok, want)
		}
	}
	v, err := n.Call(context.Background(), first, "deadline")
	if err != nil {
		t.Fatal(err)
	}
	if s := v.(seen); s.ok {
		t.Fatalf("a call without a deadline gave the handler %v", s.deadline)
	}
}

// The process's context.Context never expires, whatever the call being
// handled: a context derived from it in a handler may ask its Done and Err
// from another goroutine, after the handling, and must get the same
// answers (before, Done followed the current request, and a derived
// context's goroutine read it while the process handled the next call:
// a data race). CallDeadline may be read from any goroutine.
func TestHandlerContextStaysConstant(t *testing.T) {
	n := newNode(t)
	p, _ := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
		req, ok := msg.(*actor.Request)
		if !ok {
			return nil
		}
		d, _ := ctx.CallDeadline()
		wctx, cancel := context.WithTimeout(ctx, time.Hour)
		go func() {
			<-wctx.Done()
			_, _ = ctx.CallDeadline()
		}()
		defer cancel()
		_, has := ctx.Deadline()
		req.Reply([3]any{d, has, ctx.Done() == nil && ctx.Err() == nil})
		return nil
	}))
	for i := range 200 {
		want := time.Now().Add(time.Duration(i+1) * time.Minute).Round(time.Millisecond)
		cctx, cancel := context.WithDeadline(context.Background(), want)
		v, err := n.Call(cctx, p, "work")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		got := v.([3]any)
		if d := got[0].(time.Time); !d.Equal(want) {
			t.Fatalf("call %d: CallDeadline %v, want %v", i, d, want)
		}
		if got[1].(bool) || !got[2].(bool) {
			t.Fatalf("call %d: the process's ctx has a deadline %v, or Done/Err set: %v", i, got[1], got[2])
		}
	}
}

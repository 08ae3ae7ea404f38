package actor_test

import (
	"context"
	"errors"
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
	dl, ok := ctx.Deadline()
	req.Reply(seen{dl, ok})
	return nil
}

// A caller's deadline is the handler's ctx.Deadline(), also one call
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

// The handler's ctx ends at the caller's deadline: Done is closed and Err
// is context.DeadlineExceeded, while a message handled later has neither.
func TestCallDeadlineDoneInHandler(t *testing.T) {
	n := newNode(t)
	sink := newInbox(t, n)
	p, _ := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
		if _, ok := msg.(*actor.Request); ok {
			<-ctx.Done()
			return ctx.Send(sink.PID(), ctx.Err())
		}
		return ctx.Send(sink.PID(), [2]any{ctx.Done(), ctx.Err()})
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := n.Call(ctx, p, "wait"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call: %v, want the deadline", err)
	}
	if err, _ := recv(t, sink).(error); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the handler's Err after Done is %v", err)
	}
	if err := n.Send(p, "after"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, sink).([2]any); got[0] != (<-chan struct{})(nil) || got[1] != nil {
		t.Fatalf("a plain message saw Done %v, Err %v", got[0], got[1])
	}
}

package actor_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// viewOf returns the *actor.Context a call with deadline d is handled with
// (its view of the process), which stays valid after the call.
func viewOf(t testing.TB, n *actor.Node, d time.Time) *actor.Context {
	t.Helper()
	p, err := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(ctx)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithDeadline(context.Background(), d)
	defer cancel()
	v, err := n.Call(cctx, p, "ctx")
	if err != nil {
		t.Fatal(err)
	}
	return v.(*actor.Context)
}

// BenchmarkDeriveFromView is what a handler pays to derive a context from
// its ctx (a view, for a call with a deadline) and cancel it.
func BenchmarkDeriveFromView(b *testing.B) {
	n := newNode(b)
	view := viewOf(b, n, time.Now().Add(time.Hour))
	b.Run("WithCancel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, cancel := context.WithCancel(view)
			cancel()
		}
	})
	b.Run("WithTimeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, cancel := context.WithTimeout(view, time.Minute)
			cancel()
		}
	})
}

// Contexts derived from a handler's view start no goroutine each: the view
// has an AfterFunc method, which the context package uses to hear of the
// view's end instead of a goroutine waiting on its Done. Cancellation
// still reaches them: each ends at the view's deadline, with its Err, or
// earlier by its own cancel.
func TestDerivedContextsStartNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := actor.NewNode()
		defer func() { _ = n.Stop(context.Background()) }()
		d := time.Now().Add(time.Hour)
		view := viewOf(t, n, d)
		const derived = 1000
		ctxs := make([]context.Context, 0, derived)
		cancels := make([]context.CancelFunc, 0, derived)
		before := runtime.NumGoroutine()
		for i := range derived {
			var (
				c      context.Context
				cancel context.CancelFunc
			)
			switch i % 3 {
			case 0:
				c, cancel = context.WithCancel(view)
			case 1:
				c, cancel = context.WithTimeout(view, 2*time.Hour) // the view's deadline is sooner
			default:
				c, cancel = context.WithCancel(context.WithoutCancel(view))
			}
			ctxs, cancels = append(ctxs, c), append(cancels, cancel)
		}
		if grown := runtime.NumGoroutine() - before; grown > derived/10 {
			t.Fatalf("deriving %d contexts from a view started %d goroutines", derived, grown)
		}
		for _, cancel := range cancels[:10] {
			cancel()
		}
		<-view.Done()
		if now := time.Now(); !now.Equal(d) {
			t.Fatalf("the view ended at %v, want its deadline %v", now, d)
		}
		for i, c := range ctxs {
			if i%3 == 2 { // WithoutCancel: the view's end does not reach it
				if i >= 10 && c.Err() != nil {
					t.Fatalf("context %d, derived without cancel, ended: %v", i, c.Err())
				}
				continue
			}
			<-c.Done()
			want := context.DeadlineExceeded
			if i < 10 {
				want = context.Canceled
			}
			if !errors.Is(c.Err(), want) {
				t.Fatalf("context %d ended with %v, want %v", i, c.Err(), want)
			}
		}
		if now := time.Now(); !now.Equal(d) {
			t.Fatalf("the derived contexts ended at %v, want the deadline %v", now, d)
		}
		for _, cancel := range cancels {
			cancel()
		}
	})
}

// AfterFunc on a view runs f once the view's deadline has passed, at once
// if it has; stop keeps f from running, and reports whether it did. On the
// process's own Context, which never ends, f never runs.
func TestContextAfterFunc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := actor.NewNode()
		defer func() { _ = n.Stop(context.Background()) }()
		d := time.Now().Add(time.Minute)
		view := viewOf(t, n, d)
		ran := make(chan time.Time, 3)
		stopped := view.AfterFunc(func() { ran <- time.Now() })
		view.AfterFunc(func() { ran <- time.Now() })
		if !stopped() || stopped() {
			t.Fatal("stop before the deadline did not report true once, then false")
		}
		if at := <-ran; !at.Equal(d) {
			t.Fatalf("f ran at %v, want the deadline %v", at, d)
		}
		synctest.Wait()
		if len(ran) != 0 {
			t.Fatal("a stopped f ran")
		}
		late := view.AfterFunc(func() { ran <- time.Now() })
		if at := <-ran; !at.Equal(d) {
			t.Fatalf("f given after the deadline ran at %v, want at once (%v)", at, d)
		}
		if late() {
			t.Fatal("stop of an f that ran reported true")
		}

		// The process's own Context: f never runs.
		own := make(chan *actor.Context, 1)
		p, err := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
			own <- ctx
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Send(p, "ctx"); err != nil {
			t.Fatal(err)
		}
		ctx := <-own
		stop := ctx.AfterFunc(func() { ran <- time.Now() })
		clock, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		<-clock.Done() // fake time: an hour passes
		synctest.Wait()
		if len(ran) != 0 {
			t.Fatal("AfterFunc of the process's own Context ran f")
		}
		if !stop() || stop() {
			t.Fatal("stop on the process's own Context did not report true once, then false")
		}
	})
}

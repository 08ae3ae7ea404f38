package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// seen is what a handler saw of its ctx's deadline.
type seen struct {
	deadline time.Time
	ok       bool
	// call is what ctx.CallDeadline said.
	call   time.Time
	callOK bool
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
	var s seen
	s.deadline, s.ok = ctx.Deadline()
	s.call, s.callOK = ctx.CallDeadline()
	req.Reply(s)
	return nil
}

// A caller's deadline is the handler's ctx.Deadline() (and
// ctx.CallDeadline()), also one call further down a chain; a caller
// without one leaves the handler without.
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
		if s := v.(seen); !s.ok || !s.deadline.Equal(want) || !s.callOK || !s.call.Equal(want) {
			t.Fatalf("handler saw deadline %v (%v), CallDeadline %v (%v), want %v", s.deadline, s.ok, s.call, s.callOK, want)
		}
	}
	v, err := n.Call(context.Background(), first, "deadline")
	if err != nil {
		t.Fatal(err)
	}
	if s := v.(seen); s.ok || s.callOK {
		t.Fatalf("a call without a deadline gave the handler %v / %v", s.deadline, s.call)
	}
}

// kept is what a goroutine started by a handler saw of the handler's ctx
// (and of a context derived from it) once that context ended.
type kept struct {
	i               int
	deadline, wctxD time.Time
	ok              bool
	err, wctxErr    error
}

// A call with a deadline is handled with a view of the process that keeps
// the call's deadline for good: a handler derives context.WithTimeout from
// it and starts a goroutine that keeps both after the handler returned,
// while the process handles further calls, with and without deadlines.
// Each goroutine sees its own request's deadline, and its contexts end
// there (before, the handler's ctx was the process's, with no deadline;
// earlier still, it followed the current request: a data race under
// -race). A call without a deadline is handled with the process's own
// ctx: the one its casts get, with no deadline, Done nil and Err nil.
func TestHandlerContextKeepsItsDeadline(t *testing.T) {
	n := newNode(t)
	const calls = 100
	report := make(chan kept, calls)
	var own *actor.Context
	p, _ := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
		switch m := msg.(type) {
		case *actor.Request:
			i, withDeadline := m.Message().(int)
			if !withDeadline {
				_, has := ctx.Deadline()
				m.Reply([2]bool{ctx == own, !has && ctx.Done() == nil && ctx.Err() == nil})
				return nil
			}
			wctx, cancel := context.WithTimeout(ctx, time.Hour)
			go func() {
				defer cancel()
				<-wctx.Done()
				<-ctx.Done()
				k := kept{i: i, err: ctx.Err(), wctxErr: wctx.Err()}
				k.deadline, k.ok = ctx.Deadline()
				k.wctxD, _ = wctx.Deadline()
				if c, ok := actor.FromContext(wctx); !ok || c != ctx || c.Self() != ctx.Self() {
					k.ok = false
				}
				report <- k
			}()
			m.Reply(ctx != own)
		case string: // a plain message: the process's own ctx
			own = ctx
		}
		return nil
	}))
	if err := n.Send(p, "own"); err != nil {
		t.Fatal(err)
	}
	// Each call's deadline is distinct and soon (the goroutines end
	// there), with room for a loaded machine to answer the call first.
	start := time.Now().Round(time.Millisecond)
	want := make([]time.Time, calls)
	for i := range calls {
		want[i] = start.Add(2*time.Second + time.Duration(i)*time.Millisecond)
		cctx, cancel := context.WithDeadline(context.Background(), want[i])
		v, err := n.Call(cctx, p, i)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !v.(bool) {
			t.Fatalf("call %d with a deadline got the process's own ctx", i)
		}
		v, err = n.Call(context.Background(), p, "no deadline")
		if err != nil {
			t.Fatal(err)
		}
		if got := v.([2]bool); !got[0] || !got[1] {
			t.Fatalf("call without a deadline: the process's own ctx %v, without deadline, Done and Err %v", got[0], got[1])
		}
	}
	for range calls {
		var k kept
		select {
		case k = <-report:
		case <-time.After(time.Minute):
			t.Fatal("a handler's goroutine did not see its ctx end")
		}
		if !k.ok || !k.deadline.Equal(want[k.i]) || !k.wctxD.Equal(want[k.i]) {
			t.Fatalf("call %d: the kept ctx has deadline %v (%v), the derived one %v, want %v", k.i, k.deadline, k.ok, k.wctxD, want[k.i])
		}
		if !errors.Is(k.err, context.DeadlineExceeded) || !errors.Is(k.wctxErr, context.DeadlineExceeded) {
			t.Fatalf("call %d: ended with %v and %v, want DeadlineExceeded", k.i, k.err, k.wctxErr)
		}
	}
}

// A handler's ctx's Done closes at the call's deadline, and its Err is
// DeadlineExceeded exactly when Done is closed, also when Err is asked
// first (testing/synctest: the clock is the bubble's, so at the deadline
// means at it).
func TestHandlerContextDoneAtDeadline(t *testing.T) {
	handlerCtx := func(t *testing.T, n *actor.Node, d time.Time) *actor.Context {
		t.Helper()
		p, _ := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
			if r, ok := msg.(*actor.Request); ok {
				r.Reply(ctx)
			}
			return nil
		}))
		cctx, cancel := context.WithDeadline(context.Background(), d)
		defer cancel()
		v, err := n.Call(cctx, p, "ctx")
		if err != nil {
			t.Fatal(err)
		}
		return v.(*actor.Context)
	}
	synctest.Test(t, func(t *testing.T) {
		n := actor.NewNode()
		defer func() { _ = n.Stop(context.Background()) }()
		d := time.Now().Add(time.Hour)
		ctx := handlerCtx(t, n, d)
		done := ctx.Done()
		if done == nil || done != ctx.Done() {
			t.Fatal("the handler's ctx has no Done, or not the same one each time")
		}
		select {
		case <-done:
			t.Fatal("Done closed before the deadline")
		default:
		}
		if err := ctx.Err(); err != nil {
			t.Fatalf("Err before the deadline: %v", err)
		}
		<-done
		if now := time.Now(); !now.Equal(d) {
			t.Fatalf("Done closed at %v, want the deadline %v", now, d)
		}
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err after the deadline: %v", err)
		}

		// Err asked first, past the deadline, without any Done before:
		// DeadlineExceeded, and Done is closed.
		d = time.Now().Add(time.Minute)
		ctx = handlerCtx(t, n, d)
		clock, cancel := context.WithDeadline(context.Background(), d)
		defer cancel()
		<-clock.Done()
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err past the deadline: %v", err)
		}
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Err is DeadlineExceeded while Done is open")
		}
	})
}

// A view acts as its process: a name registered with it is the process's
// (and released when the process exits), a system request it makes of its
// own process is refused as one to self, SystemEach from it runs for its
// process once, and a call to itself is refused.
func TestHandlerContextActsAsItsProcess(t *testing.T) {
	n := newNode(t)
	type answer struct {
		register, system, callSelf error
		each                       int
		missed                     []actor.PID
	}
	p, _ := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
		r, ok := msg.(*actor.Request)
		if !ok {
			return nil
		}
		if _, ok := ctx.Deadline(); !ok {
			r.Reply("no deadline")
			return nil
		}
		var a answer
		a.register = ctx.Register("viewed")
		a.system = n.System(ctx, ctx.Self(), func(*actor.SysProcess) {})
		_, a.callSelf = actor.Call(ctx, ctx.Self(), "self")
		a.missed = n.SystemEach(ctx, func(sp *actor.SysProcess) {
			if sp.PID() == ctx.Self() {
				a.each++
			}
		})
		r.Reply(a)
		return nil
	}))
	v, err := n.Call(ctxT(t), p, "go")
	if err != nil {
		t.Fatal(err)
	}
	a, ok := v.(answer)
	if !ok {
		t.Fatalf("the handler's ctx had no deadline: %v", v)
	}
	if a.register != nil {
		t.Fatal(a.register)
	}
	if pid, ok := n.WhereIs("viewed"); !ok || pid != p {
		t.Fatalf("the name is %v (%v), want %v", pid, ok, p)
	}
	if !errors.Is(a.system, actor.ErrCallSelf) || !errors.Is(a.callSelf, actor.ErrCallSelf) {
		t.Fatalf("system request to self: %v, call to self: %v", a.system, a.callSelf)
	}
	if a.each != 1 || len(a.missed) != 0 {
		t.Fatalf("SystemEach ran %d times for the process itself, missed %v", a.each, a.missed)
	}
	exited := n.WatchExit(p)
	if err := n.Kill(p); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatal("the process did not exit")
	}
	if _, ok := n.WhereIs("viewed"); ok {
		t.Fatal("the name outlived its process")
	}
}

type derivedKey struct{}

// A call made from a handler with its ctx is bounded by the handler's
// call's deadline, whether ctx is the handler's view or a context derived
// from the process's own: a callee that never answers fails it with
// DeadlineExceeded at that deadline (testing/synctest). Before, a call
// made with the process's own ctx while it handled a call with a deadline
// had no bound at all.
func TestNestedCallEndsAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := actor.NewNode()
		defer func() { _ = n.Stop(context.Background()) }()
		silent, _ := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
		type result struct {
			err error
			at  time.Time
		}
		results := make(chan result, 1)
		var own *actor.Context
		p, _ := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
			r, ok := msg.(*actor.Request)
			if !ok {
				own = ctx // a plain message: the process's own ctx
				return nil
			}
			var call context.Context = ctx
			if r.Message() == "derived" {
				call = context.WithValue(own, derivedKey{}, 1)
			}
			_, err := actor.Call(call, silent, "never answered")
			results <- result{err, time.Now()}
			return nil
		}))
		if err := n.Send(p, "own"); err != nil {
			t.Fatal(err)
		}
		for _, how := range []string{"view", "derived"} {
			d := time.Now().Add(time.Minute)
			cctx, cancel := context.WithDeadline(context.Background(), d)
			_, err := n.Call(cctx, p, how) // gives up at d as well
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s: the call ended with %v", how, err)
			}
			res := <-results
			if !errors.Is(res.err, context.DeadlineExceeded) || !res.at.Equal(d) {
				t.Fatalf("%s: the nested call ended with %v at %v, want DeadlineExceeded at %v", how, res.err, res.at, d)
			}
		}
	})
}

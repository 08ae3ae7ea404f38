package actor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// A caller's deadline reaches its callee: a Call made with a ctx that has a
// deadline gives the request that deadline (a call from another node gives
// it the caller's remaining time, as the wire carries it), and the process
// handles the request with a view of itself (callView) whose Deadline is
// that deadline. A Call made from the handler with that ctx passes the
// deadline on, so it holds along a chain of calls.
//
// The deadline costs a Request no allocation and no size class: it shares
// one word with the answered flag (Request.state). A request without one is
// handled with the process's own Context, as before deadlines reached the
// callee. A local caller with a deadline allocates the request and its
// view together, one object (viewedRequest); a request from another node
// gets its view when handled, one allocation.

// answered is the bit of Request.state set once the request is answered
// (or abandoned); the bits under hidden are the deadline in Unix
// nanoseconds, 0 for none.
const answered = 1 << 63

// hidden is the bit of Request.state that keeps a remote request's
// deadline from its handler: the request expires then (a caller on
// another node that gave no deadline waits DefaultCallTimeout), but its
// handler sees no deadline, as a local caller's would.
const hidden = 1 << 62

// beside is the same bit on a request of a local caller (one with a reply
// channel, which hides no deadline): the request is the first field of a
// viewedRequest, whose view is the one it is handled with. Only
// newViewedRequest sets it; a request built with newRequest has no
// channel.
const beside = hidden

// hides reports whether the deadline of a request of state s is kept
// from its handler.
func (r *Request) hides(s uint64) bool { return r.ch == nil && s&hidden != 0 }

// deadlineBits are the bits of Request.state that hold the deadline.
const deadlineBits = hidden - 1

// reqExt is what a few requests carry beside the message: the caller's span
// (and while the request is handled, the handler span's context, so a Call
// made from the handler is its child).
type reqExt struct {
	parent trace.SpanContext
	ctx    context.Context
}

// finish marks the request answered; it reports whether it was not yet.
// A request from another node (built with newRequest) that reached its
// deadline is abandoned instead: its caller gave up, and the answer is
// dropped, as a timer that cancelled it at the deadline would have done,
// with no timer.
func (r *Request) finish() bool {
	for {
		s := r.state.Load()
		if s&answered != 0 {
			return false
		}
		if r.expired(s) {
			r.state.CompareAndSwap(s, s|answered)
			return false
		}
		if r.state.CompareAndSwap(s, s|answered) {
			return true
		}
	}
}

// expired reports whether a request from another node, of state s, is past
// its deadline. (A local caller abandons its request itself, with cancel.)
func (r *Request) expired(s uint64) bool {
	ns := s & deadlineBits
	return r.fn != nil && ns != 0 && time.Now().UnixNano() >= int64(ns)
}

// setDeadline gives a request its caller's deadline, before the request is
// posted. A deadline before 1970 (long past) is kept as the earliest one
// the word holds, one after 2116 (what the bits under hidden hold) as
// none.
func (r *Request) setDeadline(d time.Time) {
	if ns := deadlineState(d); ns != 0 {
		r.state.Store(ns)
	}
}

// deadlineState is deadline d as the bits of Request.state hold it: 0 for
// none (after 2116), 1 for any before 1970.
func deadlineState(d time.Time) uint64 {
	switch sec := d.Unix(); {
	case sec >= deadlineBits/int64(time.Second)-1:
		return 0
	case sec > 0:
		return uint64(d.UnixNano())
	}
	return 1
}

// Deadline returns the caller's deadline: the deadline of the ctx it called
// with, or for a caller on another node, the time of the request's arrival
// plus the caller's remaining time. ok is false when the caller's ctx had
// none (the caller then waits DefaultCallTimeout).
func (r *Request) Deadline() (deadline time.Time, ok bool) {
	s := r.state.Load()
	ns := s & deadlineBits
	if ns == 0 || r.hides(s) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(ns)), true
}

// CallDeadline returns the deadline of the call being handled: the
// caller's (on this node, the deadline of its ctx; from another node, the
// request's arrival plus the caller's remaining time). On a handler's view
// it is the view's Deadline, for good; on the process's own Context it is
// the deadline of the call the process is handling now, ok false while it
// handles none. ok is also false when the caller's ctx had none (the
// caller then waits DefaultCallTimeout). It may be called from any
// goroutine.
func (c *Context) CallDeadline() (time.Time, bool) {
	if v := c.call; v != nil {
		return time.Unix(0, v.deadline), true
	}
	if r := c.current.Load(); r != nil {
		return r.Deadline()
	}
	return time.Time{}, false
}

// CallerDeadline is the deadline a Call made with ctx gives its callee:
// ctx's own, or, when ctx is a process (or derives from one) and has none,
// the deadline of the call that process is handling. So a deadline holds
// along a chain of calls.
func CallerDeadline(ctx context.Context) (time.Time, bool) {
	if d, ok := ctx.Deadline(); ok {
		return d, true
	}
	if c, ok := FromContext(ctx); ok {
		return c.CallDeadline()
	}
	return time.Time{}, false
}

// setRequestDeadline gives a request that came from another node its
// caller's deadline, for the cluster transport: the request expires then,
// and its handler sees the deadline only if visible.
func setRequestDeadline(r *Request, d time.Time, visible bool) {
	r.setDeadline(d)
	if !visible && r.state.Load() != 0 {
		r.state.Store(r.state.Load() | hidden)
	}
}

// callView is the view of a process a request with a deadline is handled
// with: view is a *Context that shares the process (view.process) and
// answers Deadline, Done and Err with the request's deadline. What it
// answers never changes, so the view obeys context.Context's contract from
// any goroutine and after the request ended: a goroutine the handler
// started keeps the request's deadline, the process's own Context keeps
// none.
type callView struct {
	view     Context
	deadline int64           // Unix nanoseconds
	trace    context.Context // the handler span's context; nil if untraced

	mu     sync.Mutex
	done   chan struct{}     // made by the first Done (or Err past the deadline); closed at the deadline
	afters map[uint64]func() // AfterFunc's functions waiting for the deadline, by afterIDs
}

// afterIDs numbers the functions given to views' AfterFunc, so that a stop
// needs to hold only its view and a number (one allocation).
var afterIDs atomic.Uint64

// viewedRequest is a local call with a deadline: the request and the
// view it is handled with, made together by the caller (one allocation
// instead of two, in the 128-byte size class). The view is complete
// before the request is posted and never changes; the object lives as
// long as either is held (a handler that keeps its ctx keeps the request
// too).
type viewedRequest struct {
	req  Request // first: a *Request with beside set points here
	view callView
}

// newViewedRequest returns the request of a local call to the process of
// c whose deadline is ns (deadlineState's bits, not 0), with its view.
func newViewedRequest(c *Context, ns uint64, msg any, from PID, ch chan callResult) *Request {
	vr := &viewedRequest{req: Request{msg: msg, from: from, ch: ch}}
	vr.req.state.Store(ns | beside)
	vr.view.deadline = int64(ns)
	vr.view.view = Context{process: c.process, call: &vr.view}
	return &vr.req
}

// viewFor returns the Context a request is handled with: the process's own
// when the request has no deadline, else a view for it: the one made with
// the request (viewedRequest) when it is of this process and untraced,
// else a new one. trace is the handler span's context (nil if the request
// is not traced).
//
// viewFor is inlined in the message loop (its cost is at the inliner's
// budget: a call to a helper would exceed it); keep it so.
func (c *Context) viewFor(r *Request, trace context.Context) *Context {
	s := r.state.Load()
	ns := s & deadlineBits
	if ns == 0 {
		return c
	}
	if s&hidden != 0 { // hidden, or beside (hides, viewed)
		if r.ch == nil {
			return c
		}
		// A request handed on to another process (sent as a message)
		// is handled there with a view of that process, made now.
		if v := &(*viewedRequest)(unsafe.Pointer(r)).view; trace == nil && v.view.process == c.process {
			return &v.view
		}
	}
	v := &callView{deadline: int64(ns), trace: trace}
	v.view = Context{process: c.process, call: v}
	return &v.view
}

// doneChan is the view's Done: the first caller makes the channel, closed
// now if the deadline has passed, else by a timer at the deadline.
func (v *callView) doneChan() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.done == nil {
		v.armLocked()
	}
	return v.done
}

// armLocked makes Done: closed now if the deadline has passed, else by a
// timer at the deadline.
func (v *callView) armLocked() {
	if d := time.Until(time.Unix(0, v.deadline)); d > 0 {
		v.done = make(chan struct{})
		time.AfterFunc(d, v.expire)
	} else {
		v.expireLocked()
	}
}

// expire closes the view's Done at its deadline.
func (v *callView) expire() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.expireLocked()
}

// expireLocked closes Done (making it if no one asked yet), once, and
// starts the functions AfterFunc was given, each in a goroutine of its own.
func (v *callView) expireLocked() {
	if v.done == nil {
		v.done = make(chan struct{})
	}
	if !v.expiredLocked() {
		close(v.done)
	}
	for _, f := range v.afters {
		go f()
	}
	v.afters = nil
}

// expiredLocked reports whether Done is closed (Err is DeadlineExceeded).
func (v *callView) expiredLocked() bool {
	if v.done == nil {
		return false
	}
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// afterFunc is the view's AfterFunc: f runs in a goroutine of its own at
// the deadline, at once if it has passed.
func (v *callView) afterFunc(f func()) (stop func() bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.done == nil {
		v.armLocked()
	}
	if v.expiredLocked() {
		go f()
		return func() bool { return false }
	}
	id := afterIDs.Add(1)
	if v.afters == nil {
		v.afters = make(map[uint64]func())
	}
	v.afters[id] = f
	return func() bool { return v.stopAfter(id) }
}

// stopAfter keeps function id from running; it reports whether it did.
func (v *callView) stopAfter(id uint64) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.afters[id]; !ok {
		return false
	}
	delete(v.afters, id)
	return true
}

// err is the view's Err: DeadlineExceeded once the deadline has passed. It
// closes Done then if the timer has not yet (or Done was never asked), so
// that Err is non-nil exactly when Done is closed.
func (v *callView) err() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.expiredLocked() {
		return context.DeadlineExceeded
	}
	if time.Now().UnixNano() < v.deadline {
		return nil
	}
	v.expireLocked()
	return context.DeadlineExceeded
}

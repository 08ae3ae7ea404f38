package actor

import (
	"context"
	"math"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// A caller's deadline reaches its callee: a Call made with a ctx that has a
// deadline gives the request that deadline (a call from another node gives
// it the caller's remaining time, as the wire carries it), and while the
// process handles the request its *Context reports it as Deadline, Done
// and Err. A Call made from the handler with that ctx passes the deadline
// on, so it holds along a chain of calls.
//
// The deadline costs a Request no allocation and no size class: it shares
// one word with the answered flag (Request.state). Done makes a context
// only when asked, and that context ends with the handling.

// answered is the bit of Request.state set once the request is answered
// (or abandoned); the other bits are the deadline in Unix nanoseconds, 0
// for none.
const answered = 1 << 63

// reqExt is what a few requests carry beside the message: the caller's span
// (and while the request is handled, the handler span's context, so a Call
// made from the handler is its child), and the context Done made for the
// request's deadline.
type reqExt struct {
	parent trace.SpanContext
	ctx    context.Context

	dl   context.Context // made by Context.Done for the deadline
	stop context.CancelFunc
}

// finish marks the request answered; it reports whether it was not yet.
func (r *Request) finish() bool {
	for {
		s := r.state.Load()
		if s&answered != 0 {
			return false
		}
		if r.state.CompareAndSwap(s, s|answered) {
			return true
		}
	}
}

// setDeadline gives a request its caller's deadline, before the request is
// posted. A deadline before 1970 (long past) is kept as the earliest one
// the word holds, one after 2262 as none.
func (r *Request) setDeadline(d time.Time) {
	var ns int64 = 1
	switch sec := d.Unix(); {
	case sec >= math.MaxInt64/int64(time.Second)-1:
		return
	case sec > 0:
		ns = d.UnixNano()
	}
	r.state.Store(uint64(ns))
}

// Deadline returns the caller's deadline: the deadline of the ctx it called
// with, or for a caller on another node, the time of the request's arrival
// plus the caller's remaining time. ok is false when the caller's ctx had
// none (the caller then waits DefaultCallTimeout).
func (r *Request) Deadline() (deadline time.Time, ok bool) {
	ns := r.state.Load() &^ answered
	if ns == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(ns)), true
}

// endHandling releases the context Done made for the request, once the
// process is done handling it.
func (r *Request) endHandling() {
	if x := r.ext; x != nil && x.stop != nil {
		x.stop()
		x.dl, x.stop = nil, nil
	}
}

// requestDeadline is Context.Deadline: the deadline of the request being
// handled.
func (c *Context) requestDeadline() (time.Time, bool) {
	if r := c.current; r != nil {
		return r.Deadline()
	}
	return time.Time{}, false
}

// deadlineContext returns a context that ends at the deadline of the
// request being handled, made on first use; nil when there is none.
func (c *Context) deadlineContext() context.Context {
	r := c.current
	if r == nil {
		return nil
	}
	if r.ext != nil && r.ext.dl != nil {
		return r.ext.dl
	}
	d, ok := r.Deadline()
	if !ok {
		return nil
	}
	if r.ext == nil {
		r.ext = &reqExt{}
	}
	r.ext.dl, r.ext.stop = context.WithDeadline(context.Background(), d)
	return r.ext.dl
}

// requestDone is Context.Done.
func (c *Context) requestDone() <-chan struct{} {
	if dl := c.deadlineContext(); dl != nil {
		return dl.Done()
	}
	return nil
}

// requestErr is Context.Err: that of the context Done made, or without
// one, whether the deadline has passed.
func (c *Context) requestErr() error {
	if r := c.current; r != nil && r.ext != nil && r.ext.dl != nil {
		return r.ext.dl.Err()
	}
	d, ok := c.requestDeadline()
	if !ok {
		return nil
	}
	if !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// setRequestDeadline gives a request that came from another node its
// caller's deadline, for the cluster transport.
func setRequestDeadline(r *Request, d time.Time) { r.setDeadline(d) }

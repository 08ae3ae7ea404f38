package actor

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/internal/seam"
)

// Receiver handles the messages of a process. Receive is called from the
// process's own goroutine, one message at a time. Returning a non-nil error
// ends the process with that error as its exit reason (Normal for a clean
// stop); a panic ends it with a *PanicError.
type Receiver interface {
	Receive(ctx *Context, msg any) error
}

// ReceiverFunc adapts a function to a Receiver.
type ReceiverFunc func(ctx *Context, msg any) error

// Receive calls f.
func (f ReceiverFunc) Receive(ctx *Context, msg any) error { return f(ctx, msg) }

// Initializer is implemented by a Receiver that must set itself up before it
// takes messages. Init runs synchronously inside Spawn, on the spawner's
// goroutine but as the new process (ctx.Self is the new PID). If it returns
// an error, Spawn returns that error, the process never becomes visible to
// the spawner's links, and its name (if any) is released.
type Initializer interface {
	Init(ctx *Context) error
}

// mailbox states.
const (
	stIdle     uint32 = iota // no goroutine; a post schedules one
	stRunning                // a goroutine is (or is about to be) processing
	stStarting               // Init is running; posts queue without scheduling
	stDead                   // exited; posts fail
	// Suspended by sys with no signal to handle: a post queues without
	// scheduling, a signal schedules.
	stSuspended
)

// Context is the handle a Receiver uses to act as its process: the
// process's PID, node, mailbox, links and monitors. The methods that change
// the process (Link, Monitor, TrapExit, Spawn...) may only be called from
// the process's own goroutine, that is inside Receive or Init.
//
// A *Context also satisfies context.Context, so it can be passed to Call:
// the call then knows its caller and refuses a call to self. The process's
// own *Context never expires. A call made with a deadline is handled with a
// view of the process instead (deadline.go): a *Context of its own that
// shares everything of the process and whose Deadline, Done and Err are the
// caller's deadline, for as long as the view is kept.
type Context struct {
	*process
	// call is the request a view was made for; nil for the process's own
	// Context. Neither field changes after the Context is made.
	call *callView
}

// process is a process's state, shared by its own Context and the views of
// it made for calls with a deadline.
type process struct {
	// Read-mostly, the first cache line: set at spawn, read by senders and
	// the process alike. own is the process's own Context (own.process is
	// this process): the one the process table, the names and the
	// dispatcher hold; every field access through a Context loads it.
	own     Context
	node    *Node
	self    PID
	recv    Receiver
	started int64 // spawn time, Unix nanoseconds (for sys's uptime)

	// The mailbox, written by every sender under mu.
	dead     atomic.Bool // state == stDead, readable without the lock
	mu       sync.Mutex
	state    uint32
	sys      []signal
	inbox    msgQueue
	watchers watcherSet // monitors others hold on this process; under mu

	// Owned by the process goroutine (hasSys is also set by senders of
	// signals, which are rare). The record is 384 bytes, six cache lines.
	hasSys   atomic.Bool
	trapExit bool
	// Hibernate was called: release the buffers when next idle.
	hibernating bool
	casts       CastReceiver // recv as a CastReceiver, if it is one (read by the process only)
	spare       []envelope
	sysSpare    []signal
	parent      PID
	links       map[PID]struct{}
	monitors    monitorSet // monitors this process holds, by the id of their Ref (always of this node)
	waiters     []chan error
	current     atomic.Pointer[Request] // the request being handled: read by CallDeadline from any goroutine
	deferred    map[*Request]struct{}
	// sys's suspension, trace and statistics (sys.go); nil unless one is on,
	// so the message path pays one nil check for all of them.
	sysx *sysExtra

	name string // guarded by node.namesMu
}

// Self returns the process's PID.
func (c *Context) Self() PID { return c.self }

// Node returns the node the process runs on.
func (c *Context) Node() *Node { return c.node }

// Parent returns the process that spawned this one with SpawnLink, or the
// zero PID.
func (c *Context) Parent() PID { return c.parent }

// Logger returns the node's logger with the process's PID attached.
func (c *Context) Logger() *zerolog.Logger {
	l := c.node.log.With().Stringer("pid", c.self).Logger()
	return &l
}

// context.Context, so a process can pass itself as the context of a Call.

type processKey struct{}

// Deadline reports the deadline of the call a view was made for (see
// Context). The process's own Context reports none: a process outlives the
// requests it handles, and a context.Context must give the same answer
// every time.
func (c *Context) Deadline() (time.Time, bool) {
	if v := c.call; v != nil {
		return time.Unix(0, v.deadline), true
	}
	return time.Time{}, false
}

// Done returns, for a view, a channel closed at its call's deadline (made
// on the first Done, so a handler that never asks pays no timer); nil for
// the process's own Context, which never expires.
func (c *Context) Done() <-chan struct{} {
	if v := c.call; v != nil {
		return v.doneChan()
	}
	return nil
}

// Err returns context.DeadlineExceeded once a view's deadline has passed
// (and then its Done is closed), nil before, and always nil for the
// process's own Context.
func (c *Context) Err() error {
	if v := c.call; v != nil {
		return v.err()
	}
	return nil
}

// AfterFunc arranges for f to run, in a goroutine of its own, once the
// Context is done, as context.AfterFunc does, and returns a stop that keeps
// f from running (true if it did; false once f has started or was
// stopped). For a view, that is at its call's deadline, at once if the
// deadline has passed; the process's own Context is never done, so f never
// runs. The context package calls it for each context derived from the
// Context (context.WithCancel, WithTimeout, AfterFunc), which then needs
// no goroutine of its own to hear of the deadline.
func (c *Context) AfterFunc(f func()) (stop func() bool) {
	if v := c.call; v != nil {
		return v.afterFunc(f)
	}
	return (&neverRun{}).stop
}

// neverRun is the stop of a function that never runs: true once.
type neverRun struct{ stopped atomic.Bool }

func (n *neverRun) stop() bool { return !n.stopped.Swap(true) }

// Value returns the Context itself for Arbor's own key. On a node with
// telemetry, while a traced request is handled, it also returns what the
// handler's span context holds (so trace.SpanFromContext(ctx) is the
// handler's span, and a Call made with ctx is its child): a view holds the
// span of its own request, from any goroutine; the process's own Context
// that of the request being handled, read on the process goroutine. Any
// other key gives nil.
func (c *Context) Value(key any) any {
	if _, ok := key.(processKey); ok {
		return c
	}
	if v := c.call; v != nil {
		if v.trace != nil {
			return v.trace.Value(key)
		}
		return nil
	}
	if c.node.tel != nil {
		return c.traceValue(key)
	}
	return nil
}

// FromContext returns the process a context.Context was derived from, if
// any: the *Context it was derived from, which for a context derived in
// the handler of a call with a deadline is that call's view of the process
// (it acts as the process; compare Self() to tell processes apart).
func FromContext(ctx context.Context) (*Context, bool) {
	if c, ok := ctx.(*Context); ok {
		return c, true
	}
	c, ok := ctx.Value(processKey{}).(*Context)
	return c, ok
}

// envelope is one mailbox entry. Casts are flagged here rather than wrapped,
// so a cast allocates nothing beyond the message itself.
type envelope struct {
	msg  any
	cast bool
}

// post appends a message to the mailbox. It returns false if the process is
// dead.
func (c *Context) post(msg any) bool { return c.postEnv(envelope{msg: msg}) }

func (c *Context) postEnv(e envelope) bool {
	c.mu.Lock()
	switch c.state {
	case stDead:
		c.mu.Unlock()
		return false
	case stIdle:
		c.inbox.push(e)
		c.state = stRunning
		c.mu.Unlock()
		c.node.disp.schedule(c)
		return true
	}
	c.inbox.push(e)
	c.mu.Unlock()
	return true
}

// signal appends a signal to the system queue. It returns false if the
// process is dead.
func (c *Context) signal(s signal) bool {
	c.mu.Lock()
	switch {
	case c.state == stDead:
		c.mu.Unlock()
		return false
	case s.kind == seam.SignalMonitor:
		c.watchers.add(s.ref, s.from)
		c.mu.Unlock()
		return true
	case s.kind == seam.SignalDemonitor:
		c.watchers.remove(s.ref)
		c.mu.Unlock()
		return true
	case c.state == stIdle || c.state == stSuspended:
		c.sys = append(c.sys, s)
		c.hasSys.Store(true)
		c.state = stRunning
		c.mu.Unlock()
		c.node.disp.schedule(c)
		return true
	}
	c.sys = append(c.sys, s)
	c.hasSys.Store(true)
	c.mu.Unlock()
	return true
}

// queueLen returns the number of messages waiting.
func (c *Context) queueLen() (int, uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inbox.n, c.state
}

// release ends Init: the process becomes idle, or runs if messages arrived.
func (c *Context) release() {
	c.mu.Lock()
	if c.inbox.n == 0 && len(c.sys) == 0 {
		if c.hibernating {
			c.shrink()
		}
		c.state = stIdle
		c.mu.Unlock()
		return
	}
	c.state = stRunning
	c.mu.Unlock()
	c.node.disp.schedule(c)
}

// postRun is post for a caller that may lend its goroutine: when the
// message finds the process idle, the calling goroutine runs the
// activation itself (runInline) instead of waking a worker, and postRun
// returns once it did; otherwise it posts as post does. It returns false
// if the process is dead. It repeats postEnv's switch instead of sharing
// a helper with it: the helper's call on every send measured a tenth
// slower on BenchmarkCast1to1.
func (c *Context) postRun(msg any) bool {
	c.mu.Lock()
	switch c.state {
	case stDead:
		c.mu.Unlock()
		return false
	case stIdle:
		c.inbox.push(envelope{msg: msg})
		c.state = stRunning
		c.mu.Unlock()
		c.loop(true)
		return true
	}
	c.inbox.push(envelope{msg: msg})
	c.mu.Unlock()
	return true
}

// run is the process's scheduling loop on a worker of the dispatcher: it
// drains the mailbox in batches, signals first, then returns the goroutine
// when the mailbox is empty.
func (c *Context) run() { c.loop(false) }

// loop is run's loop. inline is set when the goroutine is one lent by
// postRun rather than a worker: it handles one batch, then leaves whatever
// came meanwhile (messages, signals, a suspension) to a worker, as if the
// process had been scheduled then, and goes idle at once when nothing did
// (the yield below is for a worker, whose next message may be on its way;
// the goroutine lent is wanted back by its owner).
func (c *Context) loop(inline bool) {
	yielded := false
	ran := false
	for {
		c.mu.Lock()
		if inline && ran {
			if len(c.sys) == 0 && c.inbox.n == 0 && (c.sysx == nil || !c.sysx.suspended) {
				if c.hibernating {
					c.shrink()
				}
				c.state = stIdle
				c.mu.Unlock()
				return
			}
			// More work: the process stays running, on a worker.
			c.mu.Unlock()
			c.node.disp.schedule(c)
			return
		}
		if c.sysx != nil && c.sysx.suspended {
			// Suspended by sys: only signals are handled (sys.go).
			if !c.runSuspended() {
				return
			}
			continue
		}
		if len(c.sys) == 0 && c.inbox.n == 0 && !yielded && !c.hibernating {
			// Yield once before going idle: a sender that is about to post
			// again (a stream of casts, the next call of a caller just
			// answered) then finds the process still running, which saves
			// parking and waking a worker.
			c.mu.Unlock()
			yielded = true
			runtime.Gosched()
			continue
		}
		if len(c.sys) == 0 && c.inbox.n == 0 {
			if c.hibernating {
				c.shrink()
			}
			c.state = stIdle
			c.mu.Unlock()
			return
		}
		b := c.inbox.take(c.spare)
		c.mu.Unlock()
		yielded = false
		ran = true

		if c.hasSys.Load() {
			if reason := c.drainSignals(); reason != nil {
				c.terminate(reason, b)
				return
			}
			if c.sysx != nil && c.sysx.suspended {
				c.hold(b.inline, b.segs)
				clear(b.inline)
				c.spare = b.inline[:0]
				continue
			}
		}
		if !c.runBatch(b) {
			return
		}
	}
}

// runBatch handles a batch: the inline messages, then each segment, which
// goes back to the pool once handled. It returns false if the process
// exited.
func (c *Context) runBatch(b batch) bool {
	msgs := b.inline
	if i, reason := c.handleBatch(msgs); reason != nil {
		if reason == errSuspended {
			c.hold(msgs[i+1:], b.segs)
			clear(msgs)
			c.spare = msgs[:0]
			return true
		}
		clear(msgs[:i])
		c.terminate(reason, batch{inline: msgs[i+1:], segs: b.segs})
		return false
	}
	clear(msgs) // drop the references in one pass
	c.spare = msgs[:0]
	for s := b.segs; s != nil; {
		next := s.next
		if i, reason := c.handleBatch(s.buf[:s.n]); reason != nil {
			if reason == errSuspended {
				c.hold(s.buf[i+1:s.n], next)
				releaseSegment(s)
				return true
			}
			clear(s.buf[:i])
			rest := batch{inline: s.buf[i+1 : s.n], segs: next}
			c.terminate(reason, rest)
			return false
		}
		releaseSegment(s)
		s = next
	}
	return true
}

// drainSignals handles every pending signal. It returns a non-nil reason if
// a signal ends the process.
func (c *Context) drainSignals() error {
	c.mu.Lock()
	sigs := c.sys
	c.sys = c.sysSpare
	c.hasSys.Store(false)
	c.mu.Unlock()
	var reason error
	for i := range sigs {
		if reason == nil {
			reason = c.handleSignal(&sigs[i])
		} else {
			c.refuseSignal(&sigs[i], reason)
		}
		sigs[i] = signal{}
	}
	c.sysSpare = sigs[:0]
	return reason
}

// CastReceiver is implemented by a Receiver that takes casts (messages sent
// with Cast) apart from plain messages, as a GenServer does. A Receiver
// without it gets casts through Receive.
type CastReceiver interface {
	ReceiveCast(ctx *Context, msg any) error
}

// PanicObserver is implemented by a Receiver that must act when one of its
// handlers panics, before the process exits with the *PanicError (a
// GenServer runs Terminate there).
type PanicObserver interface {
	Panicked(ctx *Context, err *PanicError)
}

// handleBatch runs the Receiver on each message of a batch, handling
// signals between messages. It stops at the first message (index i) whose
// handling ends the process, with the reason; a panic becomes a
// *PanicError. One deferred recover covers the whole batch.
func (c *Context) handleBatch(msgs []envelope) (i int, reason error) {
	defer func() {
		if r := recover(); r != nil {
			pe := &PanicError{Value: r, Stack: debug.Stack()}
			reason = pe
			if po, ok := c.recv.(PanicObserver); ok {
				func() {
					defer func() { _ = recover() }()
					po.Panicked(c, pe)
				}()
			}
			if r := c.current.Swap(nil); r != nil {
				r.fail(pe)
			}
		}
		if t := c.node.tel; t != nil {
			// Counted once a batch: messages handled, the one that ended
			// the batch included.
			handled := i
			if reason != nil {
				handled++
			}
			t.received.Add(context.Background(), int64(handled))
		}
	}()
	for i = range msgs {
		if reason = c.invoke(msgs[i]); reason != nil {
			msgs[i] = envelope{}
			return i, reason
		}
		if c.hasSys.Load() {
			if reason = c.drainSignals(); reason != nil {
				return i, reason
			}
			if c.sysx != nil && c.sysx.suspended {
				return i, errSuspended
			}
		}
	}
	return len(msgs), nil
}

// invoke runs the Receiver on one message.
func (c *Context) invoke(e envelope) (reason error) {
	if c.sysx != nil && c.sysx.debug {
		return c.invokeDebug(e)
	}
	return c.invokeMsg(e)
}

// invokeMsg runs the Receiver on one message; invoke adds sys's trace and
// statistics when they are on.
func (c *Context) invokeMsg(e envelope) (reason error) {
	m := e.msg
	if e.cast {
		if c.casts != nil {
			return c.casts.ReceiveCast(c, m)
		}
		return c.recv.Receive(c, m)
	}
	switch msg := m.(type) {
	case Down:
		if msg.Ref.node != c.node.ident || !c.monitors.drop(msg.Ref.id) {
			return nil // demonitored: the Down is flushed
		}
	case *Request:
		c.current.Store(msg)
		if msg.ext != nil && c.node.tel != nil {
			reason = c.node.tel.handle(c, msg)
		} else {
			reason = c.recv.Receive(c.viewFor(msg, nil), m)
		}
		c.current.Store(nil)
		if !msg.Done() && reason == nil {
			c.deferRequest(msg)
		} else if reason != nil {
			msg.fail(reason)
		}
		return reason
	}
	return c.recv.Receive(c, m)
}

// deferRequest keeps a request the handler did not answer yet, so that it
// fails if the process exits before replying.
func (c *Context) deferRequest(req *Request) {
	if c.deferred == nil {
		c.deferred = make(map[*Request]struct{})
	}
	if len(c.deferred) >= 64 {
		for r := range c.deferred {
			if r.Done() {
				delete(c.deferred, r)
			}
		}
	}
	c.deferred[req] = struct{}{}
}

// terminate ends the process with reason. rest holds messages taken from
// the mailbox but not yet handled.
func (c *Context) terminate(reason error, rest batch) {
	reason = reasonOrNormal(reason)
	c.mu.Lock()
	c.state = stDead
	c.dead.Store(true)
	c.node.exits.Add(1)                     // after dead, before anyone hears of the exit (Node.Exits)
	sigs, inbox := c.sys, c.inbox.take(nil) // empty for good
	c.sys = nil
	watchers := c.watchers
	c.watchers = watcherSet{}
	c.mu.Unlock()

	n := c.node
	n.table.remove(c)
	n.releaseName(c)

	for i := range sigs {
		c.refuseSignal(&sigs[i], reason)
	}
	rest.failAll(reason)
	inbox.failAll(reason)
	if r := c.current.Swap(nil); r != nil {
		r.fail(reason)
	}
	for r := range c.deferred {
		r.fail(reason)
	}
	c.deferred = nil
	if c.sysx != nil {
		failRequests(c.sysx.held, reason) // held back by a suspension
		c.sysx = nil
	}
	for pid := range c.links {
		n.deliverSignal(pid, signal{kind: seam.SignalLinkExit, from: c.self, reason: reason})
	}
	c.links = nil
	watchers.each(func(ref Ref, pid PID) {
		n.deliverDown(pid, Down{Ref: ref, PID: c.self, Reason: reason})
	})
	c.monitors.each(func(id uint64, pid PID) {
		n.deliverSignal(pid, signal{kind: seam.SignalDemonitor, from: c.self, ref: Ref{node: n.ident, id: id}})
	})
	c.monitors.reset()
	for _, w := range c.waiters {
		w <- reason
	}
	c.waiters = nil
	c.spare, c.sysSpare = nil, nil
	n.exited(c, reason)
}

func failRequests(msgs []envelope, reason error) {
	for i, e := range msgs {
		if req, ok := e.msg.(*Request); ok {
			req.fail(reason)
		}
		msgs[i] = envelope{}
	}
}

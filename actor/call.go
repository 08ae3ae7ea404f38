package actor

import (
	"context"
	"sync/atomic"
	"time"
)

// DefaultCallTimeout bounds a Call whose context has no deadline, as OTP's
// default of 5 s.
const DefaultCallTimeout = 5 * time.Second

// Request is a call in flight, as its receiver sees it: the message, the
// caller, and a one-shot reply. A process that receives a *Request answers it
// with Reply, now or later and from any goroutine. If the process exits
// before answering, the caller's Call fails with the exit reason.
type Request struct {
	msg  any
	from PID
	ch   chan callResult
	fn   func(value any, err error) // set instead of ch for a remote caller
	// What a few requests carry beside (deadline.go): the caller's span
	// when the call is traced; nil for most.
	ext *reqExt
	// The caller's deadline and whether the request was answered, in one
	// word so that Request stays in the 64-byte size class (deadline.go).
	state atomic.Uint64
}

type callResult struct {
	value any
	err   error
}

// Message returns the request's message.
func (r *Request) Message() any { return r.msg }

// From returns the calling process, or the zero PID for a caller outside any
// process.
func (r *Request) From() PID { return r.from }

// Reply answers the request. Only the first answer counts; Reply reports
// whether this one did (false if already answered or the caller gave up).
func (r *Request) Reply(v any) bool {
	if !r.finish() {
		return false
	}
	if r.fn != nil {
		r.fn(v, nil)
		return true
	}
	r.ch <- callResult{value: v}
	return true
}

// cancel abandons the request: later replies are dropped and its fn is not
// called. It reports whether the request was still pending.
func (r *Request) cancel() bool { return r.finish() }

// Done reports whether the request was answered (or abandoned: its caller
// gave up).
func (r *Request) Done() bool {
	s := r.state.Load()
	return s&answered != 0 || r.expired(s)
}

func (r *Request) fail(reason error) {
	if r.finish() {
		if r.fn != nil {
			r.fn(nil, reason)
			return
		}
		r.ch <- callResult{err: reason}
	}
}

// newRequest builds a request whose answer is handed to fn instead of a
// waiting caller: fn runs once, on the goroutine that replies (or fails the
// request when its process exits), unless the request is cancelled first.
// fn must not block. The cluster transport serves remote calls with it.
func newRequest(from PID, msg any, fn func(value any, err error)) *Request {
	return &Request{msg: msg, from: from, fn: fn}
}

// post delivers a request built with newRequest to a local process. It
// returns NoProc (and does not call fn) if the process is not alive.
func (n *Node) post(to PID, r *Request) error {
	if c := n.lookup(to); c != nil && c.post(r) {
		return nil
	}
	return NoProc
}

// postRun is post for a caller that lends its goroutine: if the request
// finds the process idle, the activation runs on the calling goroutine
// (Context.postRun) and postRun returns once it ended.
func (n *Node) postRun(to PID, r *Request) error {
	if c := n.lookup(to); c != nil && c.postRun(r) {
		return nil
	}
	return NoProc
}

// waiter is the reusable part of a call: the reply channel and the default
// deadline timer. A waiter goes back to the pool only when no late write to
// its channel is possible. The pool is the node's own (Node.waiters), not
// the process's: a channel or timer made inside a testing/synctest bubble
// may only be used in it (anything else is a fatal error of the runtime),
// and a node's calls run where the node runs.
type waiter struct {
	ch chan callResult
	t  *time.Timer
}

func newWaiter() any { return &waiter{ch: make(chan callResult, 1)} }

// Call sends msg to pid as a *Request and waits for the reply. The caller is
// the process ctx was derived from, if any (so a call to self fails at once
// with ErrCallSelf). ctx's deadline bounds the wait (DefaultCallTimeout when
// it has none). Errors are *CallError values wrapping: the callee's exit
// reason if it exits before replying, NoProc if it is not alive,
// context.DeadlineExceeded or the context's error if ctx ends first (a
// ctx that has ended already sends nothing),
// ErrZeroPID for the zero PID, or ErrRemote for a remote pid without a
// transport.
func Call(ctx context.Context, pid PID, msg any) (any, error) {
	if pid.node == nil {
		return nil, &CallError{Reason: ErrZeroPID}
	}
	n, from := origin(ctx, pid)
	if n == nil {
		return nil, &CallError{PID: pid, Reason: ErrRemote}
	}
	if from == pid {
		return nil, &CallError{PID: pid, Reason: ErrCallSelf}
	}
	return n.call(ctx, from, pid, msg)
}

// Send delivers msg to pid from the process ctx was derived from, or, outside
// any process, from the node set with WithNode (or, without one, from the
// node that owns pid). See Node.Send for the errors.
func Send(ctx context.Context, pid PID, msg any) error {
	n, from := origin(ctx, pid)
	if n == nil {
		return remoteOrZero(pid)
	}
	if t := n.tel; t != nil {
		return t.sendEnv(ctx, n, from, pid, envelope{msg: msg})
	}
	return n.send(from, pid, msg)
}

// remoteOrZero is the error of a message to pid with no node to send it
// from: pid is zero, or of another node and there is no cluster.
func remoteOrZero(pid PID) error {
	if pid.node == nil {
		return ErrZeroPID
	}
	return ErrRemote
}

// origin finds the node and process a message to pid is sent from: the
// process ctx comes from, else the node set with WithNode, else pid's own
// node when it runs in this Go process. The node set with WithNode comes
// before pid's own: several nodes may share one Go process (the
// in-memory network of cluster/clustertest), and a message from one of
// them to a process of another must cross their network, with its faults
// and its wire rules, not be delivered by the owner as if sent locally.
func origin(ctx context.Context, pid PID) (*Node, PID) {
	if c, ok := FromContext(ctx); ok {
		return c.node, c.self
	}
	if nc, ok := ctx.Value(nodeKey{}).(*Node); ok && nc != nil {
		return nc, PID{}
	}
	if pid.node != nil {
		if n := pid.node.local.Load(); n != nil {
			return n, PID{}
		}
	}
	return nil, PID{}
}

// Call is Call with this node as the origin, for callers outside any process.
func (n *Node) Call(ctx context.Context, pid PID, msg any) (any, error) {
	if c, ok := FromContext(ctx); ok {
		if c.self == pid {
			return nil, &CallError{PID: pid, Reason: ErrCallSelf}
		}
		return n.call(ctx, c.self, pid, msg)
	}
	return n.call(ctx, PID{}, pid, msg)
}

type nodeKey struct{}

// NodeFromContext returns the node a context sends from: the node of the
// process it was derived from, or the node set with WithNode.
func NodeFromContext(ctx context.Context) (*Node, bool) {
	if c, ok := FromContext(ctx); ok {
		return c.node, true
	}
	n, ok := ctx.Value(nodeKey{}).(*Node)
	return n, ok
}

// WithNode returns a context that names n as the origin of Calls, Sends
// and Casts made with it from outside any process: a PID of another node
// is reached from n, over n's cluster, even when that node runs in the
// same Go process (cluster/clustertest's in-memory network).
func WithNode(ctx context.Context, n *Node) context.Context {
	return context.WithValue(ctx, nodeKey{}, n)
}

func (n *Node) call(ctx context.Context, from, to PID, msg any) (any, error) {
	if err := ctx.Err(); err != nil {
		// A caller that has given up already sends nothing: the request
		// would be handled (a write made) with no one told of it.
		return nil, &CallError{PID: to, Reason: err}
	}
	if n.tel != nil {
		return n.tel.call(ctx, n, from, to, msg)
	}
	return n.callTraced(ctx, from, to, msg, nil)
}

// callTraced is call; tr, when set, is the caller's span the request
// carries to its handler.
func (n *Node) callTraced(ctx context.Context, from, to PID, msg any, tr *reqExt) (any, error) {
	if to.node != n.ident {
		if to.node == nil {
			return nil, &CallError{Reason: ErrZeroPID}
		}
		if t := n.remote.Load(); t != nil {
			return (*t).Call(ctx, from, to, msg)
		}
		return nil, &CallError{PID: to, Reason: ErrRemote}
	}
	c := n.table.get(to.index, to.serial)
	if c == nil {
		return nil, &CallError{PID: to, Reason: NoProc}
	}
	w := n.waiters.Get().(*waiter)
	var req *Request
	d, hasDeadline := CallerDeadline(ctx)
	if hasDeadline && tr == nil {
		if ns := deadlineState(d); ns != 0 {
			req = newViewedRequest(c, ns, msg, from, w.ch)
		}
	}
	if req == nil {
		req = &Request{msg: msg, from: from, ch: w.ch, ext: tr}
		if hasDeadline {
			req.setDeadline(d)
		}
	}
	if !c.post(req) {
		n.waiters.Put(w)
		return nil, &CallError{PID: to, Reason: NoProc}
	}
	// A *Context (the process, or a view of it for a call with a
	// deadline) ends only at the deadline CallerDeadline gave, if any: the
	// pooled timer waits for it, so a call from a handler arms no timer of
	// its view's (Done), and one with the process as ctx is bounded by the
	// call the process handles.
	var done <-chan struct{}
	if _, isProc := ctx.(*Context); !isProc {
		done = ctx.Done()
	}
	var expired <-chan time.Time
	if !hasDeadline || done == nil {
		wait := DefaultCallTimeout
		if hasDeadline {
			wait = time.Until(d)
		}
		if w.t == nil {
			w.t = time.NewTimer(wait)
		} else {
			w.t.Reset(wait)
		}
		expired = w.t.C
	}
	var res callResult
	select {
	case res = <-w.ch:
	case <-done:
		res = abandon(req, w, ctx.Err())
	case <-expired:
		res = abandon(req, w, context.DeadlineExceeded)
	}
	if w.t != nil {
		w.t.Stop()
	}
	n.waiters.Put(w)
	if res.err != nil {
		return nil, &CallError{PID: to, Reason: res.err}
	}
	return res.value, nil
}

// abandon gives up on req unless its answer is already on the way, in which
// case the answer wins.
func abandon(req *Request, w *waiter, reason error) callResult {
	if req.finish() {
		return callResult{err: reason}
	}
	return <-w.ch
}

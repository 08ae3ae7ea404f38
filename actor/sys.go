package actor

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/arbor-otp/arbor/internal/seam"
)

// This file is the runtime side of package sys (OTP's sys module): system
// requests that run on a process's goroutine between two messages, the
// suspension of a process, and the hooks a Receiver implements to show its
// state. Package sys is the API users call; these are its building blocks.

// SysStater is implemented by a Receiver whose state package sys can show
// (sys.GetState): GenServers, event managers and supervisors do. SysState
// runs on the process's goroutine, between two messages; what it returns is
// handed to another goroutine, so it should be a value or a snapshot, not a
// structure the process keeps changing.
type SysStater interface {
	SysState() any
}

// SysReplacer is implemented by a Receiver whose state package sys can
// replace (sys.ReplaceState). SysReplaceState runs on the process's
// goroutine: it calls replace with the current state and, if replace
// returns no error, keeps what it returns and returns it. If replace
// returns an error the state is left as it was and SysReplaceState returns
// that error. A Receiver whose state cannot be replaced returns
// ErrSysUnsupported.
type SysReplacer interface {
	SysReplaceState(replace func(state any) (any, error)) (any, error)
}

// SysDescriber is implemented by a Receiver that names its behaviour in
// sys's process listings ("gen_server", "supervisor"). SysBehaviour may be
// called from any goroutine and must return a constant.
type SysDescriber interface {
	SysBehaviour() string
}

// errSuspended tells the run loop that a signal suspended the process in
// the middle of a batch; it never leaves the package.
var errSuspended = errors.New("actor: suspended")

// sysExtra is what a process holds while sys acts on it: c.sysx is nil
// otherwise, so the message path tests one pointer for all of it.
type sysExtra struct {
	suspended bool
	held      []envelope // messages taken from the mailbox, held by a suspension
	debug     bool       // trace or stats is set
	trace     *tracer
	stats     *statCounters
}

func (c *Context) extra() *sysExtra {
	if c.sysx == nil {
		c.sysx = &sysExtra{}
	}
	return c.sysx
}

// tidySys drops sysExtra once nothing in it is on.
func (c *Context) tidySys() {
	x := c.sysx
	if x == nil {
		return
	}
	x.debug = x.trace != nil || x.stats != nil
	if !x.suspended && len(x.held) == 0 && !x.debug {
		c.sysx = nil
	}
}

// hold keeps messages taken from the mailbox but not handled because the
// process was suspended, in order, ahead of the mailbox. The segments go
// back to the pool; the caller clears the inline slice.
func (c *Context) hold(inline []envelope, segs *segment) {
	x := c.extra()
	x.held = append(x.held, inline...)
	for s := segs; s != nil; {
		next := s.next
		x.held = append(x.held, s.buf[:s.n]...)
		releaseSegment(s)
		s = next
	}
}

// runSuspended is run's loop step for a suspended process, called with mu
// held; it returns with mu released. It handles the pending signals only,
// and parks the process (state stSuspended) when there are none. It
// reports whether run should loop on: false if the process parked or
// exited.
func (c *Context) runSuspended() bool {
	if len(c.sys) == 0 {
		c.state = stSuspended
		c.mu.Unlock()
		return false
	}
	c.mu.Unlock()
	if reason := c.drainSignals(); reason != nil {
		c.terminate(reason, batch{})
		return false
	}
	if c.sysx != nil && c.sysx.suspended {
		return true
	}
	// Resumed: the held messages come first, before the mailbox.
	var held []envelope
	if c.sysx != nil {
		held, c.sysx.held = c.sysx.held, nil
		c.tidySys()
	}
	if len(held) == 0 {
		return true
	}
	return c.runBatch(batch{inline: held})
}

// sysRequest is a system request in flight: fn runs once on the process
// goroutine unless the requester gave up first, or it is refused because
// the process is gone.
type sysRequest struct {
	fn    func(*SysProcess)
	state atomic.Uint32
	done  chan struct{} // closed once fn ran or the request was refused
	err   error         // written before done is closed
	group *sysGroup     // SystemEach's completion count, or nil
}

const (
	sysPending uint32 = iota
	sysTaken          // running, or refused
	sysAbandoned
)

type sysGroup struct {
	left atomic.Int64
	all  chan struct{}
}

func newSysRequest(fn func(*SysProcess), g *sysGroup) *sysRequest {
	return &sysRequest{fn: fn, done: make(chan struct{}), group: g}
}

// run runs the request on c's goroutine. A panic in fn is the request's
// error; the process goes on.
func (r *sysRequest) run(c *Context) {
	if !r.state.CompareAndSwap(sysPending, sysTaken) {
		return
	}
	p := &SysProcess{c: c}
	func() {
		defer func() {
			if v := recover(); v != nil {
				r.err = fmt.Errorf("actor: sys request: %w", &PanicError{Value: v})
			}
		}()
		r.fn(p)
	}()
	p.c = nil
	r.complete()
}

// refuse answers a request that reached a process as it exits.
func (r *sysRequest) refuse(err error) {
	if !r.state.CompareAndSwap(sysPending, sysTaken) {
		return
	}
	r.err = err
	r.complete()
}

func (r *sysRequest) complete() {
	close(r.done)
	if g := r.group; g != nil && g.left.Add(-1) == 0 {
		close(g.all)
	}
}

// wait waits for the request's end, or gives up when ctx ends. Giving up
// succeeds only if fn has not started; once started it is waited for.
func (r *sysRequest) wait(ctx context.Context) error {
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(sysPending, sysAbandoned) {
			return ctx.Err()
		}
		<-r.done
		return r.err
	}
}

// System runs fn as a system request of the local process pid: on the
// process's goroutine, between two messages, ahead of the messages already
// queued, and also while the process is suspended (OTP's system messages,
// on which package sys is built). A process busy in a long handler runs fn
// when the handler returns; ctx bounds the wait. fn gets a *SysProcess
// valid only until it returns, and must not block.
//
// System returns nil once fn has run, NoProc if pid is not a live local
// process (fn does not run), ctx's error if ctx ends before fn starts (fn
// then never runs), and an error wrapping a *PanicError if fn panics (the
// process goes on). A process asking for itself gets ErrCallSelf, as its
// request could only run once it stopped waiting for it.
func (n *Node) System(ctx context.Context, pid PID, fn func(p *SysProcess)) error {
	c := n.lookup(pid)
	if c == nil {
		return NoProc
	}
	if self, ok := FromContext(ctx); ok && self.process == c.process {
		return ErrCallSelf
	}
	r := newSysRequest(fn, nil)
	if !c.signal(signal{kind: seam.SignalSys, sys: r}) {
		return NoProc
	}
	return r.wait(ctx)
}

// SystemEach runs fn as a system request of every live process of the
// node, as System does, and waits until each has run it or ctx ends. The
// processes run fn concurrently, each on its own goroutine, so fn must be
// safe for concurrent use. It returns the processes that had not run fn
// when ctx ended (busy in a handler); fn will not run for them. Processes
// that exit meanwhile are skipped. Called from inside a process (ctx
// derived from its *Context), fn runs for that process on the spot.
func (n *Node) SystemEach(ctx context.Context, fn func(p *SysProcess)) (missed []PID) {
	g := &sysGroup{all: make(chan struct{})}
	g.left.Store(1) // held until every request is posted
	var reqs []*sysRequest
	var pids []PID
	self, _ := FromContext(ctx)
	if self != nil {
		self = &self.own // a view of the process is the process here
	}
	n.table.each(func(c *Context) {
		if c == self {
			return
		}
		r := newSysRequest(fn, g)
		g.left.Add(1)
		if !c.signal(signal{kind: seam.SignalSys, sys: r}) {
			g.left.Add(-1)
			return
		}
		reqs = append(reqs, r)
		pids = append(pids, c.self)
	})
	if g.left.Add(-1) == 0 {
		close(g.all)
	}
	if self != nil && self.node == n {
		r := newSysRequest(fn, nil)
		r.run(self)
	}
	select {
	case <-g.all:
	case <-ctx.Done():
	}
	for i, r := range reqs {
		if r.state.CompareAndSwap(sysPending, sysAbandoned) {
			missed = append(missed, pids[i])
			continue
		}
		<-r.done
	}
	return missed
}

// SysProcess is a process as a system request sees it, on the process's
// own goroutine (see Node.System). It is valid only until the request's
// function returns; after that its methods do nothing and return zero
// values.
type SysProcess struct{ c *Context }

// PID returns the process.
func (p *SysProcess) PID() PID {
	if p.c == nil {
		return PID{}
	}
	return p.c.self
}

// Receiver returns the process's Receiver, for the hooks SysStater,
// SysReplacer and SysDescriber.
func (p *SysProcess) Receiver() Receiver {
	if p.c == nil {
		return nil
	}
	return p.c.recv
}

// Info returns the process's information, as Node.ProcessInfo does
// (Status is StatusRunning: the process is running the request).
func (p *SysProcess) Info() Info {
	c := p.c
	if c == nil {
		return Info{}
	}
	in := c.info()
	in.Status = StatusRunning
	c.mu.Lock()
	in.MessageQueueLen += c.inbox.n
	c.mu.Unlock()
	return in
}

// Started returns when the process was spawned.
func (p *SysProcess) Started() time.Time {
	if p.c == nil {
		return time.Time{}
	}
	return time.Unix(0, p.c.started)
}

// Suspended reports whether the process is suspended.
func (p *SysProcess) Suspended() bool {
	return p.c != nil && p.c.sysx != nil && p.c.sysx.suspended
}

// Suspend suspends the process (sys:suspend): from now on it handles only
// signals (exit signals, links, monitors, system requests) and leaves its
// messages queued, calls included, until Resume. Suspending a suspended
// process does nothing.
func (p *SysProcess) Suspend() {
	if p.c != nil {
		p.c.extra().suspended = true
	}
}

// Resume ends a suspension: the process handles its queued messages again,
// in the order they arrived. Resuming a running process does nothing.
func (p *SysProcess) Resume() {
	if p.c != nil && p.c.sysx != nil {
		p.c.sysx.suspended = false
		p.c.tidySys()
	}
}

// Memory returns an estimate, in bytes, of the memory the runtime holds
// for the process: the process record, its mailbox buffers and queued
// segments, its links and monitors. It does not include what the
// Receiver's own state refers to.
func (p *SysProcess) Memory() int {
	c := p.c
	if c == nil {
		return 0
	}
	const env = int(unsafe.Sizeof(envelope{}))
	const sig = int(unsafe.Sizeof(signal{}))
	const pidEntry = int(unsafe.Sizeof(PID{})) + 8 // map entries, roughly
	n := int(unsafe.Sizeof(process{}))
	n += cap(c.spare)*env + cap(c.sysSpare)*sig
	c.mu.Lock()
	n += cap(c.inbox.inline)*env + cap(c.sys)*sig
	for s := c.inbox.head; s != nil; s = s.next {
		n += int(unsafe.Sizeof(segment{}))
	}
	watchers := 0
	c.watchers.each(func(Ref, PID) { watchers++ })
	c.mu.Unlock()
	n += watchers * (int(unsafe.Sizeof(watch{})))
	n += len(c.links) * pidEntry
	n += c.monitors.len() * pidEntry
	n += len(c.deferred) * 16
	if c.sysx != nil {
		n += int(unsafe.Sizeof(sysExtra{})) + cap(c.sysx.held)*env
	}
	return n
}

// Peek is what can be read of a process without its answer, for one busy
// in a handler that cannot run a system request (see Node.Peek).
type Peek struct {
	Name      string // registered name, or empty
	Behaviour string // the Receiver's SysDescriber name, or empty
	QueueLen  int    // messages in its mailbox
	Status    Status // StatusWaiting or StatusRunning
}

// Peek reads a local process from outside, without waiting for it, as
// process_info(Pid, message_queue_len) does in Erlang. It returns false
// if pid is not a live local process.
func (n *Node) Peek(pid PID) (Peek, bool) {
	c := n.lookup(pid)
	if c == nil {
		return Peek{}, false
	}
	var p Peek
	if d, ok := c.recv.(SysDescriber); ok {
		p.Behaviour = d.SysBehaviour()
	}
	qlen, state := c.queueLen()
	if state == stDead {
		return Peek{}, false
	}
	p.QueueLen, p.Status = qlen, StatusRunning
	if state == stIdle || state == stSuspended {
		p.Status = StatusWaiting
	}
	n.namesMu.RLock()
	p.Name = c.name
	n.namesMu.RUnlock()
	return p, true
}

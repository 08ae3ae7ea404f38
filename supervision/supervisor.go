package supervision

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-otp/arbor/actor"
)

// supervisor is the process behind Start: a Receiver that traps exits and
// owns its children list on its own goroutine.
type supervisor struct {
	cfg    config
	pol    policy
	kids   []child
	window window
	rep    reporter
}

// requests of the supervisor protocol.
type (
	startChildReq struct{ spec ChildSpec }
	terminateReq  struct{ id string }
	restartReq    struct{ id string }
	deleteReq     struct{ id string }
	whichReq      struct{}
	countReq      struct{}
	getSpecReq    struct{ id string }
	pidReply      struct {
		pid actor.PID
		err error
	}
	errReply  struct{ err error }
	specReply struct {
		spec ChildSpec
		err  error
	}
	// stopMsg asks a supervisor to stop its children and exit with reason.
	stopMsg struct{ reason error }
	// retryMsg tries again a restart that failed (OTP's try_again_restart).
	retryMsg struct{ id string }
)

// Start starts a supervisor from sp (a *actor.Node or a *actor.Context) with
// the given children, started in order, and returns its PID once they all
// run. If a child fails to start, the children already started are stopped
// in reverse order, no process is left behind and Start returns a
// *StartError naming the child. It also returns an error wrapping
// ErrInvalidSpec for a bad spec, ErrDuplicateChild for two specs with one
// ID, ErrInvalidOption for a Strategy or AutoShutdown that is none of the
// package's constants or an invalid WithIntensity, actor.ErrNilNode for a
// nil sp, and the spawn errors of actor (actor.ErrNameTaken for a taken
// WithName, actor.ErrNodeStopped).
func Start(sp actor.Spawner, children []ChildSpec, opts ...Option) (actor.PID, error) {
	if sp == nil {
		return actor.PID{}, actor.ErrNilNode
	}
	s, sopts := newSupervisor(children, opts)
	return sp.Spawn(s, sopts...)
}

// StartLink is Start linked to the calling process, which becomes the
// supervisor's parent: when the parent exits, the supervisor stops its
// children and exits with the same reason. Use it in a ChildSpec's Start
// (SupervisorSpec does).
func StartLink(ctx *actor.Context, children []ChildSpec, opts ...Option) (actor.PID, error) {
	s, sopts := newSupervisor(children, opts)
	return ctx.SpawnLink(s, sopts...)
}

// SupervisorSpec returns the ChildSpec of a nested supervisor with the
// given children and options: type Supervisor, permanent, shutdown
// Infinity.
func SupervisorSpec(id string, children []ChildSpec, opts ...Option) ChildSpec {
	return ChildSpec{
		ID:    id,
		Type:  Supervisor,
		Start: func(ctx *actor.Context) (actor.PID, error) { return StartLink(ctx, children, opts...) },
	}
}

func newSupervisor(children []ChildSpec, opts []Option) (*supervisor, []actor.SpawnOption) {
	cfg := buildConfig(opts)
	s := &supervisor{
		cfg:    cfg,
		pol:    policy{strategy: cfg.strategy, autoShutdown: cfg.autoShutdown},
		kids:   make([]child, 0, len(children)),
		window: newWindow(cfg.maxRestarts, cfg.period),
	}
	for _, spec := range children {
		s.kids = append(s.kids, child{spec: spec})
	}
	sopts := []actor.SpawnOption{actor.WithTrapExit()}
	if cfg.named {
		sopts = append(sopts, actor.WithName(cfg.name))
	}
	return s, sopts
}

// Init starts the children in order.
func (s *supervisor) Init(ctx *actor.Context) error {
	s.rep = newReporter(ctx.Node(), ctx.Self(), s.cfg.name)
	if err := s.cfg.validate(false); err != nil {
		return err
	}
	seen := make(map[string]struct{}, len(s.kids))
	for _, c := range s.kids {
		if err := c.spec.validate(); err != nil {
			return err
		}
		if _, dup := seen[c.spec.ID]; dup {
			return fmt.Errorf("%w: %q", ErrDuplicateChild, c.spec.ID)
		}
		seen[c.spec.ID] = struct{}{}
	}
	for i := 0; i < len(s.kids); i++ {
		err := s.start(ctx, &s.kids[i])
		switch {
		case err == nil:
		case errors.Is(err, actor.Ignore):
			if s.kids[i].spec.Restart == Temporary {
				s.kids = append(s.kids[:i], s.kids[i+1:]...)
				i--
			}
		default:
			s.stopAll(ctx)
			return err
		}
	}
	return nil
}

// start starts a child and records the new process. It returns
// actor.Ignore when the child declined (the child stays Stopped), or a
// *StartError.
func (s *supervisor) start(ctx *actor.Context, c *child) error {
	return c.proc.start(ctx, c.spec.ID, c.spec.Start, func(kind ReportKind, pid actor.PID, err error) {
		s.rep.child(kind, c.spec.ID, pid, err)
	})
}

// terminate stops a running child within its limit and marks it Stopped.
func (s *supervisor) terminate(ctx *actor.Context, c *child) {
	c.proc.terminate(ctx, s.cfg.clock, s.rep, c.spec.ID, c.spec.Shutdown.effective(c.spec.Type))
}

// stopAll stops every child, one at a time in reverse start order.
func (s *supervisor) stopAll(ctx *actor.Context) {
	stopReverse(len(s.kids), func(i int) { s.terminate(ctx, &s.kids[i]) })
}

// shutdown stops the children and returns the supervisor's exit reason.
func (s *supervisor) shutdown(ctx *actor.Context, reason error) error {
	return shutdownWith(s.rep, func() { s.stopAll(ctx) }, reason)
}

// Receive implements actor.Receiver.
func (s *supervisor) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case actor.Exit:
		if fromParent(ctx, m) {
			return s.shutdown(ctx, m.Reason)
		}
		for i := range s.kids {
			if c := &s.kids[i]; c.state == Running && c.pid == m.From {
				return s.handle(ctx, event{kind: evExit, id: c.spec.ID, reason: m.Reason})
			}
		}
		return nil // a stale Exit of a child already stopped, or a stranger
	case retryMsg:
		return s.handle(ctx, event{kind: evRetry, id: m.id})
	case stopMsg:
		return s.shutdown(ctx, m.reason)
	case *actor.Request:
		s.request(ctx, m)
		return nil
	}
	s.rep.log.Warn().Type("type", msg).Msg("supervisor dropped unexpected message")
	return nil
}

// handle runs one decision and carries out its actions.
func (s *supervisor) handle(ctx *actor.Context, ev event) error {
	w, acts := decide(s.pol, s.kids, s.window, ev, s.cfg.clock.Now())
	s.window = w
	for _, a := range acts {
		i := indexOf(s.kids, a.id)
		switch a.kind {
		case actReport:
			s.rep.child(ReportTerminated, a.id, s.kids[i].pid, a.reason)
		case actClear:
			s.kids[i].pid, s.kids[i].state = actor.PID{}, Stopped
		case actForget:
			s.kids = append(s.kids[:i], s.kids[i+1:]...)
		case actTerminate:
			s.terminate(ctx, &s.kids[i])
		case actStart:
			c := &s.kids[i]
			s.rep.child(ReportRestarting, a.id, actor.PID{}, nil)
			if err := s.start(ctx, c); err != nil && !errors.Is(err, actor.Ignore) {
				// Retry through the mailbox, so requests (TerminateChild,
				// DeleteChild, Stop) get in between attempts.
				c.state = Restarting
				_ = ctx.Send(ctx.Self(), retryMsg{id: a.id})
				return nil
			}
		case actShutdown:
			if a.intensity {
				s.rep.supervisor(ReportIntensity, a.reason)
			}
			return s.shutdown(ctx, a.reason)
		}
	}
	return nil
}

// request answers one API call.
func (s *supervisor) request(ctx *actor.Context, req *actor.Request) {
	switch m := req.Message().(type) {
	case startChildReq:
		pid, err := s.startChild(ctx, m.spec)
		req.Reply(pidReply{pid: pid, err: err})
	case terminateReq:
		i := indexOf(s.kids, m.id)
		if i < 0 {
			req.Reply(errReply{err: ErrNotFound})
			return
		}
		s.terminate(ctx, &s.kids[i])
		if s.kids[i].spec.Restart == Temporary {
			s.kids = append(s.kids[:i], s.kids[i+1:]...)
		}
		req.Reply(errReply{})
	case restartReq:
		i := indexOf(s.kids, m.id)
		if i < 0 {
			req.Reply(pidReply{err: ErrNotFound})
			return
		}
		c := &s.kids[i]
		if err := c.busy(); err != nil {
			req.Reply(pidReply{err: err})
			return
		}
		err := s.start(ctx, c)
		req.Reply(pidReply{pid: c.pid, err: err})
	case deleteReq:
		i := indexOf(s.kids, m.id)
		switch {
		case i < 0:
			req.Reply(errReply{err: ErrNotFound})
		case s.kids[i].busy() != nil:
			req.Reply(errReply{err: s.kids[i].busy()})
		default:
			s.kids = append(s.kids[:i], s.kids[i+1:]...)
			req.Reply(errReply{})
		}
	case whichReq:
		out := make([]ChildInfo, len(s.kids))
		for i, c := range s.kids {
			out[i] = c.info(c.spec.ID, c.spec.Type)
		}
		req.Reply(out)
	case countReq:
		var n Counts
		for _, c := range s.kids {
			n.add(c.spec.Type, c.state)
		}
		req.Reply(n)
	case getSpecReq:
		i := indexOf(s.kids, m.id)
		if i < 0 {
			req.Reply(specReply{err: ErrNotFound})
			return
		}
		req.Reply(specReply{spec: s.kids[i].spec})
	default:
		req.Reply(errReply{err: ErrNotSupervisor})
	}
}

func (s *supervisor) startChild(ctx *actor.Context, spec ChildSpec) (actor.PID, error) {
	if err := spec.validate(); err != nil {
		return actor.PID{}, err
	}
	if i := indexOf(s.kids, spec.ID); i >= 0 {
		return s.kids[i].taken()
	}
	s.kids = append(s.kids, child{spec: spec})
	i := len(s.kids) - 1
	err := s.start(ctx, &s.kids[i])
	switch {
	case err == nil:
		return s.kids[i].pid, nil
	case errors.Is(err, actor.Ignore):
		if spec.Restart == Temporary {
			s.kids = s.kids[:i]
		}
		return actor.PID{}, actor.Ignore
	}
	s.kids = s.kids[:i] // a child that failed to start is not kept
	return actor.PID{}, err
}

// call sends a request to a supervisor and asserts the reply type.
func call[R any](ctx context.Context, sup actor.PID, req any) (R, error) {
	var zero R
	v, err := actor.Call(ctx, sup, req)
	if err != nil {
		return zero, err
	}
	r, ok := v.(R)
	if !ok {
		return zero, ErrNotSupervisor
	}
	return r, nil
}

// StartChild adds a child to a running supervisor and starts it; the spec
// is appended to the start order. It returns the child's PID, or:
// ErrAlreadyStarted with the PID of the running child that has the ID;
// ErrAlreadyPresent if a stopped child has the ID; an error wrapping
// ErrInvalidSpec; actor.Ignore if the start function declined (the spec is
// kept unless the child is Temporary); a *StartError if it failed (the spec
// is not kept); or a *actor.CallError if the supervisor cannot be reached in
// time (ctx's deadline, actor.DefaultCallTimeout without one).
func StartChild(ctx context.Context, sup actor.PID, spec ChildSpec) (actor.PID, error) {
	r, err := call[pidReply](ctx, sup, startChildReq{spec: spec})
	if err != nil {
		return actor.PID{}, err
	}
	return r.pid, r.err
}

// TerminateChild stops the child id within its shutdown limit. The spec is
// kept (and RestartChild can start it again) unless the child is Temporary.
// Terminating a child that is not running, or whose restart is being
// retried, stops the retries. It returns ErrNotFound, or a *actor.CallError.
func TerminateChild(ctx context.Context, sup actor.PID, id string) error {
	r, err := call[errReply](ctx, sup, terminateReq{id: id})
	if err != nil {
		return err
	}
	return r.err
}

// RestartChild starts the stopped child id again and returns its new PID.
// It returns ErrNotFound, ErrRunning, ErrRestarting, actor.Ignore, a
// *StartError, or a *actor.CallError.
func RestartChild(ctx context.Context, sup actor.PID, id string) (actor.PID, error) {
	r, err := call[pidReply](ctx, sup, restartReq{id: id})
	if err != nil {
		return actor.PID{}, err
	}
	return r.pid, r.err
}

// DeleteChild removes the spec of the stopped child id. It returns
// ErrNotFound, ErrRunning, ErrRestarting, or a *actor.CallError.
func DeleteChild(ctx context.Context, sup actor.PID, id string) error {
	r, err := call[errReply](ctx, sup, deleteReq{id: id})
	if err != nil {
		return err
	}
	return r.err
}

// WhichChildren lists the children in start order. It returns a
// *actor.CallError if the supervisor cannot be reached, ErrNotSupervisor if
// sup is another kind of process.
func WhichChildren(ctx context.Context, sup actor.PID) ([]ChildInfo, error) {
	return call[[]ChildInfo](ctx, sup, whichReq{})
}

// CountChildren counts the children. Errors as WhichChildren.
func CountChildren(ctx context.Context, sup actor.PID) (Counts, error) {
	return call[Counts](ctx, sup, countReq{})
}

// GetChildSpec returns the spec of child id. It returns ErrNotFound or a
// *actor.CallError.
func GetChildSpec(ctx context.Context, sup actor.PID, id string) (ChildSpec, error) {
	r, err := call[specReply](ctx, sup, getSpecReq{id: id})
	if err != nil {
		return ChildSpec{}, err
	}
	return r.spec, r.err
}

// Stop stops a Supervisor or a DynamicSupervisor: its children are stopped
// (in reverse start order; in parallel for a DynamicSupervisor), each within
// its shutdown limit, then it exits with actor.Normal. Stop returns when it
// has exited. It returns actor.NoProc if sup is not alive, ctx's error if it
// has not exited when ctx ends (it goes on stopping), its exit reason if
// that is not Normal, and actor.ErrNilNode for a nil n.
func Stop(ctx context.Context, n *actor.Node, sup actor.PID) error {
	if n == nil {
		return actor.ErrNilNode
	}
	exited := n.WatchExit(sup)
	if err := n.Send(sup, stopMsg{reason: actor.Normal}); err != nil {
		return err
	}
	select {
	case reason := <-exited:
		if errors.Is(reason, actor.Normal) {
			return nil
		}
		return reason
	case <-ctx.Done():
		return ctx.Err()
	}
}

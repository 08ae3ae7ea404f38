package supervision

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// director is the process behind StartDirector: a Receiver that traps
// exits and owns its children, their plan positions and their restart
// timers on its own goroutine.
type director[A any] struct {
	cb   DirectorCallback[A]
	cfg  config
	def  DefaultSpec[A]
	kids []*dchild[A]
	rep  reporter
}

// dchild is a Director's record of one child.
type dchild[A any] struct {
	spec DirectorSpec[A] // resolved
	proc
	plan     planState
	restarts int    // restarts so far (by the plan or RestartChild)
	window   window // this child's restart window
	timer    Stopper
	gen      uint64 // tags timer and retry messages; bumped to cancel them
}

type (
	// dTimerMsg: the delay of a PlanRestartAfter (or of a full restart
	// window) has passed.
	dTimerMsg struct {
		id  string
		gen uint64
	}
	// dStartFailedMsg: a restart's start function failed; the failure is
	// handled as an exit of the child, through its plan.
	dStartFailedMsg struct {
		id  string
		gen uint64
		err error
	}
)

func newDirector[A any](cb DirectorCallback[A], opts []Option) (*director[A], []actor.SpawnOption) {
	d := &director[A]{cb: cb, cfg: buildConfig(opts)}
	sopts := []actor.SpawnOption{actor.WithTrapExit()}
	if d.cfg.named {
		sopts = append(sopts, actor.WithName(d.cfg.name))
	}
	return d, sopts
}

// Init runs the callback's Init and starts the children in order.
func (d *director[A]) Init(ctx *actor.Context) error {
	d.rep = newReporter(ctx.Node(), ctx.Self(), d.cfg.name)
	if d.cb == nil {
		return fmt.Errorf("%w: nil DirectorCallback", ErrInvalidSpec)
	}
	specs, def, err := callDirectorInit(ctx, d.cb)
	if err != nil {
		return err
	}
	if err := validateDefault(def); err != nil {
		return err
	}
	d.def = cloneDefault(def)
	for _, s := range specs {
		r, err := resolveDirectorSpec(s, d.def)
		if err != nil {
			return err
		}
		if d.find(r.ID) != nil {
			return fmt.Errorf("%w: %q", ErrDuplicateChild, r.ID)
		}
		d.kids = append(d.kids, d.newChild(r))
	}
	for _, c := range d.kids {
		if err := d.start(ctx, c); err != nil && !errors.Is(err, actor.Ignore) {
			d.stopAll(ctx)
			return err
		}
	}
	return nil
}

func callDirectorInit[A any](ctx *actor.Context, cb DirectorCallback[A]) (specs []DirectorSpec[A], def DefaultSpec[A], err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &actor.PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return cb.Init(ctx)
}

func cloneDefault[A any](def DefaultSpec[A]) DefaultSpec[A] {
	def.Args = slices.Clone(def.Args)
	def.Plan = slices.Clone(def.Plan)
	def.Modules = slices.Clone(def.Modules)
	return def
}

func (d *director[A]) newChild(spec DirectorSpec[A]) *dchild[A] {
	return &dchild[A]{spec: spec, window: newWindow(max(d.cfg.maxRestarts, 1), d.cfg.period)}
}

func (d *director[A]) find(id string) *dchild[A] {
	for _, c := range d.kids {
		if c.spec.ID == id {
			return c
		}
	}
	return nil
}

func (d *director[A]) remove(c *dchild[A]) {
	d.kids = slices.DeleteFunc(d.kids, func(k *dchild[A]) bool { return k == c })
}

// start runs a child's start function with its args. It returns
// actor.Ignore when the child declined (it stays Stopped) or a
// *StartError.
func (d *director[A]) start(ctx *actor.Context, c *dchild[A]) error {
	start := func(ctx *actor.Context) (actor.PID, error) { return c.spec.Start(ctx, slices.Clone(c.spec.Args)) }
	return c.proc.start(ctx, c.spec.ID, start, func(kind ReportKind, pid actor.PID, err error) {
		d.report(kind, c, pid, err)
	})
}

// cancel stops a pending restart timer and voids pending retry messages.
func (d *director[A]) cancel(c *dchild[A]) {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.gen++
}

// terminate stops a child (running or not) and leaves it Stopped.
func (d *director[A]) terminate(ctx *actor.Context, c *dchild[A]) {
	d.cancel(c)
	c.proc.terminate(ctx, d.cfg.clock, d.rep, c.spec.ID, c.spec.TerminateTimeout)
}

// stopAll stops every child, one at a time, in reverse start order.
func (d *director[A]) stopAll(ctx *actor.Context) {
	stopReverse(len(d.kids), func(i int) { d.terminate(ctx, d.kids[i]) })
}

// shutdown stops the children and returns the Director's exit reason.
func (d *director[A]) shutdown(ctx *actor.Context, reason error) error {
	return shutdownWith(d.rep, func() { d.stopAll(ctx) }, reason)
}

// Receive implements actor.Receiver.
func (d *director[A]) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case actor.Exit:
		d.dbgExit(m)
		if fromParent(ctx, m) {
			return d.shutdown(ctx, m.Reason)
		}
		for _, c := range d.kids {
			if c.state == Running && c.pid == m.From {
				return d.exited(ctx, c, m.From, m.Reason)
			}
		}
		return nil // a stale Exit of a child already stopped, or a stranger
	case dTimerMsg:
		c := d.find(m.id)
		d.dbgTimer(m.id, m.gen, c != nil && c.gen == m.gen)
		if c == nil || c.gen != m.gen || c.state != Restarting {
			return nil // cancelled meanwhile
		}
		c.timer = nil
		return d.restart(ctx, c)
	case dStartFailedMsg:
		c := d.find(m.id)
		if c == nil || c.gen != m.gen || c.state != Restarting {
			return nil
		}
		return d.exited(ctx, c, actor.PID{}, m.err)
	case stopMsg:
		return d.shutdown(ctx, m.reason)
	case *actor.Request:
		d.request(ctx, m)
		return nil
	}
	d.rep.log.Warn().Type("type", msg).Msg("director dropped unexpected message")
	return nil
}

// exited walks the child's plan for one exit (or failed restart) and
// carries out the element.
func (d *director[A]) exited(ctx *actor.Context, c *dchild[A], pid actor.PID, reason error) error {
	c.pid, c.state = actor.PID{}, Stopped
	st, e, exhausted, err := planStep(c.plan, c.spec.Plan, c.spec.Count, reason)
	c.plan = st
	if !actor.IsNormalExit(reason) {
		d.report(ReportTerminated, c, pid, reason)
	}
	switch {
	case err != nil:
		return d.shutdown(ctx, err)
	case exhausted:
		why := &MaxRestartPlanError{ID: c.spec.ID, Count: c.spec.Count, Reason: reason}
		d.report(ReportMaxRestartPlan, c, pid, reason)
		return d.shutdown(ctx, why)
	}
	switch e.kind {
	case KindRestart:
		return d.schedule(ctx, c, e.delay)
	case KindWait:
		c.state = Waiting
	case KindStop:
		why := e.reason
		if why == nil {
			why = &PlanStopError{ID: c.spec.ID, Reason: reason}
		}
		d.report(ReportPlanStop, c, pid, why)
		return d.shutdown(ctx, why)
	case KindDelete:
		d.cancel(c)
		d.remove(c)
	}
	return nil
}

// schedule restarts a child after delay, or later if its restart window is
// full: a child is never started more than the window allows, so a plan
// of PlanRestart on a child that fails at once cannot spin.
func (d *director[A]) schedule(ctx *actor.Context, c *dchild[A], delay time.Duration) error {
	delay = max(delay, c.window.wait(d.cfg.clock.Now()))
	if delay <= 0 {
		return d.restart(ctx, c)
	}
	d.cancel(c)
	c.state = Restarting
	node, self, msg := ctx.Node(), ctx.Self(), dTimerMsg{id: c.spec.ID, gen: c.gen}
	c.timer = d.cfg.clock.AfterFunc(delay, func() { _ = node.Send(self, msg) })
	d.reportDelay(c, delay)
	return nil
}

// restart starts a child again now, counting it in its window. A failed
// start comes back as a dStartFailedMsg, so requests get in between.
func (d *director[A]) restart(ctx *actor.Context, c *dchild[A]) error {
	c.window, _ = c.window.record(d.cfg.clock.Now())
	c.restarts++
	d.report(ReportRestarting, c, actor.PID{}, nil)
	err := d.start(ctx, c)
	if err != nil && !errors.Is(err, actor.Ignore) {
		d.cancel(c)
		c.state = Restarting
		_ = ctx.Send(ctx.Self(), dStartFailedMsg{id: c.spec.ID, gen: c.gen, err: err})
	}
	return nil
}

// request answers one API call.
func (d *director[A]) request(ctx *actor.Context, req *actor.Request) {
	d.dbgRequest(req)
	reply := func(v any) {
		d.dbgReply(req, v)
		req.Reply(v)
	}
	switch m := req.Message().(type) {
	case dStartReq[A]:
		pid, err := d.startChild(ctx, m.spec)
		reply(pidReply{pid: pid, err: err})
	case terminateReq:
		c := d.find(m.id)
		if c == nil {
			reply(errReply{err: ErrNotFound})
			return
		}
		d.terminate(ctx, c)
		reply(errReply{})
	case restartReq:
		c := d.find(m.id)
		switch {
		case c == nil:
			reply(pidReply{err: ErrNotFound})
		case c.busy() != nil:
			reply(pidReply{err: c.busy()})
		default:
			c.restarts++
			err := d.start(ctx, c)
			reply(pidReply{pid: c.pid, err: err})
		}
	case deleteReq:
		c := d.find(m.id)
		switch {
		case c == nil:
			reply(errReply{err: ErrNotFound})
		case c.busy() != nil:
			reply(errReply{err: c.busy()})
		default:
			d.cancel(c)
			d.remove(c)
			reply(errReply{})
		}
	case whichReq:
		out := make([]ChildInfo, len(d.kids))
		for i, c := range d.kids {
			out[i] = c.info(c.spec.ID, c.spec.Type)
		}
		reply(out)
	case countReq:
		var n Counts
		for _, c := range d.kids {
			n.add(c.spec.Type, c.state)
		}
		reply(n)
	case dGetPIDReq:
		c := d.find(m.id)
		switch {
		case c == nil:
			reply(pidReply{err: ErrNotFound})
		case c.state != Running:
			reply(pidReply{err: ErrNotRunning})
		default:
			reply(pidReply{pid: c.pid})
		}
	case dGetPIDsReq:
		out := []ChildPID{}
		for _, c := range d.kids {
			if c.state == Running {
				out = append(out, ChildPID{ID: c.spec.ID, PID: c.pid})
			}
		}
		reply(out)
	case dGetPlanReq:
		c := d.find(m.id)
		if c == nil {
			reply(planReply{err: ErrNotFound})
			return
		}
		reply(planReply{plan: slices.Clone(c.spec.Plan)})
	case dChangePlanReq:
		c := d.find(m.id)
		if c == nil {
			reply(errReply{err: ErrNotFound})
			return
		}
		plan := m.plan
		if len(plan) == 0 {
			plan = DefaultPlan()
		}
		if err := validatePlan(m.id, plan, c.spec.Count); err != nil {
			reply(errReply{err: err})
			return
		}
		c.spec.Plan, c.plan = plan, planState{}
		reply(errReply{})
	case dGetSpecReq[A]:
		c := d.find(m.id)
		if c == nil {
			reply(dSpecReply[A]{err: ErrNotFound})
			return
		}
		s := c.spec
		s.Args, s.Plan, s.Modules = slices.Clone(s.Args), slices.Clone(s.Plan), slices.Clone(s.Modules)
		reply(dSpecReply[A]{spec: s})
	case dGetDefaultReq[A]:
		reply(cloneDefault(d.def))
	case dSetDefaultReq[A]:
		if err := validateDefault(m.spec); err != nil {
			reply(errReply{err: err})
			return
		}
		d.def = cloneDefault(m.spec)
		reply(errReply{})
	default:
		reply(errReply{err: ErrNotSupervisor})
	}
}

func (d *director[A]) startChild(ctx *actor.Context, spec DirectorSpec[A]) (actor.PID, error) {
	r, err := resolveDirectorSpec(spec, d.def)
	if err != nil {
		return actor.PID{}, err
	}
	if c := d.find(r.ID); c != nil {
		return c.taken()
	}
	c := d.newChild(r)
	d.kids = append(d.kids, c)
	err = d.start(ctx, c)
	switch {
	case err == nil:
		return c.pid, nil
	case errors.Is(err, actor.Ignore):
		return actor.PID{}, actor.Ignore
	}
	d.remove(c) // a child that failed to start is not kept
	return actor.PID{}, err
}

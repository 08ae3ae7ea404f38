package supervision

import (
	"context"
	"errors"

	"github.com/arbor-otp/arbor/actor"
)

// Template is the child spec of a DynamicSupervisor (OTP's
// simple_one_for_one): every child runs the same Start function, with the
// argument given to StartChild. The zero values of Restart, Shutdown and
// Type mean a permanent worker given 5 s to stop.
type Template[A any] struct {
	// Start starts one child linked to the supervisor; ctx is the
	// supervisor's own context and arg the StartChild argument. Returning
	// actor.Ignore (or a zero PID and nil) declines: nothing is kept.
	Start    func(ctx *actor.Context, arg A) (actor.PID, error)
	Restart  Restart
	Shutdown Shutdown
	Type     ChildType
}

// DynamicSupervisor is the handle of a dynamic supervisor whose children
// take a start argument of type A. It is a small value; copy it freely.
type DynamicSupervisor[A any] struct{ pid actor.PID }

// DynamicOf wraps the PID of a running DynamicSupervisor[A] (for instance
// one found by name).
func DynamicOf[A any](pid actor.PID) DynamicSupervisor[A] { return DynamicSupervisor[A]{pid: pid} }

// PID returns the supervisor's process.
func (d DynamicSupervisor[A]) PID() actor.PID { return d.pid }

// StartDynamic starts a DynamicSupervisor from sp, with no children. Options
// that apply: WithIntensity, WithMaxChildren, WithName, WithClock. It
// returns an error wrapping ErrInvalidSpec for a template without Start,
// ErrInvalidOption for a negative WithMaxChildren or an invalid
// WithIntensity, actor.ErrNilNode for a nil sp, and the spawn errors of
// actor.
func StartDynamic[A any](sp actor.Spawner, tmpl Template[A], opts ...Option) (DynamicSupervisor[A], error) {
	if sp == nil {
		return DynamicSupervisor[A]{}, actor.ErrNilNode
	}
	d, sopts := newDynamic(tmpl, opts)
	pid, err := sp.Spawn(d, sopts...)
	return DynamicSupervisor[A]{pid: pid}, err
}

// StartDynamicLink is StartDynamic linked to the calling process, its
// parent.
func StartDynamicLink[A any](ctx *actor.Context, tmpl Template[A], opts ...Option) (DynamicSupervisor[A], error) {
	d, sopts := newDynamic(tmpl, opts)
	pid, err := ctx.SpawnLink(d, sopts...)
	return DynamicSupervisor[A]{pid: pid}, err
}

// DynamicSpec returns the ChildSpec of a DynamicSupervisor nested in a
// Supervisor: type Supervisor, permanent, shutdown Infinity.
func DynamicSpec[A any](id string, tmpl Template[A], opts ...Option) ChildSpec {
	return ChildSpec{
		ID:   id,
		Type: Supervisor,
		Start: func(ctx *actor.Context) (actor.PID, error) {
			d, err := StartDynamicLink(ctx, tmpl, opts...)
			return d.pid, err
		},
	}
}

// dynamic is the process behind StartDynamic.
type dynamic[A any] struct {
	cfg        config
	tmpl       Template[A]
	limit      Shutdown
	kids       map[actor.PID]A // running children and their arguments
	restarting map[uint64]A    // children whose restart is being retried
	nextKey    uint64
	window     window
	rep        reporter
}

type (
	startDynReq[A any] struct{ arg A }
	terminatePIDReq    struct{ pid actor.PID }
	retryDynMsg        struct{ key uint64 }
)

func newDynamic[A any](tmpl Template[A], opts []Option) (*dynamic[A], []actor.SpawnOption) {
	cfg := buildConfig(opts)
	d := &dynamic[A]{
		cfg:        cfg,
		tmpl:       tmpl,
		limit:      tmpl.Shutdown.effective(tmpl.Type),
		kids:       make(map[actor.PID]A),
		restarting: make(map[uint64]A),
		window:     newWindow(cfg.maxRestarts, cfg.period),
	}
	sopts := []actor.SpawnOption{actor.WithTrapExit()}
	if cfg.named {
		sopts = append(sopts, actor.WithName(cfg.name))
	}
	return d, sopts
}

// Init checks the template.
func (d *dynamic[A]) Init(ctx *actor.Context) error {
	d.rep = newReporter(ctx.Node(), ctx.Self(), d.cfg.name)
	if err := d.cfg.validate(true); err != nil {
		return err
	}
	spec := ChildSpec{ID: "template", Restart: d.tmpl.Restart, Shutdown: d.tmpl.Shutdown, Type: d.tmpl.Type}
	if d.tmpl.Start != nil {
		spec.Start = func(*actor.Context) (actor.PID, error) { return actor.PID{}, nil }
	}
	return spec.validate()
}

// start starts one child with arg. It returns actor.Ignore or a *StartError.
func (d *dynamic[A]) start(ctx *actor.Context, arg A) (actor.PID, error) {
	pid, err := startProcess(ctx, "", func(c *actor.Context) (actor.PID, error) { return d.tmpl.Start(c, arg) },
		func(kind ReportKind, pid actor.PID, err error) { d.rep.child(kind, "", pid, err) })
	if err != nil {
		return actor.PID{}, err
	}
	if d.tmpl.Restart == Temporary {
		var zero A
		arg = zero // a temporary child is never restarted: keep no argument
	}
	d.kids[pid] = arg
	return pid, nil
}

// Receive implements actor.Receiver.
func (d *dynamic[A]) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case actor.Exit:
		if fromParent(ctx, m) {
			return d.shutdown(ctx, m.Reason)
		}
		arg, ok := d.kids[m.From]
		if !ok {
			return nil
		}
		delete(d.kids, m.From)
		restart, report := needsRestart(d.tmpl.Restart, m.Reason)
		if report {
			d.rep.child(ReportTerminated, "", m.From, m.Reason)
		}
		if !restart {
			return nil
		}
		return d.restart(ctx, arg)
	case retryDynMsg:
		arg, ok := d.restarting[m.key]
		if !ok {
			return nil
		}
		delete(d.restarting, m.key)
		return d.restart(ctx, arg)
	case stopMsg:
		return d.shutdown(ctx, m.reason)
	case *actor.Request:
		d.request(ctx, m)
		return nil
	}
	d.rep.log.Warn().Type("type", msg).Msg("dynamic supervisor dropped unexpected message")
	return nil
}

// restart counts a restart against the intensity and starts the child again;
// a failed start is retried through the mailbox.
func (d *dynamic[A]) restart(ctx *actor.Context, arg A) error {
	w, ok := d.window.record(d.cfg.clock.Now())
	d.window = w
	if !ok {
		d.rep.supervisor(ReportIntensity, actor.Shutdown)
		return d.shutdown(ctx, actor.Shutdown)
	}
	d.rep.child(ReportRestarting, "", actor.PID{}, nil)
	if _, err := d.start(ctx, arg); err != nil && !errors.Is(err, actor.Ignore) {
		d.nextKey++
		d.restarting[d.nextKey] = arg
		_ = ctx.Send(ctx.Self(), retryDynMsg{key: d.nextKey})
	}
	return nil
}

// shutdown stops every child in parallel, each within the template's
// limit, and returns the exit reason.
func (d *dynamic[A]) shutdown(ctx *actor.Context, reason error) error {
	return shutdownWith(d.rep, func() {
		ts := make([]stopTarget, 0, len(d.kids))
		for pid := range d.kids {
			ts = append(ts, stopTarget{pid: pid, limit: d.limit})
		}
		res := shutdownChildren(ctx, d.cfg.clock, ts)
		for i := range ts {
			d.rep.stopped(ts[i], res[i])
		}
		clear(d.kids)
		clear(d.restarting)
	}, reason)
}

func (d *dynamic[A]) request(ctx *actor.Context, req *actor.Request) {
	switch m := req.Message().(type) {
	case startDynReq[A]:
		if d.cfg.maxChildren > 0 && len(d.kids)+len(d.restarting) >= d.cfg.maxChildren {
			req.Reply(pidReply{err: ErrMaxChildren})
			return
		}
		pid, err := d.start(ctx, m.arg)
		req.Reply(pidReply{pid: pid, err: err})
	case terminatePIDReq:
		if _, ok := d.kids[m.pid]; !ok {
			req.Reply(errReply{err: ErrNotFound})
			return
		}
		delete(d.kids, m.pid)
		t := stopTarget{pid: m.pid, limit: d.limit}
		d.rep.stopped(t, shutdownChild(ctx, d.cfg.clock, t))
		req.Reply(errReply{})
	case whichReq:
		out := make([]ChildInfo, 0, len(d.kids)+len(d.restarting))
		for pid := range d.kids {
			out = append(out, ChildInfo{PID: pid, Type: d.tmpl.Type, State: Running})
		}
		for range d.restarting {
			out = append(out, ChildInfo{Type: d.tmpl.Type, State: Restarting})
		}
		req.Reply(out)
	case countReq:
		n := Counts{Specs: len(d.kids) + len(d.restarting), Active: len(d.kids)}
		if d.tmpl.Type == Supervisor {
			n.Supervisors = n.Specs
		} else {
			n.Workers = n.Specs
		}
		req.Reply(n)
	default:
		req.Reply(errReply{err: ErrNotSupervisor})
	}
}

// StartChild starts a child running the template's Start with arg, and
// returns its PID. It returns ErrMaxChildren at the WithMaxChildren limit,
// actor.Ignore if the start function declined, a *StartError if it failed,
// or a *actor.CallError if the supervisor cannot be reached in time.
func (d DynamicSupervisor[A]) StartChild(ctx context.Context, arg A) (actor.PID, error) {
	r, err := call[pidReply](ctx, d.pid, startDynReq[A]{arg: arg})
	if err != nil {
		return actor.PID{}, err
	}
	return r.pid, r.err
}

// TerminateChild stops the child pid within the template's shutdown limit
// and forgets it. It returns ErrNotFound if pid is not a running child of
// the supervisor, or a *actor.CallError.
func (d DynamicSupervisor[A]) TerminateChild(ctx context.Context, pid actor.PID) error {
	r, err := call[errReply](ctx, d.pid, terminatePIDReq{pid: pid})
	if err != nil {
		return err
	}
	return r.err
}

// WhichChildren lists the children, in no particular order. It returns a
// *actor.CallError if the supervisor cannot be reached.
func (d DynamicSupervisor[A]) WhichChildren(ctx context.Context) ([]ChildInfo, error) {
	return call[[]ChildInfo](ctx, d.pid, whichReq{})
}

// CountChildren counts the children. Errors as WhichChildren.
func (d DynamicSupervisor[A]) CountChildren(ctx context.Context) (Counts, error) {
	return call[Counts](ctx, d.pid, countReq{})
}

// Stop stops the supervisor; see the package-level Stop.
func (d DynamicSupervisor[A]) Stop(ctx context.Context, n *actor.Node) error {
	return Stop(ctx, n, d.pid)
}

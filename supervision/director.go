package supervision

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// DefaultDirectorShutdown is the TerminateTimeout of a Director worker whose
// spec leaves it zero (the Director's 1000 ms); a supervisor child gets
// Infinity.
const DefaultDirectorShutdown = Shutdown(time.Second)

// DirectorSpec describes one child of a Director. Its start function takes
// arguments of type A, so that a DefaultSpec can supply some of them.
type DirectorSpec[A any] struct {
	// ID names the child inside its Director; it must be unique there.
	ID string
	// Start starts the child linked to the Director (ctx is the Director's
	// own context: use behaviour.StartLink(ctx, ...) or ctx.SpawnLink) with
	// Args. Returning actor.Ignore (or a zero PID and nil) leaves the child
	// stopped. It may be nil when Append is set and the DefaultSpec has
	// one.
	Start func(ctx *actor.Context, args []A) (actor.PID, error)
	// Args are passed to Start.
	Args []A
	// Plan says what to do on each exit of the child, one element per
	// exit; empty means DefaultPlan.
	Plan Plan
	// Count is how many times the plan is run (0 means 1; CountInfinity
	// forever). The exit after the last run ends the Director with a
	// *MaxRestartPlanError.
	Count Count
	// TerminateTimeout is the time the child is given to exit when the
	// Director stops it: Timeout(d), BrutalKill (the seed's 0; Timeout(0)
	// is BrutalKill) or Infinity. Zero means 1 s for a worker, Infinity for
	// a supervisor.
	TerminateTimeout Shutdown
	// Type tells a worker from a supervisor.
	Type ChildType
	// Modules is informational (the seed's release-handling modules); it
	// is kept and reported.
	Modules []string
	// Append merges the spec with the Director's DefaultSpec: see
	// DefaultSpec.
	Append bool
}

// DefaultSpec is a Director's default child spec: a child spec without ID
// and Append. A DirectorSpec with Append set is merged with it when it is
// added (StartChild, Init): the start function is the child's, or the
// default's if the child has none; Args are the default's followed by the
// child's; Plan is the default's followed by the child's (DefaultPlan if
// the child gives none); Count and TerminateTimeout add up (the child's
// resolved values plus the default's; Infinity absorbs, BrutalKill counts
// as 0); Modules are the default's followed by the child's. Zero fields
// add nothing. A spec without Append ignores the default. Changing the
// default (ChangeDefaultChildSpec) affects children added afterwards.
type DefaultSpec[A any] struct {
	Start            func(ctx *actor.Context, args []A) (actor.PID, error)
	Args             []A
	Plan             Plan
	Count            Count
	TerminateTimeout Shutdown
	Modules          []string
}

// DirectorCallback is a Director's callback: Init runs inside the
// Director's start (on the Director's goroutine) and returns the initial
// children, started in order, and the default child spec. Returning
// actor.Ignore ends the Director's start with actor.Ignore.
type DirectorCallback[A any] interface {
	Init(ctx *actor.Context) ([]DirectorSpec[A], DefaultSpec[A], error)
}

// DirectorInit adapts a function to DirectorCallback.
type DirectorInit[A any] func(ctx *actor.Context) ([]DirectorSpec[A], DefaultSpec[A], error)

// Init calls f.
func (f DirectorInit[A]) Init(ctx *actor.Context) ([]DirectorSpec[A], DefaultSpec[A], error) {
	return f(ctx)
}

// ChildPID is one row of GetPIDs.
type ChildPID struct {
	ID  string
	PID actor.PID
}

// MaxRestartPlanError is the exit reason of a Director whose child exited
// once more after its plan had run Count times (the seed's
// reached_max_restart_plan). errors.Is(err, ErrMaxRestartPlan) matches it.
type MaxRestartPlanError struct {
	ID     string // the child
	Count  Count  // its plan's count
	Reason error  // its last exit reason
}

func (e *MaxRestartPlanError) Error() string {
	return fmt.Sprintf("supervision: reached max restart plan: child %q ran its plan %v times, then exited: %v",
		e.ID, e.Count, e.Reason)
}

// Is matches ErrMaxRestartPlan.
func (e *MaxRestartPlanError) Is(target error) bool { return target == ErrMaxRestartPlan }

// PlanStopError is the exit reason of a Director ended by a child's
// PlanStop: it carries the child's ID and exit reason. errors.Is(err,
// ErrPlanStop) matches it. (It does not unwrap to the child's reason, so a
// Director stopped after a child's normal exit does not look normal to its
// own supervisor.)
type PlanStopError struct {
	ID     string
	Reason error
}

func (e *PlanStopError) Error() string {
	return fmt.Sprintf("supervision: stopped by plan of child %q, which exited: %v", e.ID, e.Reason)
}

// Is matches ErrPlanStop.
func (e *PlanStopError) Is(target error) bool { return target == ErrPlanStop }

// Director is the handle of a running Director whose children take start
// arguments of type A. A Director is a supervisor in which each child
// carries a Plan: on each exit of the child the next PlanElement says
// whether to restart it (at once or after a delay), leave it waiting for
// RestartChild, delete it, or stop the whole Director; after the plan has
// run Count times, the next exit ends the Director with a
// *MaxRestartPlanError. Each child's restarts are spread out by a restart
// window (WithIntensity) so that no plan can spin on a child that fails at
// once. docs/director.md is the guide. A Director answers the package's
// WhichChildren, CountChildren, TerminateChild, RestartChild, DeleteChild
// and Stop too. The handle is a small value; copy it freely. Every method is a call to the Director process: ctx's deadline
// bounds the wait (actor.DefaultCallTimeout without one), and each returns
// a *actor.CallError when the Director cannot be reached in time, and
// ErrNotSupervisor when the PID is not a Director[A].
type Director[A any] struct{ pid actor.PID }

// DirectorOf wraps the PID of a running Director[A] (one found by name).
func DirectorOf[A any](pid actor.PID) Director[A] { return Director[A]{pid: pid} }

// PID returns the Director's process.
func (d Director[A]) PID() actor.PID { return d.pid }

// StartDirector starts a Director from sp (a *actor.Node or a
// *actor.Context): it runs cb.Init, then starts the children in order and
// returns once they all run. Options that apply: WithName, WithClock,
// WithIntensity (each child's restart window, see the package guide) and
// WithDebug. If a child fails to start, those started are stopped in
// reverse order, no process remains and the error is a *StartError. It also
// returns Init's error, an error wrapping ErrInvalidSpec or ErrInvalidPlan
// for a bad spec, ErrDuplicateChild, actor.Ignore when Init returns it, and
// the spawn errors of actor.
func StartDirector[A any](sp actor.Spawner, cb DirectorCallback[A], opts ...Option) (Director[A], error) {
	if sp == nil {
		return Director[A]{}, actor.ErrNilNode
	}
	d, sopts := newDirector(cb, opts)
	pid, err := sp.Spawn(d, sopts...)
	return Director[A]{pid: pid}, err
}

// StartDirectorLink is StartDirector linked to the calling process, its
// parent: when the parent exits, the Director stops its children and exits
// with the same reason.
func StartDirectorLink[A any](ctx *actor.Context, cb DirectorCallback[A], opts ...Option) (Director[A], error) {
	d, sopts := newDirector(cb, opts)
	pid, err := ctx.SpawnLink(d, sopts...)
	return Director[A]{pid: pid}, err
}

// DirectorChildSpec returns the ChildSpec of a Director nested in a
// Supervisor: type Supervisor, permanent, shutdown Infinity.
func DirectorChildSpec[A any](id string, cb DirectorCallback[A], opts ...Option) ChildSpec {
	return ChildSpec{
		ID:   id,
		Type: Supervisor,
		Start: func(ctx *actor.Context) (actor.PID, error) {
			d, err := StartDirectorLink(ctx, cb, opts...)
			return d.pid, err
		},
	}
}

// WithDebug makes a Director log every request it gets, every reply it
// sends, every exit signal and every timer event as zerolog events at info
// level with the field "dbg" (request, reply, exit, timer), as the seed's
// sys trace. Other supervisors ignore it.
func WithDebug() Option { return func(c *config) { c.debug = true } }

// requests of the Director protocol (besides terminateReq, restartReq,
// deleteReq, whichReq, countReq and stopMsg, shared with Supervisor).
type (
	dStartReq[A any] struct{ spec DirectorSpec[A] }
	dGetPIDReq       struct{ id string }
	dGetPIDsReq      struct{}
	dGetPlanReq      struct{ id string }
	dChangePlanReq   struct {
		id   string
		plan Plan
	}
	dGetSpecReq[A any]    struct{ id string }
	dGetDefaultReq[A any] struct{}
	dSetDefaultReq[A any] struct{ spec DefaultSpec[A] }
	planReply             struct {
		plan Plan
		err  error
	}
	dSpecReply[A any] struct {
		spec DirectorSpec[A]
		err  error
	}
)

// StartChild adds a child (merged with the default spec if Append is set)
// and starts it; it is appended to the start order. It returns the child's
// PID, or ErrAlreadyStarted with the PID of the running child that has the
// ID; ErrAlreadyPresent if a child not running has it; an error wrapping
// ErrInvalidSpec (no ID, no start function) or ErrInvalidPlan (see
// validation in the package guide); actor.Ignore if the start function
// declined (the spec is kept, the child stopped); a *StartError if it
// failed (the spec is not kept).
func (d Director[A]) StartChild(ctx context.Context, spec DirectorSpec[A]) (actor.PID, error) {
	r, err := call[pidReply](ctx, d.pid, dStartReq[A]{spec: spec})
	if err != nil {
		return actor.PID{}, err
	}
	return r.pid, r.err
}

// RestartChild starts the child id again if it is stopped or waiting, and
// returns its new PID. Its plan position is kept. It returns ErrNotFound,
// ErrRunning, ErrRestarting (a delayed restart is pending), actor.Ignore or
// a *StartError.
func (d Director[A]) RestartChild(ctx context.Context, id string) (actor.PID, error) {
	return RestartChild(ctx, d.pid, id)
}

// TerminateChild stops the child id within its TerminateTimeout; its spec
// is kept (stopped) and a pending delayed restart is cancelled. It returns
// ErrNotFound.
func (d Director[A]) TerminateChild(ctx context.Context, id string) error {
	return TerminateChild(ctx, d.pid, id)
}

// DeleteChild removes the spec of the child id, which must not be running
// or restarting. It returns ErrNotFound, ErrRunning or ErrRestarting.
func (d Director[A]) DeleteChild(ctx context.Context, id string) error {
	return DeleteChild(ctx, d.pid, id)
}

// WhichChildren lists the children in start order with their state:
// Running (with PID), Restarting (a delayed restart pending), Waiting (the
// plan said PlanWait) or Stopped.
func (d Director[A]) WhichChildren(ctx context.Context) ([]ChildInfo, error) {
	return WhichChildren(ctx, d.pid)
}

// CountChildren counts the children's specs, running ones, workers and
// supervisors.
func (d Director[A]) CountChildren(ctx context.Context) (Counts, error) {
	return CountChildren(ctx, d.pid)
}

// GetPID returns the PID of the running child id. It returns ErrNotFound,
// or ErrNotRunning for a child that is not running.
func (d Director[A]) GetPID(ctx context.Context, id string) (actor.PID, error) {
	r, err := call[pidReply](ctx, d.pid, dGetPIDReq{id: id})
	if err != nil {
		return actor.PID{}, err
	}
	return r.pid, r.err
}

// GetPIDs returns the running children, in start order.
func (d Director[A]) GetPIDs(ctx context.Context) ([]ChildPID, error) {
	return call[[]ChildPID](ctx, d.pid, dGetPIDsReq{})
}

// GetPlan returns the plan of child id. It returns ErrNotFound.
func (d Director[A]) GetPlan(ctx context.Context, id string) (Plan, error) {
	r, err := call[planReply](ctx, d.pid, dGetPlanReq{id: id})
	if err != nil {
		return nil, err
	}
	return r.plan, r.err
}

// ChangePlan replaces the plan of child id (an empty plan is DefaultPlan)
// and resets its position: the next exit uses the first element, and
// Count runs of the new plan are allowed. The child's Count is kept. It
// returns ErrNotFound or an error wrapping ErrInvalidPlan.
func (d Director[A]) ChangePlan(ctx context.Context, id string, plan Plan) error {
	r, err := call[errReply](ctx, d.pid, dChangePlanReq{id: id, plan: slices.Clone(plan)})
	if err != nil {
		return err
	}
	return r.err
}

// GetChildSpec returns the spec of child id as the Director holds it:
// merged with the default spec if Append is set, with defaults filled in
// (Plan, Count, TerminateTimeout). It returns ErrNotFound.
func (d Director[A]) GetChildSpec(ctx context.Context, id string) (DirectorSpec[A], error) {
	r, err := call[dSpecReply[A]](ctx, d.pid, dGetSpecReq[A]{id: id})
	if err != nil {
		return DirectorSpec[A]{}, err
	}
	return r.spec, r.err
}

// GetDefaultChildSpec returns the Director's default child spec.
func (d Director[A]) GetDefaultChildSpec(ctx context.Context) (DefaultSpec[A], error) {
	return call[DefaultSpec[A]](ctx, d.pid, dGetDefaultReq[A]{})
}

// ChangeDefaultChildSpec replaces the default child spec; children added
// afterwards with Append merge with it. It returns an error wrapping
// ErrInvalidPlan for a plan with unreachable elements.
func (d Director[A]) ChangeDefaultChildSpec(ctx context.Context, spec DefaultSpec[A]) error {
	r, err := call[errReply](ctx, d.pid, dSetDefaultReq[A]{spec: spec})
	if err != nil {
		return err
	}
	return r.err
}

// Stop stops the Director: its children are stopped in reverse start
// order, each within its TerminateTimeout, then it exits with actor.Normal.
// Errors as the package's Stop.
func (d Director[A]) Stop(ctx context.Context, n *actor.Node) error {
	return Stop(ctx, n, d.pid)
}

// resolveDirectorSpec validates a child spec and returns it as the
// Director holds it: merged with def if Append is set, defaults filled in.
func resolveDirectorSpec[A any](s DirectorSpec[A], def DefaultSpec[A]) (DirectorSpec[A], error) {
	if s.ID == "" {
		return s, fmt.Errorf("%w: empty child ID", ErrInvalidSpec)
	}
	if s.Type > Supervisor {
		return s, fmt.Errorf("%w: child %q has type %d", ErrInvalidSpec, s.ID, s.Type)
	}
	if s.TerminateTimeout < Infinity || def.TerminateTimeout < Infinity {
		return s, fmt.Errorf("%w: child %q has terminate timeout %d", ErrInvalidSpec, s.ID, s.TerminateTimeout)
	}
	if s.Count < CountInfinity || def.Count < CountInfinity {
		return s, fmt.Errorf("%w: child %q: count %d", ErrInvalidPlan, s.ID, s.Count)
	}
	out := s
	out.Args = slices.Clone(s.Args)
	out.Plan = slices.Clone(s.Plan)
	out.Modules = slices.Clone(s.Modules)
	if len(out.Plan) == 0 {
		out.Plan = DefaultPlan()
	}
	if out.Count == 0 {
		out.Count = 1
	}
	out.TerminateTimeout = directorShutdown(s.TerminateTimeout, s.Type)
	if s.Append {
		if out.Start == nil {
			out.Start = def.Start
		}
		out.Args = append(slices.Clone(def.Args), out.Args...)
		out.Plan = append(slices.Clone(def.Plan), out.Plan...)
		out.Modules = append(slices.Clone(def.Modules), out.Modules...)
		out.Count = out.Count.add(def.Count)
		out.TerminateTimeout = addShutdown(out.TerminateTimeout, def.TerminateTimeout)
	}
	if out.Start == nil {
		return s, fmt.Errorf("%w: child %q has no Start function", ErrInvalidSpec, s.ID)
	}
	if err := validatePlan(s.ID, out.Plan, out.Count); err != nil {
		return s, err
	}
	return out, nil
}

// directorShutdown resolves a zero TerminateTimeout: 1 s for a worker,
// Infinity for a supervisor.
func directorShutdown(s Shutdown, t ChildType) Shutdown {
	switch {
	case s != DefaultShutdown:
		return s
	case t == Supervisor:
		return Infinity
	}
	return DefaultDirectorShutdown
}

// addShutdown adds a default spec's terminate timeout to a child's resolved
// one: Infinity absorbs, BrutalKill and zero count as 0, a zero sum is
// BrutalKill.
func addShutdown(child, def Shutdown) Shutdown {
	if child == Infinity || def == Infinity {
		return Infinity
	}
	ms := func(s Shutdown) Shutdown { return max(s, 0) }
	if sum := ms(child) + ms(def); sum > 0 {
		return sum
	}
	return BrutalKill
}

// validateDefault checks a default spec's own fields.
func validateDefault[A any](def DefaultSpec[A]) error {
	if def.TerminateTimeout < Infinity {
		return fmt.Errorf("%w: default spec has terminate timeout %d", ErrInvalidSpec, def.TerminateTimeout)
	}
	if def.Count < CountInfinity {
		return fmt.Errorf("%w: default spec: count %d", ErrInvalidPlan, def.Count)
	}
	for i, e := range def.Plan {
		if e.terminal() {
			return fmt.Errorf("%w: default spec: plan %v: %v (index %d) would hide the plan of every appended child",
				ErrInvalidPlan, def.Plan, e, i)
		}
		if e.kind < KindRestart || e.kind > KindFunc || e.kind == KindFunc && e.fn == nil {
			return fmt.Errorf("%w: default spec: plan element %d is invalid", ErrInvalidPlan, i)
		}
	}
	return nil
}

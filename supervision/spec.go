package supervision

import (
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// ChildSpec describes one child of a Supervisor: how to start it, whether to
// restart it, and how long it may take to stop. The zero values of Restart,
// Shutdown and Type are OTP's defaults: a permanent worker given 5 s to stop
// (a supervisor child is given Infinity).
type ChildSpec struct {
	// ID names the child inside its supervisor; it must be unique there.
	ID string
	// Start starts the child linked to the supervisor and returns its PID.
	// ctx is the supervisor's own process context: start the child with
	// behaviour.StartLink(ctx, ...) or ctx.SpawnLink(...), so the child's
	// Parent is the supervisor. Returning actor.Ignore (or a zero PID and a
	// nil error) leaves the child not running, as OTP's ignore.
	Start func(ctx *actor.Context) (actor.PID, error)
	// Restart says when the child is restarted after it exits.
	Restart Restart
	// Shutdown is how long the child is given to exit after the shutdown
	// signal before it is killed.
	Shutdown Shutdown
	// Type tells a worker from a supervisor.
	Type ChildType
	// Significant marks a child whose own exit may end the supervisor (see
	// WithAutoShutdown). Only Transient and Temporary children may be
	// significant.
	Significant bool
}

// validate checks a spec for StartChild and the initial child list.
func (s ChildSpec) validate() error {
	switch {
	case s.ID == "":
		return fmt.Errorf("%w: empty child ID", ErrInvalidSpec)
	case s.Start == nil:
		return fmt.Errorf("%w: child %q has no Start function", ErrInvalidSpec, s.ID)
	case s.Restart > Temporary:
		return fmt.Errorf("%w: child %q has restart type %d", ErrInvalidSpec, s.ID, s.Restart)
	case s.Type > Supervisor:
		return fmt.Errorf("%w: child %q has type %d", ErrInvalidSpec, s.ID, s.Type)
	case s.Shutdown < Infinity:
		return fmt.Errorf("%w: child %q has shutdown %d", ErrInvalidSpec, s.ID, s.Shutdown)
	case s.Significant && s.Restart == Permanent:
		return fmt.Errorf("%w: child %q is significant and permanent", ErrInvalidSpec, s.ID)
	}
	return nil
}

// Restart is a child's restart type.
type Restart uint8

const (
	// Permanent children are always restarted (the default).
	Permanent Restart = iota
	// Transient children are restarted only after an abnormal exit: any
	// reason other than actor.Normal, actor.Shutdown or an
	// *actor.ShutdownError.
	Transient
	// Temporary children are never restarted, and their spec is dropped
	// when they exit.
	Temporary
)

func (r Restart) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return fmt.Sprintf("Restart(%d)", uint8(r))
}

// Shutdown is the time a child is given to exit after its supervisor sends
// it the actor.Shutdown exit signal; when it has passed, the child is killed.
// Use a positive duration (Timeout(d)), BrutalKill or Infinity; the zero
// value means the default: 5 s for a worker, Infinity for a supervisor.
type Shutdown time.Duration

const (
	// DefaultShutdown picks 5 s for a worker and Infinity for a supervisor.
	DefaultShutdown Shutdown = 0
	// BrutalKill kills the child at once, without a shutdown signal.
	BrutalKill Shutdown = -1
	// Infinity waits for the child to exit however long it takes, as OTP's
	// infinity; it is the default for supervisor children.
	Infinity Shutdown = -2
)

// DefaultWorkerShutdown is the Shutdown of a worker whose spec leaves it
// zero, as OTP's 5000 ms.
const DefaultWorkerShutdown = Shutdown(5 * time.Second)

// Timeout returns the Shutdown that gives a child d to exit.
func Timeout(d time.Duration) Shutdown {
	if d <= 0 {
		return BrutalKill
	}
	return Shutdown(d)
}

func (s Shutdown) String() string {
	switch s {
	case DefaultShutdown:
		return "default"
	case BrutalKill:
		return "brutal_kill"
	case Infinity:
		return "infinity"
	}
	return time.Duration(s).String()
}

// effective resolves DefaultShutdown for a child type.
func (s Shutdown) effective(t ChildType) Shutdown {
	if s != DefaultShutdown {
		return s
	}
	if t == Supervisor {
		return Infinity
	}
	return DefaultWorkerShutdown
}

// ChildType tells a worker from a supervisor.
type ChildType uint8

const (
	// Worker is any child that is not a supervisor (the default).
	Worker ChildType = iota
	// Supervisor is a child that is itself a supervisor.
	Supervisor
)

func (t ChildType) String() string {
	switch t {
	case Worker:
		return "worker"
	case Supervisor:
		return "supervisor"
	}
	return fmt.Sprintf("ChildType(%d)", uint8(t))
}

// Strategy is how a Supervisor reacts when a child must be restarted.
type Strategy uint8

const (
	// OneForOne restarts only the child that exited (the default).
	OneForOne Strategy = iota
	// OneForAll stops every other child (in reverse start order) and
	// starts them all again, in order.
	OneForAll
	// RestForOne stops the children started after the one that exited
	// (in reverse order) and starts it and them again, in order.
	RestForOne
)

func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	}
	return fmt.Sprintf("Strategy(%d)", uint8(s))
}

// AutoShutdown says whether the exit of significant children ends the
// supervisor.
type AutoShutdown uint8

const (
	// Never: significant children are ordinary children (the default).
	Never AutoShutdown = iota
	// AnySignificant: the supervisor shuts down (reason actor.Shutdown) as
	// soon as a significant child exits by itself and is not restarted.
	AnySignificant
	// AllSignificant: the supervisor shuts down once every significant
	// child has exited by itself and none is running.
	AllSignificant
)

func (a AutoShutdown) String() string {
	switch a {
	case Never:
		return "never"
	case AnySignificant:
		return "any_significant"
	case AllSignificant:
		return "all_significant"
	}
	return fmt.Sprintf("AutoShutdown(%d)", uint8(a))
}

// ChildState is what WhichChildren says about a child.
type ChildState uint8

const (
	// Stopped: the spec is kept but no process runs (terminated, ignored,
	// or a transient child that exited normally).
	Stopped ChildState = iota
	// Running: the child's process is alive.
	Running
	// Restarting: a restart failed and is being retried, or (in a
	// Director) a delayed restart is pending.
	Restarting
	// Waiting: a Director child whose plan said PlanWait; it runs again
	// only through RestartChild.
	Waiting
)

func (s ChildState) String() string {
	switch s {
	case Stopped:
		return "stopped"
	case Running:
		return "running"
	case Restarting:
		return "restarting"
	case Waiting:
		return "waiting"
	}
	return fmt.Sprintf("ChildState(%d)", uint8(s))
}

// ChildInfo is one row of WhichChildren.
type ChildInfo struct {
	ID    string // empty for the children of a DynamicSupervisor
	PID   actor.PID
	Type  ChildType
	State ChildState
}

// Counts is CountChildren's answer.
type Counts struct {
	Specs       int // child specs held (for a DynamicSupervisor: children)
	Active      int // children whose process is alive
	Supervisors int // specs of type Supervisor
	Workers     int // specs of type Worker
}

// add counts one child of type t in state s.
func (n *Counts) add(t ChildType, s ChildState) {
	n.Specs++
	if s == Running {
		n.Active++
	}
	if t == Supervisor {
		n.Supervisors++
	} else {
		n.Workers++
	}
}

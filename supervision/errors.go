package supervision

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is returned when no child has the given ID (or PID, for a
	// DynamicSupervisor).
	ErrNotFound = errors.New("supervision: child not found")
	// ErrAlreadyStarted is returned by StartChild when a running child has
	// the spec's ID; the running child's PID is returned with it.
	ErrAlreadyStarted = errors.New("supervision: child already started")
	// ErrAlreadyPresent is returned by StartChild when a stopped child has
	// the spec's ID: restart it with RestartChild or remove it with
	// DeleteChild first.
	ErrAlreadyPresent = errors.New("supervision: child already present")
	// ErrRunning is returned by RestartChild and DeleteChild for a child
	// whose process is alive.
	ErrRunning = errors.New("supervision: child is running")
	// ErrRestarting is returned by RestartChild and DeleteChild for a child
	// whose restart is being retried; terminate it first.
	ErrRestarting = errors.New("supervision: child is restarting")
	// ErrInvalidSpec is returned for a child spec that cannot be used; the
	// error text says why.
	ErrInvalidSpec = errors.New("supervision: invalid child spec")
	// ErrInvalidOption is returned by Start and StartDynamic for an option
	// value that means nothing: a Strategy or AutoShutdown that is none of
	// the package's constants, a negative WithMaxChildren, a WithIntensity
	// with a negative max or a period that is not positive. The error text
	// says which.
	ErrInvalidOption = errors.New("supervision: invalid option")
	// ErrDuplicateChild is returned by Start when two initial specs share an
	// ID.
	ErrDuplicateChild = errors.New("supervision: duplicate child ID")
	// ErrMaxChildren is returned by a DynamicSupervisor's StartChild when it
	// already holds its maximum number of children.
	ErrMaxChildren = errors.New("supervision: max children reached")
	// ErrNotSupervisor is returned when a request gets an answer that no
	// supervisor gives: the PID is not a supervisor of the expected kind.
	ErrNotSupervisor = errors.New("supervision: not a supervisor")
	// ErrNotRunning is returned by a Director's GetPID for a child that
	// has a spec but no running process (waiting, restarting or stopped).
	ErrNotRunning = errors.New("supervision: child not running")
	// ErrInvalidPlan is returned for a Director plan that cannot be used
	// (an element after a terminal one, a Count that can never repeat),
	// and wraps the exit reason of a Director whose plan function returned
	// a function element.
	ErrInvalidPlan = errors.New("supervision: invalid plan")
	// ErrMaxRestartPlan matches (errors.Is) the exit reason of a Director
	// ended because a child's plan had run Count times: a
	// *MaxRestartPlanError.
	ErrMaxRestartPlan = errors.New("supervision: reached max restart plan")
	// ErrPlanStop matches (errors.Is) the exit reason of a Director ended by
	// a child's PlanStop: a *PlanStopError.
	ErrPlanStop = errors.New("supervision: stopped by plan")
)

// StartError is the error of a child whose Start function failed, during a
// supervisor's start (OTP's {shutdown, {failed_to_start_child, Id, Reason}})
// or in StartChild and RestartChild. It unwraps to the start function's
// error, so errors.Is sees through it.
type StartError struct {
	ID  string // empty for a DynamicSupervisor child
	Err error
}

func (e *StartError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("supervision: start child: %v", e.Err)
	}
	return fmt.Sprintf("supervision: start child %q: %v", e.ID, e.Err)
}

// Unwrap returns the start function's error.
func (e *StartError) Unwrap() error { return e.Err }

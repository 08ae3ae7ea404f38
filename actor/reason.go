package actor

import (
	"errors"
	"fmt"
)

// Exit reasons. A process ends with an error value as its reason; these are
// the ones the runtime itself produces or treats specially. Compare them with
// errors.Is.
var (
	// Normal is the reason of a process that finished its work. Linked
	// processes that do not trap exits ignore it.
	Normal = errors.New("normal")
	// Shutdown is the reason a supervisor uses to stop a child. A
	// ShutdownError also matches it with errors.Is.
	Shutdown = errors.New("shutdown")
	// Kill is the untrappable exit signal: Exit(pid, Kill) ends the target
	// with reason Killed even if it traps exits.
	Kill = errors.New("kill")
	// Killed is the reason of a process ended by Kill. Unlike Kill it travels
	// along links as an ordinary, trappable reason.
	Killed = errors.New("killed")
	// NoProc is the reason reported for a process that does not exist: a
	// monitor or link on a dead PID, a call to a dead process.
	NoProc = errors.New("noproc")
	// NoConnection is the reason reported when the node of a remote process
	// is lost.
	NoConnection = errors.New("noconnection")
	// Ignore is returned by an Initializer to decline starting (OTP's
	// ignore): Spawn returns Ignore and the process exits with Normal.
	Ignore = errors.New("ignore")
)

// ShutdownError is OTP's {shutdown, Term}: a shutdown with a reason
// attached. errors.Is(err, Shutdown) reports true for it, so supervisors treat
// it as a clean stop.
type ShutdownError struct {
	Reason any
}

func (e *ShutdownError) Error() string { return fmt.Sprintf("shutdown: %v", e.Reason) }

// Is makes errors.Is(e, Shutdown) true.
func (e *ShutdownError) Is(target error) bool { return target == Shutdown }

// Unwrap returns the attached reason when it is an error.
func (e *ShutdownError) Unwrap() error {
	if err, ok := e.Reason.(error); ok {
		return err
	}
	return nil
}

// PanicError is the exit reason of a process whose handler panicked. Stack
// holds the panicking goroutine's stack at the time of the panic.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// IsNormalExit reports whether reason is one OTP treats as a clean exit:
// Normal, Shutdown, or a ShutdownError. Supervisors do not restart transient
// children that exit with such a reason, and do not report them as crashes.
func IsNormalExit(reason error) bool {
	return reason == nil || errors.Is(reason, Normal) || errors.Is(reason, Shutdown)
}

// reasonOrNormal maps a nil reason to Normal.
func reasonOrNormal(r error) error {
	if r == nil {
		return Normal
	}
	return r
}

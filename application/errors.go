package application

import (
	"errors"
	"fmt"
)

var (
	// ErrNotLoaded is returned for an application name the controller has
	// no spec for (Load it first). The error names the application.
	ErrNotLoaded = errors.New("application: not loaded")
	// ErrAlreadyLoaded is returned by Load for a name already loaded.
	ErrAlreadyLoaded = errors.New("application: already loaded")
	// ErrAlreadyStarted is returned by Start for an application that is
	// running or being started (OTP's {already_started, App}).
	ErrAlreadyStarted = errors.New("application: already started")
	// ErrNotStarted is matched by every *NotStartedError.
	ErrNotStarted = errors.New("application: not started")
	// ErrRunning is returned by Unload for an application that is running,
	// starting or stopping.
	ErrRunning = errors.New("application: running")
	// ErrStopping is returned by Start for an application being stopped,
	// or that a Stop under way will stop (it depends on the application
	// being stopped); the error names that application.
	ErrStopping = errors.New("application: being stopped")
	// ErrTerminating is returned by Start once the controller is stopping
	// every application, after Shutdown or after a permanent application
	// died.
	ErrTerminating = errors.New("application: controller is terminating")
	// ErrCycle is returned by EnsureAllStarted when dependencies form a
	// cycle; the error text shows it.
	ErrCycle = errors.New("application: circular dependencies")
	// ErrInvalidRestartType is returned by Start and EnsureAllStarted (and
	// so Run) for a RestartType that is none of Temporary, Transient and
	// Permanent; nothing is started.
	ErrInvalidRestartType = errors.New("application: invalid restart type")
	// ErrInvalidSpec is returned by Load for a spec that cannot be used; the
	// error text says why.
	ErrInvalidSpec = errors.New("application: invalid spec")
	// ErrNoTopProcess is the start error of a Module whose Start returned
	// neither a process nor an error.
	ErrNoTopProcess = errors.New("application: start returned no process")
	// ErrUnknownKey is returned by Spec for a Key it does not know.
	ErrUnknownKey = errors.New("application: unknown spec key")
	// ErrNoController is returned by ControllerOf for a node without an
	// application controller.
	ErrNoController = errors.New("application: no controller on node")
	// ErrControllerExists is returned by NewController when the node already
	// has one.
	ErrControllerExists = errors.New("application: controller already running on node")
	// ErrTopStuck is the exit reason recorded for an application whose top
	// process was killed at its stop deadline and still did not exit
	// within KillWait; the controller abandons it and goes on.
	ErrTopStuck = errors.New("application: top process did not exit after kill")
)

// NotStartedError is OTP's {not_started, App}: App needs Missing, which is
// not running. For Stop of an application that is not running, Missing is
// empty. errors.Is(err, ErrNotStarted) is true.
type NotStartedError struct {
	App     string
	Missing string
}

func (e *NotStartedError) Error() string {
	if e.Missing == "" || e.Missing == e.App {
		return fmt.Sprintf("application: %s is not started", e.App)
	}
	return fmt.Sprintf("application: %s depends on %s, which is not started", e.App, e.Missing)
}

// Is makes errors.Is(err, ErrNotStarted) true.
func (e *NotStartedError) Is(target error) bool { return target == ErrNotStarted }

// StartError is the error of an application whose Module.Start failed,
// returned an error or panicked (Err is then an *actor.PanicError).
// It unwraps to Err.
type StartError struct {
	App string
	Err error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("application: start %s: %v", e.App, e.Err)
}

// Unwrap returns the start error.
func (e *StartError) Unwrap() error { return e.Err }

// ExitError is the reason a controller terminates with when an application
// whose death ends the node exited: a Permanent one for any reason, or a
// Transient one for a reason other than actor.Normal. Run returns a
// non-zero code for it. It unwraps to the application's exit reason.
type ExitError struct {
	App    string
	Type   RestartType
	Reason error
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("application: %s (%s) exited: %v", e.App, e.Type, e.Reason)
}

// Unwrap returns the application's exit reason.
func (e *ExitError) Unwrap() error { return e.Reason }

// EnvTypeError is returned by GetEnvAs when the value has another type.
type EnvTypeError struct {
	App, Key string
	Got      any
}

func (e *EnvTypeError) Error() string {
	return fmt.Sprintf("application: env %s.%s has type %T", e.App, e.Key, e.Got)
}

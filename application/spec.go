package application

import (
	"fmt"
	"maps"
	"slices"

	"github.com/arbor-otp/arbor/actor"
)

// Spec describes an application: OTP's .app resource file, or the keyword
// list of an Elixir project's application/0. Only Name is required.
type Spec struct {
	// Name identifies the application on its node.
	Name string
	// Description is a one-line summary (OTP's description key).
	Description string
	// Vsn is the application's version (OTP's vsn key).
	Vsn string
	// Dependencies names the applications that must be running before this
	// one starts (OTP's applications key). EnsureAllStarted starts them.
	Dependencies []string
	// Env is the application's initial environment, copied at Load.
	// GetEnv and SetEnv read and change the copy.
	Env map[string]any
	// Module starts the application's processes. A nil Module makes a
	// library application: starting it only marks it running.
	Module Module
	// Args is passed to Module.Start (the args of OTP's {mod, {M, Args}}).
	Args any
}

// clone returns a copy of s that shares nothing mutable with it.
func (s Spec) clone() Spec {
	s.Dependencies = slices.Clone(s.Dependencies)
	s.Env = maps.Clone(s.Env)
	if s.Env == nil {
		s.Env = map[string]any{}
	}
	return s
}

// validate reports why s cannot be loaded, wrapping ErrInvalidSpec.
func (s Spec) validate() error {
	if s.Name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidSpec)
	}
	seen := map[string]bool{}
	for _, d := range s.Dependencies {
		switch {
		case d == "":
			return fmt.Errorf("%w: %s has an empty dependency", ErrInvalidSpec, s.Name)
		case d == s.Name:
			return fmt.Errorf("%w: %s depends on itself", ErrInvalidSpec, s.Name)
		case seen[d]:
			return fmt.Errorf("%w: %s lists %s twice", ErrInvalidSpec, s.Name, d)
		}
		seen[d] = true
	}
	return nil
}

// Module is the application callback module (OTP's application behaviour).
//
// Start runs on the application master, a process the controller spawns
// for the application; ctx is that process. Start must start the
// application's top process (normally its top supervisor) linked to ctx —
// supervision.StartLink(ctx, ...), behaviour.StartLink(ctx, ...) — and
// return its PID. The controller monitors that process: its exit is the
// application's exit. To stop the application the master sends it the
// actor.Shutdown exit signal, which a supervisor started with StartLink
// obeys by stopping its children in reverse order.
//
// An error from Start (or a panic) fails the start with a *StartError.
//
// OTP's application state is the Module value itself: a pointer Module may
// keep in its fields what Start built, and read them in Stop. Start,
// PrepStop and Stop of one application run one after another on its
// master's goroutine, never concurrently. A Module value is for one
// application on one controller at a time.
type Module interface {
	Start(ctx *actor.Context, startType StartType, args any) (actor.PID, error)
}

// Stopper is an optional Module method, OTP's stop/1: it runs on the
// master after the top process has exited, whether the application was
// stopped or its top process died by itself. A panic in it is logged.
type Stopper interface {
	Stop(ctx *actor.Context)
}

// PrepStopper is an optional Module method, OTP's prep_stop/1: it runs on
// the master before the top process is told to shut down (and, when the top
// process died by itself, before Stop). A panic in it is logged.
type PrepStopper interface {
	PrepStop(ctx *actor.Context)
}

// StartFunc adapts a function to a Module with no Stop or PrepStop.
type StartFunc func(ctx *actor.Context, startType StartType, args any) (actor.PID, error)

// Start calls f.
func (f StartFunc) Start(ctx *actor.Context, startType StartType, args any) (actor.PID, error) {
	return f(ctx, startType, args)
}

// StartType is how an application is being started, the first argument of
// OTP's Mod:start/2. Arbor has no distributed applications yet, so it is
// always Normal; Takeover and Failover are reserved for them.
type StartType uint8

const (
	// Normal is an ordinary start.
	Normal StartType = iota
	// Takeover is reserved: the application moves here from another node.
	Takeover
	// Failover is reserved: the application restarts here after its node
	// died.
	Failover
)

func (t StartType) String() string {
	switch t {
	case Normal:
		return "normal"
	case Takeover:
		return "takeover"
	case Failover:
		return "failover"
	}
	return fmt.Sprintf("StartType(%d)", uint8(t))
}

// RestartType says what the death of a running application does to the
// node, as OTP's application:start/2 Type. It applies only when the
// application's top process exits by itself; stopping an application with
// Stop never ends the node.
type RestartType uint8

const (
	// Temporary (the default, as in OTP): the exit is logged, nothing else.
	Temporary RestartType = iota
	// Transient: an exit with reason actor.Normal is logged; any other
	// reason — including actor.Shutdown, which is how a supervisor that
	// exceeded its restart intensity ends — terminates the node, as a
	// Permanent application's would.
	Transient
	// Permanent: any exit terminates the node: the controller stops every
	// other application in reverse start order and exits with an
	// *ExitError, and Run returns a non-zero code.
	Permanent
)

func (t RestartType) String() string {
	switch t {
	case Temporary:
		return "temporary"
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("RestartType(%d)", uint8(t))
}

// Key selects a field of a loaded Spec for Controller.Spec, as the keys of
// OTP's application:get_key/2 and Elixir's Application.spec/2.
type Key uint8

const (
	// KeyDescription: the Description (a string).
	KeyDescription Key = iota + 1
	// KeyVsn: the Vsn (a string).
	KeyVsn
	// KeyDependencies: the Dependencies (a []string).
	KeyDependencies
	// KeyEnv: the current environment (a map[string]any copy).
	KeyEnv
	// KeyArgs: the Args given to Module.Start.
	KeyArgs
)

func (k Key) String() string {
	switch k {
	case KeyDescription:
		return "description"
	case KeyVsn:
		return "vsn"
	case KeyDependencies:
		return "applications"
	case KeyEnv:
		return "env"
	case KeyArgs:
		return "mod_args"
	}
	return fmt.Sprintf("Key(%d)", uint8(k))
}

// Status is where an application stands on its controller.
type Status uint8

const (
	// Loaded: the spec is known and no process runs.
	Loaded Status = iota
	// Starting: its Module.Start is running.
	Starting
	// Running: its top process is alive.
	Running
	// Stopping: it is being stopped.
	Stopping
)

func (s Status) String() string {
	switch s {
	case Loaded:
		return "loaded"
	case Starting:
		return "starting"
	case Running:
		return "running"
	case Stopping:
		return "stopping"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Info describes one application, a row of WhichApplications and
// LoadedApplications.
type Info struct {
	Name        string
	Description string
	Vsn         string
	Status      Status
	// Type and Top are set while the application runs.
	Type RestartType
	Top  actor.PID
}

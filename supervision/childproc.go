package supervision

import (
	"errors"
	"runtime/debug"

	"github.com/arbor-otp/arbor/actor"
)

// What every kind of supervisor does to a child's process is here: start
// it (startProcess), stop it within its limit (proc.terminate, and
// shutdownChildren in shutdown.go), stop them all in reverse start order
// (stopReverse) and end the supervisor (shutdownWith). The Supervisor, the
// Director and the DynamicSupervisor differ in what they decide, not in
// how they start and stop.

// proc is a child's process as a Supervisor or a Director records it; its
// child record embeds it.
type proc struct {
	pid   actor.PID
	state ChildState
}

// start runs start for the child id and records the new process (Running)
// or Stopped. It returns actor.Ignore when the child declined, or a
// *StartError; see startProcess.
func (p *proc) start(ctx *actor.Context, id string, start func(*actor.Context) (actor.PID, error), report func(ReportKind, actor.PID, error)) error {
	pid, err := startProcess(ctx, id, start, report)
	if err != nil {
		p.pid, p.state = actor.PID{}, Stopped
		return err
	}
	p.pid, p.state = pid, Running
	return nil
}

// terminate stops the child id's process, if it runs, within limit (a
// resolved Shutdown), writes the shutdown_error report if it did not stop
// cleanly, and leaves the child Stopped.
func (p *proc) terminate(ctx *actor.Context, clock Clock, rep reporter, id string, limit Shutdown) {
	if p.state == Running {
		t := stopTarget{id: id, pid: p.pid, limit: limit}
		rep.stopped(t, shutdownChild(ctx, clock, t))
	}
	p.pid, p.state = actor.PID{}, Stopped
}

// startProcess runs a child's start function on the supervisor's goroutine
// (ctx is the supervisor) and links the supervisor to the new process (a
// no-op when the start function linked it already). A start function that
// returns the zero PID declines, as one that returns actor.Ignore does; a
// panic is a failure. It returns the PID, actor.Ignore, or a *StartError
// naming id; report is called with ReportStarted or ReportStartError (not
// for a child that declined).
func startProcess(ctx *actor.Context, id string, start func(*actor.Context) (actor.PID, error), report func(ReportKind, actor.PID, error)) (actor.PID, error) {
	pid, err := callStart(ctx, start)
	if err == nil && pid.IsZero() {
		err = actor.Ignore
	}
	if err != nil {
		if errors.Is(err, actor.Ignore) {
			return actor.PID{}, actor.Ignore
		}
		report(ReportStartError, actor.PID{}, err)
		return actor.PID{}, &StartError{ID: id, Err: err}
	}
	ctx.Link(pid)
	report(ReportStarted, pid, nil)
	return pid, nil
}

// callStart calls a start function, turning a panic into an error.
func callStart(ctx *actor.Context, f func(*actor.Context) (actor.PID, error)) (pid actor.PID, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &actor.PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return f(ctx)
}

// stopReverse stops n children one at a time, in reverse start order:
// terminate(i) stops the child at index i.
func stopReverse(n int, terminate func(i int)) {
	for i := n - 1; i >= 0; i-- {
		terminate(i)
	}
}

// shutdownWith ends a supervisor: stopAll stops its children, then the
// shutdown report is written; it returns reason, the supervisor's exit
// reason.
func shutdownWith(rep reporter, stopAll func(), reason error) error {
	stopAll()
	rep.supervisor(ReportShutdown, reason)
	return reason
}

// fromParent reports whether an Exit comes from the supervisor's parent
// (its StartLink caller), whose exit ends the supervisor with the same
// reason.
func fromParent(ctx *actor.Context, m actor.Exit) bool {
	return !m.From.IsZero() && m.From == ctx.Parent()
}

// info is the child's entry in WhichChildren.
func (p proc) info(id string, t ChildType) ChildInfo {
	return ChildInfo{ID: id, PID: p.pid, Type: t, State: p.state}
}

// busy is the error of RestartChild or DeleteChild on a child that is not
// stopped: ErrRunning or ErrRestarting; nil for a stopped (or waiting)
// child.
func (p proc) busy() error {
	switch p.state {
	case Running:
		return ErrRunning
	case Restarting:
		return ErrRestarting
	}
	return nil
}

// taken is the answer to StartChild with the ID of this existing child:
// ErrAlreadyStarted with its PID if it runs, ErrAlreadyPresent otherwise.
func (p proc) taken() (actor.PID, error) {
	if p.state == Running {
		return p.pid, ErrAlreadyStarted
	}
	return actor.PID{}, ErrAlreadyPresent
}

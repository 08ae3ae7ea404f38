package application

import (
	"errors"
	"runtime/debug"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/rs/zerolog"
)

// KillWait bounds the wait for an application's top process to exit after
// it was killed at its stop deadline. A Go handler cannot be preempted, so
// a top process stuck in a handler outlives Kill until the handler returns;
// after KillWait the master abandons it and the stop goes on (reason
// ErrTopStuck).
const KillWait = 5 * time.Second

// Messages between the controller and an application master.
type (
	// masterStart asks a new master to run Module.Start.
	masterStart struct{}
	// masterReport is the master's answer to masterStart.
	masterReport struct {
		master actor.PID
		top    actor.PID
		err    error
	}
	// masterStop asks the master to stop the application; a non-zero
	// deadline is when the top process is killed if still alive.
	masterStop struct{ deadline time.Time }
	// masterKill is the master's timer at the stop deadline.
	masterKill struct{}
	// masterAbandon is the master's timer KillWait after masterKill.
	masterAbandon struct{}
)

// master is OTP's application_master: one process per started
// application, spawned linked by the controller, trapping exits. It runs the
// Module's callbacks, monitors the top process and ends when the top process
// has exited, with the top process's reason if it died by itself, Normal if
// it was stopped.
type master struct {
	name string
	mod  Module
	args any
	log  zerolog.Logger

	top      actor.PID
	ref      actor.Ref
	stopping bool
	// reason is the master's exit reason once the top process has exited
	// after a stop: Normal, or the controller's reason if it died.
	reason error
}

// Receive implements actor.Receiver.
func (m *master) Receive(ctx *actor.Context, msg any) error {
	switch msg := msg.(type) {
	case masterStart:
		return m.start(ctx)
	case masterStop:
		m.stop(ctx, actor.Shutdown, actor.Normal, msg.deadline)
	case masterKill:
		if !m.top.IsZero() && ctx.Node().IsAlive(m.top) {
			m.log.Error().Stringer("top", m.top).Msg("application top process did not stop in time; killing it")
			ctx.Exit(m.top, actor.Kill)
			ctx.SendAfter(ctx.Self(), masterAbandon{}, KillWait)
		}
	case masterAbandon:
		m.log.Error().Stringer("top", m.top).Dur("kill_wait", KillWait).Msg("application top process still alive after kill; abandoning it")
		ctx.Unlink(m.top)
		ctx.Demonitor(m.ref)
		m.callStop(ctx)
		return ErrTopStuck
	case actor.Down:
		if msg.Ref == m.ref && !m.ref.IsZero() {
			return m.topExited(ctx, msg.Reason)
		}
	case actor.Exit:
		switch {
		case msg.From == m.top && !m.top.IsZero():
			return m.topExited(ctx, msg.Reason)
		case msg.From == ctx.Parent() && !msg.From.IsZero():
			// The controller is gone: take the application down with
			// its reason, as OTP's master does.
			if m.top.IsZero() {
				return msg.Reason
			}
			m.stop(ctx, msg.Reason, msg.Reason, time.Time{})
		}
	}
	return nil
}

// start runs Module.Start and tells the controller how it went. A panic in
// Start ends the master with an *actor.PanicError, which the controller
// reports as the start error.
func (m *master) start(ctx *actor.Context) error {
	top, err := m.mod.Start(ctx, Normal, m.args)
	if err == nil && top.IsZero() {
		err = ErrNoTopProcess
	}
	if err != nil {
		_ = ctx.Send(ctx.Parent(), masterReport{master: ctx.Self(), err: err})
		return actor.Normal
	}
	m.top = top
	m.ref = ctx.Monitor(top)
	_ = ctx.Send(ctx.Parent(), masterReport{master: ctx.Self(), top: top})
	return nil
}

// stop runs PrepStop and sends signal to the top process; the master exits
// with reason once the top process has exited.
func (m *master) stop(ctx *actor.Context, signal, reason error, deadline time.Time) {
	if m.stopping {
		return
	}
	m.stopping, m.reason = true, reason
	m.callPrepStop(ctx)
	ctx.Exit(m.top, signal)
	if !deadline.IsZero() {
		ctx.SendAfter(ctx.Self(), masterKill{}, max(time.Until(deadline), 0))
	}
}

// topExited ends the master once the top process has exited.
func (m *master) topExited(ctx *actor.Context, reason error) error {
	ctx.Demonitor(m.ref)
	ctx.Unlink(m.top)
	if m.stopping {
		m.callStop(ctx)
		return m.reason
	}
	m.callPrepStop(ctx)
	m.callStop(ctx)
	if reason == nil {
		reason = actor.Normal
	}
	return reason
}

func (m *master) callPrepStop(ctx *actor.Context) {
	if p, ok := m.mod.(PrepStopper); ok {
		m.guard("prep_stop", func() { p.PrepStop(ctx) })
	}
}

func (m *master) callStop(ctx *actor.Context) {
	if s, ok := m.mod.(Stopper); ok {
		m.guard("stop", func() { s.Stop(ctx) })
	}
}

// guard runs a user callback and logs its panic, so that a failing Stop
// never keeps an application from stopping.
func (m *master) guard(callback string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			pe := &actor.PanicError{Value: v, Stack: debug.Stack()}
			var err error = pe
			m.log.Error().Err(err).Str("callback", callback).Bytes("stack", pe.Stack).Msg("application callback panicked")
		}
	}()
	f()
}

// isNormal reports whether reason is the one exit that does not end the
// node for a Transient application.
func isNormal(reason error) bool { return reason == nil || errors.Is(reason, actor.Normal) }

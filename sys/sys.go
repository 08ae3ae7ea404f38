package sys

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/sys/internal/syspb"
)

// DefaultTimeout bounds an operation whose context has no deadline, as
// OTP's sys default of 5 s.
const DefaultTimeout = 5 * time.Second

// Mode is whether a process handles its messages (sys's running or
// suspended).
type Mode uint8

// The modes of a process.
const (
	Running   Mode = iota // handles its messages
	Suspended             // handles only signals and sys requests (Suspend)
)

// String returns "running" or "suspended".
func (m Mode) String() string {
	if m == Suspended {
		return "suspended"
	}
	return "running"
}

// Status is what GetStatus tells of a process (sys:get_status).
type Status struct {
	PID         actor.PID
	Name        string // its registered name, or empty
	Behaviour   string // "gen_server", "gen_event", "supervisor", "dynamic_supervisor", "director", or empty for a plain process
	Mode        Mode
	State       any // as GetState; nil for a process that does not show its state
	QueueLen    int // messages waiting, held ones of a suspended process included
	Parent      actor.PID
	Links       []actor.PID
	Monitors    []actor.PID // processes it monitors
	MonitoredBy []actor.PID // processes monitoring it
	TrapExit    bool
	Started     time.Time
	Uptime      time.Duration
	Memory      int  // estimate in bytes of what the runtime holds for it (actor.SysProcess.Memory)
	Tracing     bool // Trace is on
	// Stats are the statistics (SetStatistics), nil while they are off.
	Stats *actor.SysStats
}

// run runs fn as a system request of pid on n, bounded by ctx (and
// DefaultTimeout when ctx has no deadline); what names the operation in
// errors.
func run(ctx context.Context, n *actor.Node, pid actor.PID, what string, fn func(*actor.SysProcess)) error {
	switch {
	case n == nil:
		return fmt.Errorf("sys: %s: %w", what, actor.ErrNilNode)
	case pid.IsZero():
		return fmt.Errorf("sys: %s: %w", what, actor.ErrZeroPID)
	case !n.IsLocal(pid):
		return fmt.Errorf("sys: %s of %v: %w", what, pid, ErrNotLocal)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	if err := n.System(ctx, pid, fn); err != nil {
		return fmt.Errorf("sys: %s of %v: %w", what, pid, err)
	}
	return nil
}

// GetStatus returns the status of the local process pid. Like every
// function of this package it runs on the process between two messages,
// also while it is suspended; ctx bounds the wait (DefaultTimeout without
// a deadline). It returns an error wrapping actor.NoProc if pid is not
// alive, ErrNotLocal for a PID of another node, actor.ErrZeroPID for the
// zero PID, or ctx's error (context.DeadlineExceeded for a process busy
// in a handler past the deadline).
func GetStatus(ctx context.Context, n *actor.Node, pid actor.PID) (Status, error) {
	if isRemote(n, pid) {
		return remoteStatus(ctx, n, pid)
	}
	var st Status
	err := run(ctx, n, pid, "get status", func(p *actor.SysProcess) {
		in := p.Info()
		st = Status{
			PID:         pid,
			Name:        in.RegisteredName,
			Behaviour:   behaviourOf(p.Receiver()),
			QueueLen:    in.MessageQueueLen,
			Parent:      in.Parent,
			Links:       in.Links,
			Monitors:    in.Monitors,
			MonitoredBy: in.MonitoredBy,
			TrapExit:    in.TrapExit,
			Started:     p.Started(),
			Memory:      p.Memory(),
			Tracing:     p.Tracing(),
		}
		st.Uptime = time.Since(st.Started)
		if p.Suspended() {
			st.Mode = Suspended
		}
		if s, ok := p.Receiver().(actor.SysStater); ok {
			st.State = s.SysState()
		}
		if stats, ok := p.Statistics(); ok {
			st.Stats = &stats
		}
	})
	return st, err
}

// behaviourOf names a Receiver's behaviour, or "" for a plain process.
func behaviourOf(r actor.Receiver) string {
	if d, ok := r.(actor.SysDescriber); ok {
		return d.SysBehaviour()
	}
	return ""
}

// GetState returns the state of the local process pid (sys:get_state): a
// GenServer's S, a behaviour.EventManagerState, a
// supervision.SupervisorState. It returns an error wrapping
// ErrUnsupported for a process that does not show its state, and
// GetStatus's errors.
func GetState(ctx context.Context, n *actor.Node, pid actor.PID) (any, error) {
	if isRemote(n, pid) {
		return remoteState(ctx, n, pid)
	}
	var (
		state any
		err   error
	)
	if rerr := run(ctx, n, pid, "get state", func(p *actor.SysProcess) {
		s, ok := p.Receiver().(actor.SysStater)
		if !ok {
			err = fmt.Errorf("sys: get state of %v: %w", pid, ErrUnsupported)
			return
		}
		state = s.SysState()
	}); rerr != nil {
		return nil, rerr
	}
	return state, err
}

// GetStateAs is GetState with the state asserted to S, the GenServer's
// state type. It returns an error wrapping ErrStateType if the state is of
// another type, and GetState's errors.
func GetStateAs[S any](ctx context.Context, n *actor.Node, pid actor.PID) (S, error) {
	var zero S
	v, err := GetState(ctx, n, pid)
	if err != nil {
		return zero, err
	}
	s, ok := v.(S)
	if !ok && v != nil {
		return zero, fmt.Errorf("sys: get state of %v: got %T, want %v: %w", pid, v, reflect.TypeFor[S](), ErrStateType)
	}
	return s, nil
}

// ReplaceState replaces the state of the local GenServer pid with fn's
// result (sys:replace_state) and returns the new state. fn runs on the
// server's goroutine, between two messages (also while it is suspended),
// and must not block. If fn panics, the state is left unchanged, the
// server goes on, and ReplaceState returns an error wrapping the
// *actor.PanicError. It returns an error wrapping ErrStateType if the
// server's state is not an S, ErrUnsupported for a process whose state
// cannot be replaced, and GetStatus's errors.
func ReplaceState[S any](ctx context.Context, n *actor.Node, pid actor.PID, fn func(S) S) (S, error) {
	if isRemote(n, pid) {
		return remoteReplace(ctx, n, pid, fn)
	}
	var (
		zero, next S
		err        error
	)
	replace := func(v any) (out any, err error) {
		s, ok := v.(S)
		if !ok && v != nil {
			return nil, fmt.Errorf("got %T, want %v: %w", v, reflect.TypeFor[S](), ErrStateType)
		}
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, &actor.PanicError{Value: r, Stack: debug.Stack()}
			}
		}()
		return fn(s), nil
	}
	if rerr := run(ctx, n, pid, "replace state", func(p *actor.SysProcess) {
		r, ok := p.Receiver().(actor.SysReplacer)
		if !ok {
			err = ErrUnsupported
			return
		}
		var v any
		if v, err = r.SysReplaceState(replace); err == nil {
			next, _ = v.(S)
		}
	}); rerr != nil {
		return zero, rerr
	}
	if err != nil {
		return zero, fmt.Errorf("sys: replace state of %v: %w", pid, err)
	}
	return next, nil
}

// Suspend suspends the local process pid (sys:suspend): it handles only
// signals and sys requests until Resume. Messages sent to it queue; a call
// to it waits and fails at its deadline, as in OTP; an exit signal still
// acts on it (Kill kills it; one it traps is queued as an actor.Exit
// message for after Resume). Suspending a suspended process does nothing.
// Errors are GetStatus's.
func Suspend(ctx context.Context, n *actor.Node, pid actor.PID) error {
	if isRemote(n, pid) {
		return remoteDo(ctx, n, pid, "suspend", &syspb.Request{Op: &syspb.Request_Suspend{Suspend: &syspb.Suspend{}}})
	}
	return run(ctx, n, pid, "suspend", func(p *actor.SysProcess) { p.Suspend() })
}

// Resume resumes the local process pid (sys:resume): it handles its queued
// messages again, in order. Resuming a running process does nothing.
// Errors are GetStatus's.
func Resume(ctx context.Context, n *actor.Node, pid actor.PID) error {
	if isRemote(n, pid) {
		return remoteDo(ctx, n, pid, "resume", &syspb.Request{Op: &syspb.Request_Resume{Resume: &syspb.Resume{}}})
	}
	return run(ctx, n, pid, "resume", func(p *actor.SysProcess) { p.Resume() })
}

// TraceOption configures Trace.
type TraceOption func(*actor.TraceConfig)

// TraceTo sends the trace events to l instead of the node's logger.
func TraceTo(l zerolog.Logger) TraceOption { return func(c *actor.TraceConfig) { c.Logger = &l } }

// TracePerSecond bounds the events logged in a second (default
// actor.DefaultTracePerSecond); the rest are counted in a "dropped" event.
func TracePerSecond(n int) TraceOption { return func(c *actor.TraceConfig) { c.PerSecond = n } }

// TraceLimit stops logging after n events (default: no limit).
func TraceLimit(n int) TraceOption { return func(c *actor.TraceConfig) { c.Limit = n } }

// Trace turns the trace of the local process pid on or off (sys:trace).
// While on, every message the process takes in ("event":"in", with its
// kind call, cast or info, its sender for a call, its type and text) and
// every reply it sends ("event":"out", with the caller, the reply or the
// error) is a structured zerolog event at info level with "sys":"trace",
// within the bounds of the options. Turning it on again restarts the
// bounds. Errors are GetStatus's.
func Trace(ctx context.Context, n *actor.Node, pid actor.PID, on bool, opts ...TraceOption) error {
	var cfg *actor.TraceConfig
	if on {
		cfg = &actor.TraceConfig{}
		for _, o := range opts {
			if o != nil {
				o(cfg)
			}
		}
	}
	if isRemote(n, pid) {
		t := &syspb.Trace{On: on}
		if cfg != nil {
			if cfg.Logger != nil {
				return fmt.Errorf("sys: trace of %v: TraceTo's logger: %w", pid, ErrNotEncodable)
			}
			t.PerSecond, t.Limit = int32(min(cfg.PerSecond, math.MaxInt32)), int32(min(cfg.Limit, math.MaxInt32))
		}
		return remoteDo(ctx, n, pid, "trace", &syspb.Request{Op: &syspb.Request_Trace{Trace: t}})
	}
	return run(ctx, n, pid, "trace", func(p *actor.SysProcess) { p.SetTrace(cfg) })
}

// SetStatistics turns the statistics of the local process pid on (from
// zero) or off (sys:statistics). Errors are GetStatus's.
func SetStatistics(ctx context.Context, n *actor.Node, pid actor.PID, on bool) error {
	if isRemote(n, pid) {
		return remoteDo(ctx, n, pid, "set statistics", &syspb.Request{Op: &syspb.Request_SetStatistics{SetStatistics: &syspb.SetStatistics{On: on}}})
	}
	return run(ctx, n, pid, "set statistics", func(p *actor.SysProcess) { p.SetStatistics(on) })
}

// Statistics returns the statistics of the local process pid since they
// were turned on. It returns an error wrapping ErrStatisticsOff if they are
// off, and GetStatus's errors.
func Statistics(ctx context.Context, n *actor.Node, pid actor.PID) (actor.SysStats, error) {
	if isRemote(n, pid) {
		return remoteStatistics(ctx, n, pid)
	}
	var (
		st actor.SysStats
		on bool
	)
	if err := run(ctx, n, pid, "statistics", func(p *actor.SysProcess) { st, on = p.Statistics() }); err != nil {
		return actor.SysStats{}, err
	}
	if !on {
		return actor.SysStats{}, fmt.Errorf("sys: statistics of %v: %w", pid, ErrStatisticsOff)
	}
	return st, nil
}

package supervision

import (
	"github.com/arbor-otp/arbor/actor"
	"github.com/rs/zerolog"
)

// ReportKind names a supervisor report, the counterpart of OTP's SASL
// supervisor and progress reports. It is the "event" field of the zerolog
// event.
type ReportKind uint8

const (
	// ReportStarted: a child was started (progress report, debug level).
	ReportStarted ReportKind = iota + 1
	// ReportTerminated: a child exited by itself with an abnormal reason,
	// or a permanent child exited (error level; child_terminated).
	ReportTerminated
	// ReportRestarting: a child is being restarted (info level).
	ReportRestarting
	// ReportStartError: a child's start function failed (error level).
	ReportStartError
	// ReportShutdownError: a child did not stop cleanly when told to: it
	// was killed after its timeout, or exited with another reason (error
	// level).
	ReportShutdownError
	// ReportIntensity: the restart intensity was exceeded; the supervisor
	// shuts down (error level; reached_max_restart_intensity).
	ReportIntensity
	// ReportShutdown: the supervisor stopped its children and exits (info
	// level).
	ReportShutdown
	// ReportMaxRestartPlan: a Director child exited after its plan had run
	// Count times; the Director shuts down (error level;
	// reached_max_restart_plan).
	ReportMaxRestartPlan
	// ReportPlanStop: a Director child's plan said PlanStop or
	// PlanStopWith; the Director shuts down (error level; plan_stop).
	ReportPlanStop
	// ReportRestartDelayed: a Director child's restart waits, for a
	// PlanRestartAfter delay or because its restart window is full (info
	// level; child_restart_delayed).
	ReportRestartDelayed
)

func (k ReportKind) String() string {
	switch k {
	case ReportStarted:
		return "child_started"
	case ReportTerminated:
		return "child_terminated"
	case ReportRestarting:
		return "child_restarting"
	case ReportStartError:
		return "start_error"
	case ReportShutdownError:
		return "shutdown_error"
	case ReportIntensity:
		return "reached_max_restart_intensity"
	case ReportShutdown:
		return "supervisor_shutdown"
	case ReportMaxRestartPlan:
		return "reached_max_restart_plan"
	case ReportPlanStop:
		return "plan_stop"
	case ReportRestartDelayed:
		return "child_restart_delayed"
	}
	return "unknown"
}

func (k ReportKind) level() zerolog.Level {
	switch k {
	case ReportStarted:
		return zerolog.DebugLevel
	case ReportRestarting, ReportShutdown, ReportRestartDelayed:
		return zerolog.InfoLevel
	}
	return zerolog.ErrorLevel
}

// reporter writes a supervisor's reports. Its logger already carries the
// supervisor field.
type reporter struct {
	log zerolog.Logger
	met *metrics // nil without a meter provider (telemetry.go)
}

func newReporter(n *actor.Node, self actor.PID, name string) reporter {
	sup := name
	if sup == "" {
		sup = self.String()
	}
	return reporter{log: n.Logger().With().Str("supervisor", sup).Logger(), met: newMetrics(n, sup)}
}

// child writes a report about one child. id is empty for DynamicSupervisor
// children; pid may be zero (a child that failed to start).
func (r reporter) child(kind ReportKind, id string, pid actor.PID, reason error) {
	r.met.record(kind, reason)
	e := r.log.WithLevel(kind.level())
	if e == nil {
		return
	}
	e = e.Str("event", kind.String())
	if id != "" {
		e = e.Str("child", id)
	}
	if !pid.IsZero() {
		e = e.Stringer("child_pid", pid)
	}
	if reason != nil {
		e = e.AnErr("reason", reason)
	}
	e.Msg(kind.String())
}

// supervisor writes a report about the supervisor itself.
func (r reporter) supervisor(kind ReportKind, reason error) {
	r.met.record(kind, reason)
	e := r.log.WithLevel(kind.level())
	if e == nil {
		return
	}
	e = e.Str("event", kind.String())
	if reason != nil {
		e = e.AnErr("reason", reason)
	}
	e.Msg(kind.String())
}

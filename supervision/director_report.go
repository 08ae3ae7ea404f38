package supervision

import (
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/rs/zerolog"
)

// report writes a report about one Director child, with the fields of
// Supervisor reports plus the child's plan and counters: plan, count,
// plan_runs (completed runs of the plan), plan_index (next element),
// plan_length, exits (under the current plan), restart_count,
// terminate_timeout, type, append, modules.
func (d *director[A]) report(kind ReportKind, c *dchild[A], pid actor.PID, reason error) {
	e := d.rep.log.WithLevel(kind.level())
	if e == nil {
		return
	}
	e = e.Str("event", kind.String()).Str("child", c.spec.ID)
	if !pid.IsZero() {
		e = e.Stringer("child_pid", pid)
	}
	if reason != nil {
		e = e.AnErr("reason", reason)
	}
	d.planFields(e, c).Msg(kind.String())
}

func (d *director[A]) planFields(e *zerolog.Event, c *dchild[A]) *zerolog.Event {
	return e.Strs("plan", c.spec.Plan.Strings()).
		Stringer("count", c.spec.Count).
		Int("plan_runs", c.plan.rounds).
		Int("plan_index", c.plan.index).
		Int("plan_length", len(c.spec.Plan)).
		Int("exits", c.plan.exits).
		Int("restart_count", c.restarts).
		Stringer("terminate_timeout", c.spec.TerminateTimeout).
		Stringer("type", c.spec.Type).
		Bool("append", c.spec.Append).
		Strs("modules", c.spec.Modules)
}

// reportDelay writes the child_restart_delayed report.
func (d *director[A]) reportDelay(c *dchild[A], delay time.Duration) {
	e := d.rep.log.WithLevel(ReportRestartDelayed.level())
	if e == nil {
		return
	}
	e = e.Str("event", ReportRestartDelayed.String()).Str("child", c.spec.ID).
		Dur("delay", delay).Uint64("timer", c.gen)
	d.planFields(e, c).Msg(ReportRestartDelayed.String())
}

// dbg starts a debug trace event, or returns nil without WithDebug.
func (d *director[A]) dbg(kind string) *zerolog.Event {
	if !d.cfg.debug {
		return nil
	}
	return d.rep.log.Info().Str("dbg", kind)
}

func (d *director[A]) dbgRequest(req *actor.Request) {
	if e := d.dbg("request"); e != nil {
		e.Type("request", req.Message()).Str("value", fmt.Sprintf("%+v", req.Message())).
			Stringer("from", req.From()).Msg("director got request")
	}
}

func (d *director[A]) dbgReply(req *actor.Request, v any) {
	if e := d.dbg("reply"); e != nil {
		e.Type("reply", v).Str("value", fmt.Sprintf("%+v", v)).
			Stringer("to", req.From()).Msg("director sent reply")
	}
}

func (d *director[A]) dbgExit(m actor.Exit) {
	if e := d.dbg("exit"); e != nil {
		e.Stringer("from", m.From).AnErr("reason", m.Reason).Msg("director got exit signal")
	}
}

func (d *director[A]) dbgTimer(id string, gen uint64, current bool) {
	if e := d.dbg("timer"); e != nil {
		e.Str("child", id).Uint64("timer", gen).Bool("current", current).Msg("director got timer event")
	}
}

package supervision

import (
	"fmt"
	"strings"
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
	d.rep.met.record(kind, reason)
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
		e.Type("request", req.Message()).Str("value", d.describe(req.Message())).
			Stringer("from", req.From()).Msg("director got request")
	}
}

func (d *director[A]) dbgReply(req *actor.Request, v any) {
	if e := d.dbg("reply"); e != nil {
		e.Type("reply", v).Str("value", d.describe(v)).
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

// describe renders a request or reply of the Director protocol for the
// debug trace, in the seed's terms (PIDs and plans in their String forms).
func (d *director[A]) describe(v any) string {
	orErr := func(ok string, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		return ok
	}
	switch m := v.(type) {
	case dStartReq[A]:
		return fmt.Sprintf("start_child %q plan %v count %v append %t", m.spec.ID, m.spec.Plan, m.spec.Count, m.spec.Append)
	case terminateReq:
		return fmt.Sprintf("terminate_child %q", m.id)
	case restartReq:
		return fmt.Sprintf("restart_child %q", m.id)
	case deleteReq:
		return fmt.Sprintf("delete_child %q", m.id)
	case whichReq:
		return "which_children"
	case countReq:
		return "count_children"
	case dGetPIDReq:
		return fmt.Sprintf("get_pid %q", m.id)
	case dGetPIDsReq:
		return "get_pids"
	case dGetPlanReq:
		return fmt.Sprintf("get_plan %q", m.id)
	case dChangePlanReq:
		return fmt.Sprintf("change_plan %q %v", m.id, m.plan)
	case dGetSpecReq[A]:
		return fmt.Sprintf("get_childspec %q", m.id)
	case dGetDefaultReq[A]:
		return "get_default_childspec"
	case dSetDefaultReq[A]:
		return fmt.Sprintf("change_default_childspec plan %v count %v", m.spec.Plan, m.spec.Count)
	case pidReply:
		return orErr(m.pid.String(), m.err)
	case errReply:
		return orErr("ok", m.err)
	case planReply:
		return orErr(m.plan.String(), m.err)
	case dSpecReply[A]:
		return orErr(fmt.Sprintf("%q plan %v count %v", m.spec.ID, m.spec.Plan, m.spec.Count), m.err)
	case []ChildInfo:
		parts := make([]string, len(m))
		for i, c := range m {
			parts[i] = fmt.Sprintf("{%s %v %v %v}", c.ID, c.PID, c.Type, c.State)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case []ChildPID:
		parts := make([]string, len(m))
		for i, c := range m {
			parts[i] = fmt.Sprintf("{%s %v}", c.ID, c.PID)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case Counts:
		return fmt.Sprintf("%+v", m)
	}
	return fmt.Sprintf("%v", v)
}

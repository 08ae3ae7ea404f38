package supervision

import (
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// child is a Supervisor's record of one child, in start order.
type child struct {
	spec ChildSpec
	proc
}

// policy is the part of a supervisor's configuration decide reads.
type policy struct {
	strategy     Strategy
	autoShutdown AutoShutdown
}

type eventKind uint8

const (
	// evExit: a running child exited by itself.
	evExit eventKind = iota + 1
	// evRetry: a restart that failed is tried again.
	evRetry
)

// event is what the restart loop reacts to.
type event struct {
	kind   eventKind
	id     string
	reason error
}

type actionKind uint8

const (
	actReport    actionKind = iota + 1 // child_terminated report for id
	actClear                           // id is no longer running; keep its spec
	actForget                          // drop id's spec (a temporary child)
	actTerminate                       // shut id down within its limit
	actStart                           // start id again; a failure ends the round
	actShutdown                        // stop every child, then exit with reason
)

func (k actionKind) String() string {
	switch k {
	case actReport:
		return "report"
	case actClear:
		return "clear"
	case actForget:
		return "forget"
	case actTerminate:
		return "terminate"
	case actStart:
		return "start"
	case actShutdown:
		return "shutdown"
	}
	return "?"
}

// action is one step the loop carries out, in order.
type action struct {
	kind      actionKind
	id        string
	reason    error
	intensity bool // actShutdown: the restart intensity was exceeded
}

// needsRestart reports whether a child of restart type r that exited with
// reason is restarted, and whether its exit is reported as a crash.
func needsRestart(r Restart, reason error) (restart, report bool) {
	abnormal := !actor.IsNormalExit(reason)
	switch r {
	case Permanent:
		return true, true
	case Transient:
		return abnormal, abnormal
	}
	return false, abnormal
}

// decide is the Supervisor's restart decision: given its children (read
// only), its intensity window, an event and the time, it returns the new
// window and the actions to carry out in order. It has no effects.
func decide(p policy, kids []child, w window, ev event, now time.Time) (window, []action) {
	i := indexOf(kids, ev.id)
	if i < 0 {
		return w, nil
	}
	c := &kids[i]
	var acts []action
	switch ev.kind {
	case evExit:
		restart, report := needsRestart(c.spec.Restart, ev.reason)
		if report {
			acts = append(acts, action{kind: actReport, id: c.spec.ID, reason: ev.reason})
		}
		if !restart {
			if c.spec.Restart == Temporary {
				acts = append(acts, action{kind: actForget, id: c.spec.ID})
			} else {
				acts = append(acts, action{kind: actClear, id: c.spec.ID})
			}
			if c.spec.Significant && autoShutdown(p.autoShutdown, kids, i) {
				acts = append(acts, action{kind: actShutdown, reason: actor.Shutdown})
			}
			return w, acts
		}
		acts = append(acts, action{kind: actClear, id: c.spec.ID})
	case evRetry:
		if c.state != Restarting {
			return w, nil // terminated or deleted meanwhile
		}
	default:
		return w, nil
	}
	w, ok := w.record(now)
	if !ok {
		return w, append(acts, action{kind: actShutdown, reason: actor.Shutdown, intensity: true})
	}
	from := i
	switch p.strategy {
	case OneForOne:
		return w, append(acts, action{kind: actStart, id: c.spec.ID})
	case OneForAll:
		from = 0
	}
	// Stop the group (from..end, but the child itself) in reverse order;
	// temporary members are not started again.
	for j := len(kids) - 1; j >= from; j-- {
		if j == i {
			continue
		}
		k := &kids[j]
		if k.state == Running {
			acts = append(acts, action{kind: actTerminate, id: k.spec.ID})
		}
		if k.spec.Restart == Temporary {
			acts = append(acts, action{kind: actForget, id: k.spec.ID})
		}
	}
	for j := from; j < len(kids); j++ {
		if j != i && kids[j].spec.Restart == Temporary {
			continue
		}
		acts = append(acts, action{kind: actStart, id: kids[j].spec.ID})
	}
	return w, acts
}

// autoShutdown reports whether the exit of the significant child i ends the
// supervisor.
func autoShutdown(a AutoShutdown, kids []child, i int) bool {
	switch a {
	case AnySignificant:
		return true
	case AllSignificant:
		for j := range kids {
			if j != i && kids[j].spec.Significant && kids[j].state != Stopped {
				return false
			}
		}
		return true
	}
	return false
}

func indexOf(kids []child, id string) int {
	for i := range kids {
		if kids[i].spec.ID == id {
			return i
		}
	}
	return -1
}

package supervision

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// PlanKind names what a plan element tells a Director to do.
type PlanKind uint8

const (
	// KindRestart: start the child again (after Delay, if any).
	KindRestart PlanKind = iota + 1
	// KindWait: keep the spec, leave the child stopped until RestartChild.
	KindWait
	// KindStop: the Director stops all its children and exits.
	KindStop
	// KindDelete: drop the child's spec.
	KindDelete
	// KindFunc: ask a function, which returns one of the others.
	KindFunc
)

func (k PlanKind) String() string {
	switch k {
	case KindRestart:
		return "restart"
	case KindWait:
		return "wait"
	case KindStop:
		return "stop"
	case KindDelete:
		return "delete"
	case KindFunc:
		return "func"
	}
	return fmt.Sprintf("PlanKind(%d)", uint8(k))
}

// PlanElement is one step of a Director child's plan: what to do on one
// exit of the child. Build it with PlanRestart, PlanRestartAfter, PlanWait,
// PlanStop, PlanStopWith, PlanDelete or PlanFunc; the zero PlanElement is
// invalid.
type PlanElement struct {
	kind   PlanKind
	delay  time.Duration
	reason error
	fn     func(reason error, n int) PlanElement
	name   string // PlanFunc: how String shows it
}

// Plan is the list of elements a Director walks, one per exit of the child.
type Plan []PlanElement

var (
	// PlanRestart starts the child again at once (subject to the Director's
	// restart window, see WithIntensity).
	PlanRestart = PlanElement{kind: KindRestart}
	// PlanWait leaves the child stopped, its spec kept, until RestartChild.
	PlanWait = PlanElement{kind: KindWait}
	// PlanStop ends the Director: it stops its other children and exits
	// with a *PlanStopError carrying the child's ID and exit reason.
	PlanStop = PlanElement{kind: KindStop}
	// PlanDelete drops the child's spec: it is not restarted.
	PlanDelete = PlanElement{kind: KindDelete}
)

// PlanRestartAfter starts the child again once d has passed on the
// Director's clock; meanwhile WhichChildren shows it Restarting. d <= 0 is
// PlanRestart.
func PlanRestartAfter(d time.Duration) PlanElement {
	return PlanElement{kind: KindRestart, delay: max(d, 0)}
}

// PlanStopWith ends the Director, which stops its other children and exits
// with exactly reason (actor.Normal for a nil reason).
func PlanStopWith(reason error) PlanElement {
	if reason == nil {
		reason = actor.Normal
	}
	return PlanElement{kind: KindStop, reason: reason}
}

// PlanFunc asks f what to do: f gets the child's exit reason and n, the
// number of times the child has exited under its current plan, this exit
// included (1 on the first; ChangePlan resets it). f runs on the Director's
// goroutine and must not block. It returns any element but a PlanFunc one;
// if it does, the Director exits with an error wrapping ErrInvalidPlan.
// name is how the element shows in reports and String ("func" if empty).
func PlanFunc(name string, f func(reason error, n int) PlanElement) PlanElement {
	return PlanElement{kind: KindFunc, fn: f, name: name}
}

// DefaultPlanElement deletes a child that exited with actor.Normal,
// actor.Shutdown or a *actor.ShutdownError, and restarts it otherwise. It
// is the element of DefaultPlan.
var DefaultPlanElement = PlanFunc("default", func(reason error, _ int) PlanElement {
	if actor.IsNormalExit(reason) {
		return PlanDelete
	}
	return PlanRestart
})

// DefaultPlan returns the plan of a child spec that gives none: one
// DefaultPlanElement.
func DefaultPlan() Plan { return Plan{DefaultPlanElement} }

// Kind returns what the element does.
func (e PlanElement) Kind() PlanKind { return e.kind }

// Delay returns a restart element's delay (0 for PlanRestart).
func (e PlanElement) Delay() time.Duration { return e.delay }

// Reason returns a PlanStopWith element's reason, nil for PlanStop.
func (e PlanElement) Reason() error { return e.reason }

// terminal reports whether the element ends the walk of the plan: after
// a Stop the Director is gone, after a Delete the child is.
func (e PlanElement) terminal() bool { return e.kind == KindStop || e.kind == KindDelete }

func (e PlanElement) String() string {
	switch e.kind {
	case KindRestart:
		if e.delay > 0 {
			return "restart(" + e.delay.String() + ")"
		}
		return "restart"
	case KindStop:
		if e.reason != nil {
			return "stop(" + e.reason.Error() + ")"
		}
		return "stop"
	case KindFunc:
		if e.name != "" {
			return "func(" + e.name + ")"
		}
		return "func"
	case 0:
		return "invalid"
	}
	return e.kind.String()
}

// Strings returns the elements' String forms (for reports).
func (p Plan) Strings() []string {
	out := make([]string, len(p))
	for i, e := range p {
		out[i] = e.String()
	}
	return out
}

func (p Plan) String() string { return "[" + strings.Join(p.Strings(), " ") + "]" }

// Count is how many times a Director runs a child's plan. In a
// DirectorSpec the zero value means 1; in a DefaultSpec it means 0 (it adds
// nothing to an appended child's Count). CountInfinity repeats the plan
// forever.
type Count int

// CountInfinity runs a plan again and again (the seed's infinity).
const CountInfinity Count = -1

func (c Count) String() string {
	if c == CountInfinity {
		return "infinity"
	}
	return strconv.Itoa(int(c))
}

// add sums two counts; infinity absorbs.
func (c Count) add(d Count) Count {
	if c == CountInfinity || d == CountInfinity {
		return CountInfinity
	}
	return c + d
}

// validatePlan reports elements a plan can never reach: anything after a
// terminal element (PlanStop, PlanStopWith, PlanDelete), and a Count other
// than 1 on a plan that ends with one (the plan can never run again).
func validatePlan(id string, p Plan, count Count) error {
	for i, e := range p {
		if e.kind < KindRestart || e.kind > KindFunc || e.kind == KindFunc && e.fn == nil {
			return fmt.Errorf("%w: child %q: plan element %d is invalid", ErrInvalidPlan, id, i)
		}
		if e.terminal() && i < len(p)-1 {
			return fmt.Errorf("%w: child %q: plan %v: elements after %v (index %d) are never reached",
				ErrInvalidPlan, id, p, e, i)
		}
	}
	if count < CountInfinity {
		return fmt.Errorf("%w: child %q: count %d", ErrInvalidPlan, id, count)
	}
	if n := len(p); n > 0 && p[n-1].terminal() && count != 1 {
		return fmt.Errorf("%w: child %q: plan %v ends with %v, so count %v never repeats it",
			ErrInvalidPlan, id, p, p[n-1], count)
	}
	return nil
}

// planState is where a child stands in its plan.
type planState struct {
	index  int // next element to use
	rounds int // completed runs of the plan
	exits  int // exits handled under the current plan
}

// planStep is the pure plan decision: given a child's position, plan and
// count and its exit reason, it returns the new position and the element
// to carry out (never a PlanFunc one). exhausted is set when the plan has
// already run count times: the Director must end. err (wrapping
// ErrInvalidPlan) is set when a plan function returned a function.
func planStep(st planState, p Plan, count Count, reason error) (next planState, e PlanElement, exhausted bool, err error) {
	st.exits++
	if st.index >= len(p) {
		st.rounds++
		if count != CountInfinity && st.rounds >= int(count) || len(p) == 0 {
			return st, PlanElement{}, true, nil
		}
		st.index = 0
	}
	e = p[st.index]
	st.index++
	if e.kind == KindFunc {
		e = e.fn(reason, st.exits)
		if e.kind == KindFunc || e.kind == 0 {
			return st, e, false, fmt.Errorf("%w: plan function %v returned %v", ErrInvalidPlan, p[st.index-1], e)
		}
	}
	return st, e, false, nil
}

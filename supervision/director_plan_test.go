package supervision

import (
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

func TestPlanStep(t *testing.T) {
	errBoom := errors.New("boom")
	r, w := PlanRestart, PlanWait
	type want struct {
		elem      string
		exhausted bool
	}
	for _, tc := range []struct {
		name  string
		plan  Plan
		count Count
		exits []error
		want  []want
	}{
		{"seed plan", Plan{r, PlanRestartAfter(5 * time.Second), PlanDelete}, 1,
			[]error{errBoom, errBoom, errBoom}, []want{{"restart", false}, {"restart(5s)", false}, {"delete", false}}},
		{"wait count 1", Plan{w}, 1, []error{errBoom, errBoom}, []want{{"wait", false}, {"", true}}},
		{"count 3", Plan{r}, 3, []error{errBoom, errBoom, errBoom, errBoom}, []want{{"restart", false}, {"restart", false}, {"restart", false}, {"", true}}},
		{"count 2 of two", Plan{r, w}, 2, []error{errBoom, errBoom, errBoom, errBoom, errBoom},
			[]want{{"restart", false}, {"wait", false}, {"restart", false}, {"wait", false}, {"", true}}},
		{"infinity", Plan{r}, CountInfinity, []error{errBoom, errBoom, errBoom}, []want{{"restart", false}, {"restart", false}, {"restart", false}}},
		{"default plan", DefaultPlan(), CountInfinity, []error{actor.Normal, actor.Shutdown, &actor.ShutdownError{Reason: "x"}, errBoom, actor.Killed},
			[]want{{"delete", false}, {"delete", false}, {"delete", false}, {"restart", false}, {"restart", false}}},
		{"func sees count", Plan{PlanFunc("n", func(_ error, n int) PlanElement {
			if n < 3 {
				return r
			}
			return PlanStopWith(errBoom)
		})}, CountInfinity, []error{errBoom, errBoom, errBoom}, []want{{"restart", false}, {"restart", false}, {"stop(boom)", false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st planState
			for i, reason := range tc.exits {
				var e PlanElement
				var exhausted bool
				var err error
				st, e, exhausted, err = planStep(st, tc.plan, tc.count, reason)
				if err != nil {
					t.Fatal(err)
				}
				got := want{exhausted: exhausted}
				if !exhausted {
					got.elem = e.String()
				}
				if got != tc.want[i] {
					t.Fatalf("exit %d: got %+v, want %+v", i+1, got, tc.want[i])
				}
			}
		})
	}
	// A function returning a function is refused.
	bad := Plan{PlanFunc("loop", func(error, int) PlanElement { return DefaultPlanElement })}
	if _, _, _, err := planStep(planState{}, bad, 1, errBoom); !errors.Is(err, ErrInvalidPlan) {
		t.Fatalf("func returning func: %v", err)
	}
}

func TestWindowWait(t *testing.T) {
	now := time.Unix(100, 0)
	w := newWindow(3, 5*time.Second)
	for i := range 3 {
		if d := w.wait(now); d != 0 {
			t.Fatalf("restart %d waits %v", i+1, d)
		}
		w, _ = w.record(now.Add(time.Duration(i) * time.Second))
	}
	// Stamps at 0, 1, 2 s: the fourth fits once the first leaves (at 5 s).
	if d := w.wait(now.Add(2 * time.Second)); d != 3*time.Second {
		t.Fatalf("wait = %v, want 3s", d)
	}
	if d := w.wait(now.Add(5 * time.Second)); d != 0 {
		t.Fatalf("wait at 5s = %v, want 0", d)
	}
	if _, ok := w.record(now.Add(5 * time.Second)); !ok {
		t.Fatal("restart after wait exceeds the window")
	}
}

func TestAddShutdown(t *testing.T) {
	for _, tc := range []struct{ child, def, want Shutdown }{
		{Timeout(time.Second), Timeout(time.Second), Timeout(2 * time.Second)},
		{Timeout(time.Second), DefaultShutdown, Timeout(time.Second)},
		{BrutalKill, DefaultShutdown, BrutalKill},
		{BrutalKill, Timeout(time.Second), Timeout(time.Second)},
		{Infinity, Timeout(time.Second), Infinity},
		{Timeout(time.Second), Infinity, Infinity},
	} {
		if got := addShutdown(tc.child, tc.def); got != tc.want {
			t.Errorf("addShutdown(%v, %v) = %v, want %v", tc.child, tc.def, got, tc.want)
		}
	}
}

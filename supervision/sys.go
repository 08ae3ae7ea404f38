package supervision

import (
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// The sys hooks of the supervisors (see actor.SysStater and package sys):
// sys.GetState shows a SupervisorState snapshot; the state of a supervisor
// cannot be replaced. They run on the supervisor's goroutine.

var (
	_ actor.SysStater    = (*supervisor)(nil)
	_ actor.SysDescriber = (*supervisor)(nil)
	_ actor.SysStater    = (*dynamic[int])(nil)
	_ actor.SysDescriber = (*dynamic[int])(nil)
	_ actor.SysStater    = (*director[int])(nil)
	_ actor.SysDescriber = (*director[int])(nil)
)

// SupervisorState is what sys.GetState shows of a Supervisor, a
// DynamicSupervisor or a Director.
type SupervisorState struct {
	Name        string        // the WithName name, or empty
	Strategy    Strategy      // a Supervisor's strategy (OneForOne for the others)
	MaxRestarts int           // the restart intensity...
	Period      time.Duration // ...within this period
	Restarts    int           // restarts within the last period (a Supervisor's or DynamicSupervisor's window)
	Children    []ChildInfo   // as WhichChildren
}

// SysBehaviour names the process in sys listings.
func (s *supervisor) SysBehaviour() string { return "supervisor" }

// SysState implements actor.SysStater.
func (s *supervisor) SysState() any {
	st := s.stateOf(s.window)
	st.Strategy = s.cfg.strategy
	st.Children = make([]ChildInfo, len(s.kids))
	for i, c := range s.kids {
		st.Children[i] = c.info(c.spec.ID, c.spec.Type)
	}
	return st
}

// SysBehaviour names the process in sys listings.
func (d *dynamic[A]) SysBehaviour() string { return "dynamic_supervisor" }

// SysState implements actor.SysStater.
func (d *dynamic[A]) SysState() any {
	st := d.cfg.stateOf(d.window)
	st.Children = make([]ChildInfo, 0, len(d.kids)+len(d.restarting))
	for pid := range d.kids {
		st.Children = append(st.Children, ChildInfo{PID: pid, Type: d.tmpl.Type, State: Running})
	}
	for range d.restarting {
		st.Children = append(st.Children, ChildInfo{Type: d.tmpl.Type, State: Restarting})
	}
	return st
}

// SysBehaviour names the process in sys listings.
func (d *director[A]) SysBehaviour() string { return "director" }

// SysState implements actor.SysStater. A Director keeps a restart window
// per child; Restarts sums them.
func (d *director[A]) SysState() any {
	st := SupervisorState{Name: d.cfg.name, Strategy: OneForOne, MaxRestarts: d.cfg.maxRestarts, Period: d.cfg.period}
	now := d.cfg.clock.Now()
	st.Children = make([]ChildInfo, len(d.kids))
	for i, c := range d.kids {
		st.Children[i] = c.info(c.spec.ID, c.spec.Type)
		st.Restarts += c.window.count(now)
	}
	return st
}

func (s *supervisor) stateOf(w window) SupervisorState { return s.cfg.stateOf(w) }

func (c config) stateOf(w window) SupervisorState {
	return SupervisorState{
		Name:        c.name,
		Strategy:    OneForOne,
		MaxRestarts: c.maxRestarts,
		Period:      c.period,
		Restarts:    w.count(c.clock.Now()),
	}
}

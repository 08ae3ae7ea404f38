package behaviour

import (
	"fmt"
	"reflect"

	"github.com/arbor-otp/arbor/actor"
)

// The sys hooks of a GenServer (see actor.SysStater and package sys): its
// state is the S its callbacks pass along, shown and replaced as it is.
// They run on the server's goroutine, between two messages.

var (
	_ actor.SysStater    = (*server[int])(nil)
	_ actor.SysReplacer  = (*server[int])(nil)
	_ actor.SysDescriber = (*server[int])(nil)
)

// sysViewer is implemented by a Server built on GenServer whose state is
// internal (an event manager): sys shows its view, and the state cannot be
// replaced.
type sysViewer[S any] interface {
	sysView(state S) any
}

// StateCopier is an optional Server hook for package sys: GetState and
// GetStatus hand out CopyState(s) instead of the state itself. Without it
// they hand out the state S as it is, so a state that holds maps, slices
// or pointers is shared with the running server, which may change it
// while the caller reads it; a CopyState that copies them avoids that.
// CopyState runs on the server's goroutine.
type StateCopier[S any] interface {
	CopyState(s S) S
}

// SysState implements actor.SysStater: the server's state S, or its
// StateCopier copy.
func (s *server[S]) SysState() any {
	switch v := s.impl.(type) {
	case sysViewer[S]:
		return v.sysView(s.state)
	case StateCopier[S]:
		return v.CopyState(s.state)
	}
	return s.state
}

// SysReplaceState implements actor.SysReplacer: replace gets the state S
// and must return an S (a nil for an S that is a pointer or an interface
// is its zero value). If replace fails, or returns another type (an error
// matching actor.ErrSysStateType), the state is unchanged.
func (s *server[S]) SysReplaceState(replace func(any) (any, error)) (any, error) {
	if _, ok := s.impl.(sysViewer[S]); ok {
		return nil, actor.ErrSysUnsupported
	}
	v, err := replace(s.state)
	if err != nil {
		return nil, err
	}
	var next S
	if v != nil {
		st, ok := v.(S)
		if !ok {
			return nil, fmt.Errorf("replace state: got %T, want %v: %w", v, reflect.TypeFor[S](), actor.ErrSysStateType)
		}
		next = st
	}
	s.state = next
	return next, nil
}

// SysBehaviour implements actor.SysDescriber: "gen_server", or what the
// Server's own SysBehaviour says ("gen_event" for an event manager).
func (s *server[S]) SysBehaviour() string {
	if d, ok := s.impl.(actor.SysDescriber); ok {
		return d.SysBehaviour()
	}
	return "gen_server"
}

// EventManagerState is what sys.GetState shows of an event manager: its
// handlers in the order they are called. Its state cannot be replaced
// (each handler's state is the handler's own fields).
type EventManagerState struct {
	Handlers []HandlerState
}

// HandlerState is one handler of an EventManagerState.
type HandlerState struct {
	ID      string
	Handler any       // the EventHandler itself: its fields are its state
	Owner   actor.PID // the owner of a supervised handler, zero otherwise
}

// SysBehaviour names the event manager in sys listings.
func (eventServer[E]) SysBehaviour() string { return "gen_event" }

func (eventServer[E]) sysView(st *eventState[E]) any {
	out := EventManagerState{Handlers: make([]HandlerState, 0, len(st.handlers))}
	for _, h := range st.handlers {
		out.Handlers = append(out.Handlers, HandlerState{ID: h.id, Handler: h.h, Owner: h.owner})
	}
	return out
}

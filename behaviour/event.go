package behaviour

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/arbor-otp/arbor/actor"
)

// EventHandler receives the events of an EventManager (a gen_event handler).
// Its own fields are its state: the manager calls it from the manager's
// goroutine only. Returning an error, or panicking, removes the handler
// and logs the failure. Returning actor.Normal (gen_event's
// remove_handler) removes it quietly, as RemoveHandler does: its
// TerminateHandler and its owner get actor.Normal.
type EventHandler[E any] interface {
	HandleEvent(event E) error
}

// HandlerIniter is an optional EventHandler hook run when the handler is
// added; an error refuses the handler.
type HandlerIniter interface {
	InitHandler() error
}

// HandlerTerminator is an optional EventHandler hook run when the handler is
// removed, with the reason: actor.Normal for RemoveHandler (or a
// HandleEvent that returned actor.Normal), the error or
// panic that removed it, the owner's exit reason for a supervised handler
// whose owner exited, a *SwappedError when SwapHandler replaces it (and it
// has no SwapOut), actor.Shutdown when the manager stops.
type HandlerTerminator interface {
	TerminateHandler(reason error)
}

// HandlerCaller is an optional EventHandler hook for CallHandler.
type HandlerCaller interface {
	HandleCall(req any) (any, error)
}

// HandlerRemoved is sent to the owner of a supervised handler when the
// handler is removed (gen_event's gen_event_EXIT message): by RemoveHandler
// (actor.Normal), by its own error or panic, by SwapHandler or
// SwapSupervisedHandler (a *SwappedError), or because the manager stops (actor.Shutdown). A
// manager that dies without running its Terminate (killed) cannot send it:
// the owner, linked to the manager, gets the exit signal instead.
type HandlerRemoved struct {
	Manager actor.PID
	ID      string
	Reason  error
}

// EventManager is the handle of a gen_event manager process for events of
// type E.
type EventManager[E any] struct{ pid actor.PID }

// EventManagerOf wraps the PID of a running event manager.
func EventManagerOf[E any](pid actor.PID) EventManager[E] { return EventManager[E]{pid: pid} }

// PID returns the manager's process.
func (m EventManager[E]) PID() actor.PID { return m.pid }

// StartEventManager starts an event manager from sp.
func StartEventManager[E any](sp actor.Spawner, opts ...Option) (EventManager[E], error) {
	pid, err := Start[*eventState[E]](sp, &eventServer[E]{}, opts...)
	return EventManager[E]{pid: pid}, err
}

// StartEventManagerLink starts an event manager linked to the calling
// process.
func StartEventManagerLink[E any](ctx *actor.Context, opts ...Option) (EventManager[E], error) {
	pid, err := StartLink[*eventState[E]](ctx, &eventServer[E]{}, opts...)
	return EventManager[E]{pid: pid}, err
}

// AddHandler adds h under id. It returns ErrHandlerExists for a taken id,
// ErrNilHandler for a nil h, and the error of h's InitHandler.
func (m EventManager[E]) AddHandler(ctx context.Context, id string, h EventHandler[E]) error {
	return m.add(ctx, id, h, actor.PID{})
}

// AddSupervisedHandler adds h on behalf of owner (gen_event's
// add_sup_handler): the manager links to owner. If owner exits, h is
// removed (TerminateHandler gets owner's exit reason). When h is removed
// for any other reason while the manager runs, or when the manager stops,
// owner receives HandlerRemoved and the manager unlinks from it once it
// supervises none of owner's handlers (except from its parent, whose link
// StartEventManagerLink made and keeps, as OTP's gen_event). If the manager dies without
// stopping (actor.Kill), the link tells owner: a trapping owner gets
// actor.Exit{From: manager}, any other dies with the manager's reason, as in
// OTP. It returns ErrNoOwner for a zero owner, and AddHandler's errors.
func (m EventManager[E]) AddSupervisedHandler(ctx context.Context, owner actor.PID, id string, h EventHandler[E]) error {
	if owner.IsZero() {
		return fmt.Errorf("add supervised handler %s: %w", id, ErrNoOwner)
	}
	return m.add(ctx, id, h, owner)
}

// AddMonitoredHandler is AddSupervisedHandler.
//
// Deprecated: use AddSupervisedHandler; the owner is linked, not monitored.
func (m EventManager[E]) AddMonitoredHandler(ctx context.Context, owner actor.PID, id string, h EventHandler[E]) error {
	return m.AddSupervisedHandler(ctx, owner, id, h)
}

func (m EventManager[E]) add(ctx context.Context, id string, h EventHandler[E], owner actor.PID) error {
	if h == nil {
		return fmt.Errorf("add handler %s: %w", id, ErrNilHandler)
	}
	v, err := Call(ctx, m.pid, addHandler[E]{id: id, h: h, owner: owner})
	if err != nil {
		return err
	}
	if v != nil {
		return v.(error)
	}
	return nil
}

// RemoveHandler removes the handler id (its TerminateHandler gets
// actor.Normal). It returns ErrHandlerNotFound if there is none.
func (m EventManager[E]) RemoveHandler(ctx context.Context, id string) error {
	v, err := Call(ctx, m.pid, removeHandler{id: id})
	if err != nil {
		return err
	}
	if v != nil {
		return v.(error)
	}
	return nil
}

// Notify sends event to every handler without waiting.
func (m EventManager[E]) Notify(ctx context.Context, event E) error {
	return Cast(ctx, m.pid, notify[E]{event: event})
}

// SyncNotify sends event to every handler and returns once all have handled
// it.
func (m EventManager[E]) SyncNotify(ctx context.Context, event E) error {
	_, err := Call(ctx, m.pid, notify[E]{event: event})
	return err
}

// WhichHandlers returns the ids of the installed handlers, in the order they
// are called.
func (m EventManager[E]) WhichHandlers(ctx context.Context) ([]string, error) {
	return CallAs[[]string](ctx, m.pid, whichHandlers{})
}

// CallHandler calls the handler id's HandleCall. It returns
// ErrHandlerNotFound if there is none or it has no HandleCall. An error
// HandleCall returns is the call's error and the handler stays; a panic
// removes the handler, as a crash in gen_event's handle_call does (its
// TerminateHandler and its owner get the *actor.PanicError), and is the
// call's error.
func (m EventManager[E]) CallHandler(ctx context.Context, id string, req any) (any, error) {
	v, err := Call(ctx, m.pid, callHandler{id: id, req: req})
	if err != nil {
		return nil, err
	}
	r := v.(handlerReply)
	return r.v, r.err
}

// Stop stops the manager (gen_event:stop): every handler's
// TerminateHandler gets actor.Shutdown, the owners of supervised handlers
// get HandlerRemoved, and the manager exits with reason actor.Normal, so a
// linked process that does not trap exits lives on. It returns StopServer's
// errors.
func (m EventManager[E]) Stop(ctx context.Context, n *actor.Node) error {
	return StopServer(ctx, n, m.pid, actor.Normal)
}

type (
	addHandler[E any] struct {
		id    string
		h     EventHandler[E]
		owner actor.PID
	}
	removeHandler struct{ id string }
	notify[E any] struct{ event E }
	whichHandlers struct{}
	callHandler   struct {
		id  string
		req any
	}
	handlerReply struct {
		v   any
		err error
	}
)

type handlerEntry[E any] struct {
	id    string
	h     EventHandler[E]
	owner actor.PID // zero for an unsupervised handler
}

type eventState[E any] struct {
	handlers []handlerEntry[E]
	owners   map[actor.PID]int // supervised handlers per linked owner
}

type eventServer[E any] struct{}

// Init traps exits, as gen_event does: an owner's exit removes its
// handlers instead of killing the manager.
func (eventServer[E]) Init(ctx *actor.Context) (*eventState[E], error) {
	ctx.TrapExit(true)
	return &eventState[E]{}, nil
}

func (es eventServer[E]) HandleCall(ctx *actor.Context, _ From, req any, s *eventState[E]) Result[*eventState[E]] {
	switch r := req.(type) {
	case addHandler[E]:
		if s.find(r.id) >= 0 {
			return Reply(ErrHandlerExists, s)
		}
		if in, ok := r.h.(HandlerIniter); ok {
			if err := protect(in.InitHandler); err != nil {
				return Reply(fmt.Errorf("init handler %s: %w", r.id, err), s)
			}
		}
		s.handlers = append(s.handlers, handlerEntry[E]{id: r.id, h: r.h})
		s.supervise(ctx, len(s.handlers)-1, r.owner)
		return Reply(nil, s)
	case swapHandler[E]:
		if err := s.swap(ctx, r); err != nil {
			return Reply(err, s)
		}
		return Reply(nil, s)
	case removeHandler:
		i := s.find(r.id)
		if i < 0 {
			return Reply(ErrHandlerNotFound, s)
		}
		s.remove(ctx, i, actor.Normal, true)
		return Reply(nil, s)
	case notify[E]:
		s.dispatch(ctx, r.event)
		return Reply(nil, s)
	case whichHandlers:
		ids := make([]string, len(s.handlers))
		for i, e := range s.handlers {
			ids[i] = e.id
		}
		return Reply(ids, s)
	case callHandler:
		i := s.find(r.id)
		if i < 0 {
			return Reply(handlerReply{err: ErrHandlerNotFound}, s)
		}
		hc, ok := s.handlers[i].h.(HandlerCaller)
		if !ok {
			return Reply(handlerReply{err: ErrHandlerNotFound}, s)
		}
		var v any
		err := protect(func() (err error) { v, err = hc.HandleCall(r.req); return err })
		var pe *actor.PanicError
		if errors.As(err, &pe) {
			s.remove(ctx, i, err, true)
		}
		return Reply(handlerReply{v: v, err: err}, s)
	}
	return Reply(ErrHandlerNotFound, s)
}

func (es eventServer[E]) HandleCast(ctx *actor.Context, msg any, s *eventState[E]) Result[*eventState[E]] {
	if n, ok := msg.(notify[E]); ok {
		s.dispatch(ctx, n.event)
	}
	return NoReply(s)
}

func (es eventServer[E]) HandleInfo(ctx *actor.Context, msg any, s *eventState[E]) Result[*eventState[E]] {
	if ex, ok := msg.(actor.Exit); ok && s.owners[ex.From] > 0 {
		// An owner exited: its handlers go, with nobody to tell.
		for i := 0; i < len(s.handlers); {
			if s.handlers[i].owner == ex.From {
				s.remove(ctx, i, ex.Reason, false)
				continue
			}
			i++
		}
	}
	return NoReply(s)
}

func (es eventServer[E]) Terminate(ctx *actor.Context, reason error, s *eventState[E]) {
	// Every owner is told and unlinked, so the manager's exit reason
	// does not reach owners that already got HandlerRemoved.
	for len(s.handlers) > 0 {
		s.remove(ctx, len(s.handlers)-1, actor.Shutdown, true)
	}
}

func (s *eventState[E]) find(id string) int {
	for i := range s.handlers {
		if s.handlers[i].id == id {
			return i
		}
	}
	return -1
}

// dispatch gives event to each handler in order; a handler that fails is
// removed and reported, the others carry on.
func (s *eventState[E]) dispatch(ctx *actor.Context, event E) {
	for i := 0; i < len(s.handlers); {
		h := s.handlers[i].h
		if err := protect(func() error { return h.HandleEvent(event) }); err != nil {
			if errors.Is(err, actor.Normal) {
				// The handler asked to go (gen_event's remove_handler): a
				// removal, not a failure.
				ctx.Logger().Debug().Str("handler", s.handlers[i].id).Msg("event handler removed itself")
				s.remove(ctx, i, actor.Normal, true)
				continue
			}
			ctx.Logger().Error().Str("handler", s.handlers[i].id).Err(err).Msg("event handler failed and was removed")
			s.remove(ctx, i, err, true)
			continue
		}
		i++
	}
}

// supervise makes owner (if not zero) the owner of handler i, linking the
// manager to it. The manager's parent is linked already.
func (s *eventState[E]) supervise(ctx *actor.Context, i int, owner actor.PID) {
	s.handlers[i].owner = owner
	if owner.IsZero() {
		return
	}
	if s.owners == nil {
		s.owners = make(map[actor.PID]int)
	}
	if s.owners[owner] == 0 && owner != ctx.Parent() {
		ctx.Link(owner)
	}
	s.owners[owner]++
}

// unsupervise drops handler i's owner, unlinking from it once it owns no
// handler.
func (s *eventState[E]) unsupervise(ctx *actor.Context, i int) {
	owner := s.handlers[i].owner
	if owner.IsZero() {
		return
	}
	s.handlers[i].owner = actor.PID{}
	s.release(ctx, owner)
}

// release drops one supervised handler of owner, unlinking from it once it
// owns none. The link to the manager's parent stays: it is the link of
// StartEventManagerLink, not of the handler.
func (s *eventState[E]) release(ctx *actor.Context, owner actor.PID) {
	if s.owners[owner]--; s.owners[owner] <= 0 {
		delete(s.owners, owner)
		if owner != ctx.Parent() {
			ctx.Unlink(owner)
		}
	}
}

// remove takes handler i out, runs its TerminateHandler and, if tell, sends
// its owner HandlerRemoved.
func (s *eventState[E]) remove(ctx *actor.Context, i int, reason error, tell bool) {
	e := s.handlers[i]
	s.unsupervise(ctx, i)
	s.handlers = append(s.handlers[:i], s.handlers[i+1:]...)
	if t, ok := e.h.(HandlerTerminator); ok {
		_ = protect(func() error { t.TerminateHandler(reason); return nil })
	}
	if tell && !e.owner.IsZero() {
		_ = ctx.Send(e.owner, HandlerRemoved{Manager: ctx.Self(), ID: e.id, Reason: reason})
	}
}

// protect runs f, turning a panic into a *actor.PanicError.
func protect(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &actor.PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return f()
}

package behaviour

import (
	"context"
	"fmt"

	"github.com/arbor-otp/arbor/actor"
)

// HandlerSwapOuter is an optional hook of a handler being replaced by
// SwapHandler: SwapOut runs instead of TerminateHandler and its result is
// handed to the new handler (the return value of terminate in OTP's
// swap_handler).
type HandlerSwapOuter interface {
	SwapOut() any
}

// HandlerSwapIniter is an optional hook of a handler added by SwapHandler:
// SwapIn runs instead of InitHandler with what the old handler handed over:
// the result of its SwapOut, nil if it has none, ErrHandlerNotFound if there
// was no old handler, or the *actor.PanicError of a SwapOut that panicked.
// An error refuses the new handler; the old one is gone all the same.
type HandlerSwapIniter interface {
	SwapIn(prev any) error
}

// SwappedError is the reason a handler replaced by SwapHandler or
// SwapSupervisedHandler is removed with: its TerminateHandler gets it (when
// it has no SwapOut), and its owner, if it had one, gets it in
// HandlerRemoved (OTP's {swapped, New, Pid}).
type SwappedError struct {
	ID    string    // the new handler
	Owner actor.PID // the new handler's owner, zero if none
}

func (e *SwappedError) Error() string {
	if e.Owner.IsZero() {
		return fmt.Sprintf("behaviour: event handler swapped for %s", e.ID)
	}
	return fmt.Sprintf("behaviour: event handler swapped for %s of %v", e.ID, e.Owner)
}

// SwapHandler replaces the handler oldID with h under newID in one step
// (gen_event's swap_handler): no event falls between the two. The old
// handler's SwapOut (or TerminateHandler) runs, then h's SwapIn (or
// InitHandler); h takes the old handler's place in the calling order and,
// if the old handler was supervised, its owner, which gets HandlerRemoved
// with a *SwappedError for oldID. h is added even if oldID is
// not installed. It returns ErrHandlerExists if newID is another installed
// handler or ErrNilHandler for a nil h (nothing changes then), and the
// error of h's SwapIn or InitHandler:
// the old handler is removed all the same, and the owner h would have had
// gets HandlerRemoved{ID: newID} with that error.
func (m EventManager[E]) SwapHandler(ctx context.Context, oldID, newID string, h EventHandler[E]) error {
	return m.swap(ctx, swapHandler[E]{oldID: oldID, newID: newID, h: h})
}

// SwapSupervisedHandler is SwapHandler that also makes owner the owner of
// the new handler, as AddSupervisedHandler (gen_event's swap_sup_handler).
// The old handler's owner, if any, gets HandlerRemoved with a *SwappedError.
// It returns ErrNoOwner for a zero owner (nothing changes then), and
// SwapHandler's errors.
func (m EventManager[E]) SwapSupervisedHandler(ctx context.Context, owner actor.PID, oldID, newID string, h EventHandler[E]) error {
	if owner.IsZero() {
		return fmt.Errorf("swap in supervised handler %s: %w", newID, ErrNoOwner)
	}
	return m.swap(ctx, swapHandler[E]{oldID: oldID, newID: newID, h: h, owner: owner, sup: true})
}

func (m EventManager[E]) swap(ctx context.Context, req swapHandler[E]) error {
	if req.h == nil {
		return fmt.Errorf("swap in handler %s: %w", req.newID, ErrNilHandler)
	}
	v, err := Call(ctx, m.pid, req)
	if err != nil {
		return err
	}
	if v != nil {
		return v.(error)
	}
	return nil
}

type swapHandler[E any] struct {
	oldID, newID string
	h            EventHandler[E]
	owner        actor.PID
	sup          bool // SwapSupervisedHandler: owner replaces the old owner
}

// swap carries out a SwapHandler inside the manager.
func (s *eventState[E]) swap(ctx *actor.Context, r swapHandler[E]) error {
	i := s.find(r.oldID)
	if j := s.find(r.newID); j >= 0 && j != i {
		return ErrHandlerExists
	}
	var prev any = ErrHandlerNotFound
	owner, pos := r.owner, len(s.handlers)
	if i >= 0 {
		old := s.handlers[i]
		pos = i
		reason := &SwappedError{ID: r.newID, Owner: r.owner}
		if !r.sup {
			owner = old.owner // the supervision moves to the new handler
			reason.Owner = owner
		}
		if so, ok := old.h.(HandlerSwapOuter); ok {
			prev = nil
			if err := protect(func() error { prev = so.SwapOut(); return nil }); err != nil {
				prev = err
			}
		} else {
			prev = nil
			if t, ok := old.h.(HandlerTerminator); ok {
				_ = protect(func() error { t.TerminateHandler(reason); return nil })
			}
		}
		if !old.owner.IsZero() {
			// As gen_event_EXIT {swapped, New, Pid}: told even when it
			// goes on supervising the new handler.
			_ = ctx.Send(old.owner, HandlerRemoved{Manager: ctx.Self(), ID: old.id, Reason: reason})
		}
		// Take the old handler out; link the new owner before unlinking
		// the old one, so an owner that stays is never unlinked.
		s.handlers[i] = handlerEntry[E]{id: r.newID, h: r.h}
		s.supervise(ctx, i, owner)
		if !old.owner.IsZero() {
			s.release(ctx, old.owner)
		}
	} else {
		s.handlers = append(s.handlers, handlerEntry[E]{id: r.newID, h: r.h})
		s.supervise(ctx, pos, owner)
	}
	var err error
	if si, ok := r.h.(HandlerSwapIniter); ok {
		err = protect(func() error { return si.SwapIn(prev) })
	} else if in, ok := r.h.(HandlerIniter); ok {
		err = protect(in.InitHandler)
	}
	if err != nil {
		// Refused: the new handler goes without TerminateHandler, as a
		// handler whose init failed; an owner it had (its own, or the one
		// it took over) learns that it is gone.
		err = fmt.Errorf("init handler %s: %w", r.newID, err)
		if owner := s.handlers[pos].owner; !owner.IsZero() {
			s.unsupervise(ctx, pos)
			_ = ctx.Send(owner, HandlerRemoved{Manager: ctx.Self(), ID: r.newID, Reason: err})
		}
		s.handlers = append(s.handlers[:pos], s.handlers[pos+1:]...)
		return err
	}
	return nil
}

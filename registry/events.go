package registry

import (
	"runtime/debug"

	"github.com/arbor-otp/arbor/actor"
)

// The event callbacks. Each is optional: a scope's handler (WithEventHandler)
// implements any subset, and only the events it implements are produced.
// Callbacks of a scope run one at a time on the scope's event process, in
// the order the scope process made the changes, so two events about the
// same name or group are seen in order. They run after the change is
// visible to readers and never delay a write. A callback that panics is
// logged and the next event is delivered as usual.
//
// meta values passed to callbacks are the values given to Register / Join /
// Update: the registry does not copy them, so treat them as read-only.
type (
	// RegisteredHandler is told that name was registered to pid.
	RegisteredHandler interface {
		OnProcessRegistered(scope, name string, pid actor.PID, meta any, reason Reason)
	}
	// UnregisteredHandler is told that name no longer maps to pid.
	UnregisteredHandler interface {
		OnProcessUnregistered(scope, name string, pid actor.PID, meta any, reason Reason)
	}
	// RegistryUpdatedHandler is told that the metadata of name changed.
	RegistryUpdatedHandler interface {
		OnRegistryProcessUpdated(scope, name string, pid actor.PID, prev, meta any, reason Reason)
	}
	// JoinedHandler is told that pid joined group.
	JoinedHandler interface {
		OnProcessJoined(scope, group string, pid actor.PID, meta any, reason Reason)
	}
	// LeftHandler is told that pid left group.
	LeftHandler interface {
		OnProcessLeft(scope, group string, pid actor.PID, meta any, reason Reason)
	}
	// GroupUpdatedHandler is told that the metadata of pid in group changed.
	GroupUpdatedHandler interface {
		OnGroupProcessUpdated(scope, group string, pid actor.PID, prev, meta any, reason Reason)
	}
	// ConflictResolver chooses which of two processes keeps a name that was
	// registered on two nodes at once (after a race or a healed netsplit).
	// It runs on the two nodes involved, so it must give the same answer on
	// both. It returns the PID to keep; the other process is not killed.
	// Returning neither PID frees the name. Without a resolver the most
	// recent registration wins and the other process is killed with a
	// *ConflictError reason. Single-node scopes never call it.
	ConflictResolver interface {
		ResolveRegistryConflict(scope, name string, a, b Registration) actor.PID
	}
)

// Registration is one side of a name conflict.
type Registration struct {
	PID  actor.PID
	Meta any
	// Time is when the registration was made, in nanoseconds since the Unix
	// epoch by the registering node's clock.
	Time int64
}

// ConflictError is the exit reason of a process killed by the default
// conflict resolution.
type ConflictError struct {
	Scope, Name string
	Meta        any
}

func (e *ConflictError) Error() string {
	return "registry: killed to resolve conflict on " + e.Scope + "/" + e.Name
}

// eventKind names a callback.
type eventKind uint8

const (
	evRegistered eventKind = iota
	evUnregistered
	evRegistryUpdated
	evJoined
	evLeft
	evGroupUpdated
	numEventKinds
)

// String returns the callback name.
func (k eventKind) String() string {
	switch k {
	case evRegistered:
		return "OnProcessRegistered"
	case evUnregistered:
		return "OnProcessUnregistered"
	case evRegistryUpdated:
		return "OnRegistryProcessUpdated"
	case evJoined:
		return "OnProcessJoined"
	case evLeft:
		return "OnProcessLeft"
	case evGroupUpdated:
		return "OnGroupProcessUpdated"
	}
	return "unknown"
}

// event is one callback to run; key is the name or the group.
type event struct {
	kind   eventKind
	key    string
	pid    actor.PID
	prev   any
	meta   any
	reason Reason
	// awaitExit marks the callback of a process found dead before its Down:
	// it waits for the exitReason message that carries its reason.
	awaitExit bool
	// flush, when set, marks a flushMsg held in the backlog.
	flush chan struct{}
}

// exitReason supplies the reason of the awaitExit events of pid.
type exitReason struct {
	pid    actor.PID
	reason Reason
}

// flushMsg is closed by the event process once every callback queued
// before it has run.
type flushMsg struct{ done chan struct{} }

// handlerMask records which callbacks a handler implements.
type handlerMask [numEventKinds]bool

func maskOf(h any) handlerMask {
	var m handlerMask
	_, m[evRegistered] = h.(RegisteredHandler)
	_, m[evUnregistered] = h.(UnregisteredHandler)
	_, m[evRegistryUpdated] = h.(RegistryUpdatedHandler)
	_, m[evJoined] = h.(JoinedHandler)
	_, m[evLeft] = h.(LeftHandler)
	_, m[evGroupUpdated] = h.(GroupUpdatedHandler)
	return m
}

// eventProc is the process that runs a scope's callbacks, fed by the scope
// process in order.
type eventProc struct {
	scope   string
	handler any
	// backlog holds events behind an awaitExit event whose reason has not
	// arrived yet, so that callbacks keep the scope process's order.
	backlog []event
	// prev is the event process of the scope process this one's replaced.
	// It dies with that process, but only once the callback it may be
	// running returns: this one waits for that before its first callback,
	// so callbacks stay one at a time and in order across a restart.
	prev actor.PID
}

func (p *eventProc) Receive(ctx *actor.Context, msg any) error {
	if !p.prev.IsZero() {
		<-ctx.Node().WatchExit(p.prev)
		p.prev = actor.PID{}
	}
	switch m := msg.(type) {
	case flushMsg:
		if len(p.backlog) > 0 {
			p.backlog = append(p.backlog, event{flush: m.done})
			return nil
		}
		close(m.done)
	case event:
		if len(p.backlog) > 0 || m.awaitExit {
			p.backlog = append(p.backlog, m)
			return nil
		}
		p.run(ctx, m)
	case exitReason:
		for i := range p.backlog {
			if ev := &p.backlog[i]; ev.awaitExit && ev.pid == m.pid {
				ev.reason, ev.awaitExit = m.reason, false
			}
		}
		n := 0
		for n < len(p.backlog) && !p.backlog[n].awaitExit {
			p.run(ctx, p.backlog[n])
			p.backlog[n] = event{}
			n++
		}
		p.backlog = append(p.backlog[:0], p.backlog[n:]...)
	}
	return nil
}

// run calls the handler's callback for ev, logging a panic instead of
// letting it end the process.
func (p *eventProc) run(ctx *actor.Context, ev event) {
	if ev.flush != nil {
		close(ev.flush)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			ctx.Logger().Error().
				Str("scope", p.scope).
				Str("callback", ev.kind.String()).
				Str("key", ev.key).
				Stringer("subject", ev.pid).
				Interface("panic", r).
				Bytes("stack", debug.Stack()).
				Msg("registry event callback panicked")
		}
	}()
	ev.meta, ev.prev = metaValue(ev.meta), metaValue(ev.prev) // another node's, decoded now
	switch ev.kind {
	case evRegistered:
		p.handler.(RegisteredHandler).OnProcessRegistered(p.scope, ev.key, ev.pid, ev.meta, ev.reason)
	case evUnregistered:
		p.handler.(UnregisteredHandler).OnProcessUnregistered(p.scope, ev.key, ev.pid, ev.meta, ev.reason)
	case evRegistryUpdated:
		p.handler.(RegistryUpdatedHandler).OnRegistryProcessUpdated(p.scope, ev.key, ev.pid, ev.prev, ev.meta, ev.reason)
	case evJoined:
		p.handler.(JoinedHandler).OnProcessJoined(p.scope, ev.key, ev.pid, ev.meta, ev.reason)
	case evLeft:
		p.handler.(LeftHandler).OnProcessLeft(p.scope, ev.key, ev.pid, ev.meta, ev.reason)
	case evGroupUpdated:
		p.handler.(GroupUpdatedHandler).OnGroupProcessUpdated(p.scope, ev.key, ev.pid, ev.prev, ev.meta, ev.reason)
	}
}

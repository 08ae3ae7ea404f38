package registry

import (
	"context"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// ViaOption configures Via.
type ViaOption func(*viaConfig)

type viaConfig struct{ meta any }

// WithMeta sets the metadata the process registers with. Default: nil.
func WithMeta(meta any) ViaOption { return func(c *viaConfig) { c.meta = meta } }

// Via is a spawn option that registers the new process under name in scope
// before its Init runs, OTP's {via, Module, Name}. It works with
// actor.Spawn and with behaviour.Start and StartLink (so in a supervisor
// child's start function):
//
//	pid, err := behaviour.Start(node, &Cache{}, registry.Via("svc", "cache"))
//
// The scope is looked up on the node the process is spawned on. The spawn
// then fails, and leaves no process, with ErrUnknownScope if that node has
// not added the scope, or with Register's error, typically a *NameError
// wrapping ErrTaken, if the name is held. The name is released when the
// process exits. Reach the process with Call, Cast and Send.
func Via(scope, name string, opts ...ViaOption) actor.SpawnOption {
	var cfg viaConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return actor.WithSetup(func(c *actor.Context) error {
		s := scopeOf(c.Node(), scope)
		if s == nil {
			err := ErrUnknownScope
			if scope == "" {
				err = ErrBadName
			}
			return &OpError{Op: "register", Scope: scope, Name: name, PID: c.Self(), Err: err}
		}
		return s.Register(c, name, c.Self(), cfg.meta)
	})
}

// WhereIs returns the process registered under name in scope, as Lookup
// without the metadata. It returns ErrUnknownScope or ErrNotRegistered.
func (r *Registry) WhereIs(scope, name string) (actor.PID, error) {
	pid, _, err := r.Lookup(scope, name)
	return pid, err
}

// whereIs resolves name in scope on the node ctx sends from.
func whereIs(ctx context.Context, scope, name string) (actor.PID, error) {
	s, err := scopeFrom(ctx, "lookup", scope, name)
	if err != nil {
		return actor.PID{}, err
	}
	pid, _, err := s.Lookup(name)
	return pid, err
}

// Call calls the process registered under name in scope, as actor.Call (a
// GenServer answers from HandleCall). The scope is that of the node ctx
// sends from: the process ctx belongs to (pass the *actor.Context inside a
// handler) or the node set with actor.WithNode. It returns ErrNoNode,
// ErrUnknownScope, ErrNotRegistered, or actor.Call's errors.
func Call(ctx context.Context, scope, name string, req any) (any, error) {
	pid, err := whereIs(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	return actor.Call(ctx, pid, req)
}

// Cast casts msg to the GenServer registered under name in scope, as
// behaviour.Cast, resolving the scope as Call does. It returns ErrNoNode,
// ErrUnknownScope, ErrNotRegistered, or behaviour.Cast's error.
func Cast(ctx context.Context, scope, name string, msg any) error {
	pid, err := whereIs(ctx, scope, name)
	if err != nil {
		return err
	}
	return behaviour.Cast(ctx, pid, msg)
}

// Send sends msg to the process registered under name in scope, as
// actor.Send, resolving the scope as Call does. It returns ErrNoNode,
// ErrUnknownScope, ErrNotRegistered, or the send's error.
func Send(ctx context.Context, scope, name string, msg any) error {
	pid, err := whereIs(ctx, scope, name)
	if err != nil {
		return err
	}
	return actor.Send(ctx, pid, msg)
}

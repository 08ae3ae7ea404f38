package registry

import (
	"context"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// ViaOption configures Via.
type ViaOption func(*viaConfig)

type viaConfig struct{ meta any }

// WithMeta sets the metadata the server registers with. Default: nil.
func WithMeta(meta any) ViaOption { return func(c *viaConfig) { c.meta = meta } }

// Via wraps a GenServer so that it registers itself under name in scope
// before its own Init runs, OTP's {via, Module, Name}:
//
//	pid, err := behaviour.Start(node, registry.Via(reg, "svc", "cache", &Cache{}))
//
// Start (or StartLink, or a supervisor child's start function) then fails
// with Register's error, typically a *NameError wrapping ErrTaken, and
// leaves no process, if the name is held. The name is released when the
// server exits. Reach the server with Registry.Call, Cast and Send. The
// wrapper forwards every callback to impl and behaves exactly as impl for
// the callbacks impl does not implement.
func Via[S any](r *Registry, scope, name string, impl behaviour.Server[S], opts ...ViaOption) behaviour.Server[S] {
	var cfg viaConfig
	for _, o := range opts {
		o(&cfg)
	}
	return &viaServer[S]{r: r, scope: scope, name: name, meta: cfg.meta, impl: impl}
}

type viaServer[S any] struct {
	r     *Registry
	scope string
	name  string
	meta  any
	impl  behaviour.Server[S]
}

func (v *viaServer[S]) Init(ctx *actor.Context) (S, error) {
	if err := v.r.Register(ctx, v.scope, v.name, ctx.Self(), v.meta); err != nil {
		var zero S
		return zero, err
	}
	return v.impl.Init(ctx)
}

func (v *viaServer[S]) HandleCall(ctx *actor.Context, from behaviour.From, req any, s S) behaviour.Result[S] {
	if h, ok := v.impl.(behaviour.CallHandler[S]); ok {
		return h.HandleCall(ctx, from, req, s)
	}
	return behaviour.Stop(behaviour.ErrNoHandler, s)
}

func (v *viaServer[S]) HandleCast(ctx *actor.Context, msg any, s S) behaviour.Result[S] {
	if h, ok := v.impl.(behaviour.CastHandler[S]); ok {
		return h.HandleCast(ctx, msg, s)
	}
	return behaviour.Stop(behaviour.ErrNoHandler, s)
}

func (v *viaServer[S]) HandleInfo(ctx *actor.Context, msg any, s S) behaviour.Result[S] {
	if h, ok := v.impl.(behaviour.InfoHandler[S]); ok {
		return h.HandleInfo(ctx, msg, s)
	}
	ctx.Logger().Warn().Type("type", msg).Msg("gen_server dropped unexpected message")
	return behaviour.NoReply(s)
}

func (v *viaServer[S]) HandleContinue(ctx *actor.Context, arg any, s S) behaviour.Result[S] {
	if h, ok := v.impl.(behaviour.ContinueHandler[S]); ok {
		return h.HandleContinue(ctx, arg, s)
	}
	return behaviour.Stop(behaviour.ErrNoHandler, s)
}

func (v *viaServer[S]) Terminate(ctx *actor.Context, reason error, s S) {
	if h, ok := v.impl.(behaviour.Terminator[S]); ok {
		h.Terminate(ctx, reason, s)
	}
}

// WhereIs returns the process registered under name in scope, as Lookup
// without the metadata. It returns ErrUnknownScope or ErrNotRegistered.
func (r *Registry) WhereIs(scope, name string) (actor.PID, error) {
	pid, _, err := r.Lookup(scope, name)
	return pid, err
}

// Call calls the process registered under name in scope, as actor.Call (a
// GenServer answers from HandleCall). It returns ErrUnknownScope,
// ErrNotRegistered, or actor.Call's errors.
func (r *Registry) Call(ctx context.Context, scope, name string, req any) (any, error) {
	pid, err := r.WhereIs(scope, name)
	if err != nil {
		return nil, err
	}
	return actor.Call(ctx, pid, req)
}

// Cast casts msg to the GenServer registered under name in scope, as
// behaviour.Cast. It returns ErrUnknownScope, ErrNotRegistered, or
// behaviour.Cast's error.
func (r *Registry) Cast(ctx context.Context, scope, name string, msg any) error {
	pid, err := r.WhereIs(scope, name)
	if err != nil {
		return err
	}
	return behaviour.Cast(ctx, pid, msg)
}

// Send sends msg to the process registered under name in scope, as
// actor.Send. It returns ErrUnknownScope, ErrNotRegistered, or the send's
// error.
func (r *Registry) Send(ctx context.Context, scope, name string, msg any) error {
	pid, err := r.WhereIs(scope, name)
	if err != nil {
		return err
	}
	return actor.Send(ctx, pid, msg)
}

package registry

import (
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// The scope process is supervised by a keeper process of its own, which
// restarts it when it dies abnormally, up to keeperMaxRestarts times in
// keeperWindow; beyond that the keeper gives up and the scope's writes
// fail with ErrScopeStopped.
const (
	keeperMaxRestarts = 5
	keeperWindow      = 5 * time.Second
)

// scopeKeeper starts the scope process linked, traps its exit and starts
// a new one that rebuilds the scope from its tables.
type scopeKeeper struct {
	s        *Scope
	cfg      scopeConfig
	scope    actor.PID
	restarts []time.Time
}

func (k *scopeKeeper) Init(ctx *actor.Context) error {
	ctx.TrapExit(true)
	return k.start(ctx, false)
}

func (k *scopeKeeper) start(ctx *actor.Context, restarted bool) error {
	proc := newScopeProc(k.s, k.cfg)
	proc.restarted = restarted
	pid, err := ctx.SpawnLink(proc, actor.WithName(ScopeProcessName(k.s.name)))
	if err != nil {
		return err
	}
	k.scope = pid
	k.s.pid.Store(&pid)
	return nil
}

func (k *scopeKeeper) Receive(ctx *actor.Context, msg any) error {
	e, ok := msg.(actor.Exit)
	if !ok {
		return nil
	}
	if e.From != k.scope {
		return e.Reason // the keeper's own link was broken: stop with it
	}
	if actor.IsNormalExit(e.Reason) {
		return e.Reason
	}
	now := k.cfg.now()
	n := 0
	for _, t := range k.restarts {
		if now.Sub(t) < keeperWindow {
			k.restarts[n] = t
			n++
		}
	}
	k.restarts = append(k.restarts[:n], now)
	if len(k.restarts) > keeperMaxRestarts {
		ctx.Logger().Error().Str("scope", k.s.name).Err(e.Reason).Msg("registry scope process restarted too often; giving up")
		return e.Reason
	}
	ctx.Logger().Warn().Str("scope", k.s.name).Err(e.Reason).Msg("registry scope process died; restarting it")
	return k.start(ctx, true)
}

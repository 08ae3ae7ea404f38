package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/supervision"
)

// Name, Vsn and registered names of the kvserver application.
const (
	Name            = "kvserver"
	Vsn             = "0.1.0"
	SupervisorName  = "kvserver.supervisor"
	ConnectionsName = "kvserver.connections"
	AcceptorName    = "kvserver.acceptor"
	// EnvConfig is the application's environment key holding its Config.
	EnvConfig = "config"
)

// App is the kvserver application module. Its env key EnvConfig holds the
// Config it serves with.
type App struct{}

// Spec returns the kvserver application's spec, serving with cfg (zero
// fields take their defaults).
func Spec(cfg Config) application.Spec {
	return application.Spec{
		Name:         Name,
		Description:  "line protocol for kv buckets over TCP",
		Vsn:          Vsn,
		Dependencies: []string{kv.Name},
		Env:          map[string]any{EnvConfig: cfg},
		Module:       App{},
	}
}

// Start implements application.Module: a rest_for_one supervisor over the
// connections supervisor (Temporary connection processes) and the
// acceptor, which needs it.
func (App) Start(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
	var cfg Config
	if c, err := application.ControllerOf(ctx.Node()); err == nil {
		if cfg, _, err = application.GetEnvAs(ctx, c, Name, EnvConfig, Config{}); err != nil {
			return actor.PID{}, fmt.Errorf("kvserver: read env: %w", err)
		}
	}
	cfg = cfg.withDefaults()
	// The count of open connections outlives an acceptor's restart: the
	// connections it counts may still be open.
	open := new(atomic.Int64)
	conns := supervision.Template[connArg]{Start: startConnLink, Restart: supervision.Temporary}
	return supervision.StartLink(ctx, []supervision.ChildSpec{
		supervision.DynamicSpec("connections", conns, supervision.WithName(ConnectionsName)),
		{
			ID: "acceptor",
			Start: func(c *actor.Context) (actor.PID, error) {
				pid, ok := c.Node().WhereIs(ConnectionsName)
				if !ok {
					return actor.PID{}, fmt.Errorf("kvserver: %s: %w", ConnectionsName, actor.ErrUnknownName)
				}
				a := acceptor{cfg: cfg, open: open, conns: supervision.DynamicOf[connArg](pid)}
				return behaviour.StartLink[*acceptorState](c, a, behaviour.WithName(AcceptorName), behaviour.WithTrapExit())
			},
		},
	}, supervision.WithStrategy(supervision.RestForOne), supervision.WithName(SupervisorName))
}

// ListenAddr returns the address the running kvserver listens on.
func ListenAddr(ctx context.Context, n *actor.Node) (string, error) {
	pid, ok := n.WhereIs(AcceptorName)
	if !ok {
		return "", fmt.Errorf("kvserver acceptor: %w", actor.ErrUnknownName)
	}
	return behaviour.CallAs[string](ctx, pid, addrReq{})
}

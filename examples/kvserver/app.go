package main

import (
	"context"
	"fmt"
	"net"
	"strconv"

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
	// DefaultPort is the port served when neither -port nor ARBOR_KV_PORT
	// says otherwise.
	DefaultPort = 4040
)

// App is the kvserver application module. Its env key "addr" is the
// address to listen on (default ":4040").
type App struct{}

// Spec returns the kvserver application's spec, listening on addr (host:port;
// port 0 picks a free one).
func Spec(addr string) application.Spec {
	return application.Spec{
		Name:         Name,
		Description:  "line protocol for kv buckets over TCP",
		Vsn:          Vsn,
		Dependencies: []string{kv.Name},
		Env:          map[string]any{"addr": addr},
		Module:       App{},
	}
}

// Start implements application.Module: a rest_for_one supervisor over the
// connections supervisor (Temporary connection processes) and the
// acceptor, which needs it.
func (App) Start(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
	addr := ":" + strconv.Itoa(DefaultPort)
	if c, err := application.ControllerOf(ctx.Node()); err == nil {
		if a, ok, err := application.GetEnvAs(ctx, c, Name, "addr", addr); err == nil && ok {
			addr = a
		}
	}
	conns := supervision.Template[net.Conn]{Start: startConnLink, Restart: supervision.Temporary}
	return supervision.StartLink(ctx, []supervision.ChildSpec{
		supervision.DynamicSpec("connections", conns, supervision.WithName(ConnectionsName)),
		{
			ID: "acceptor",
			Start: func(c *actor.Context) (actor.PID, error) {
				pid, ok := c.Node().WhereIs(ConnectionsName)
				if !ok {
					return actor.PID{}, fmt.Errorf("kvserver: %s: %w", ConnectionsName, actor.ErrUnknownName)
				}
				a := acceptor{addr: addr, conns: supervision.DynamicOf[net.Conn](pid)}
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

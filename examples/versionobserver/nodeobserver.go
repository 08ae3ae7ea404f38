package main

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
	"github.com/arbor-otp/arbor/registry"
)

// Scope is the registry scope of the example's groups, and TopologyGroup
// and BrowsersGroup its two topics: node observers publish on the first
// and the monitor listens; the monitor publishes on the second and every
// node's hub listens.
const (
	Scope         = "versionobserver"
	TopologyGroup = "topology"
	BrowsersGroup = "browsers"
)

// nodeObserver turns this node's NodeUp and NodeDown events into Topology
// messages published on TopologyGroup, to whichever node the monitor runs
// on (the seed's NodeObserver broadcasting on its pubsub topic).
type nodeObserver struct {
	cluster *cluster.Cluster
	reg     *registry.Registry
}

func (o nodeObserver) Init(ctx *actor.Context) (struct{}, error) {
	if err := o.cluster.MonitorNodes(ctx.Self(), true); err != nil {
		return struct{}{}, fmt.Errorf("node observer: monitor nodes: %w", err)
	}
	return struct{}{}, nil
}

func (o nodeObserver) HandleInfo(ctx *actor.Context, msg any, s struct{}) behaviour.Result[struct{}] {
	t := &versionpb.Topology{Observer: o.cluster.Name()}
	switch e := msg.(type) {
	case cluster.NodeUp:
		t.Kind, t.Node = versionpb.Topology_NODE_UP, e.Node
	case cluster.NodeDown:
		t.Kind, t.Node = versionpb.Topology_NODE_DOWN, e.Node
	default:
		ctx.Logger().Warn().Str("type", fmt.Sprintf("%T", msg)).Msg("node observer: unexpected message")
		return behaviour.NoReply(s)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := o.reg.Publish(pctx, Scope, TopologyGroup, t); err != nil {
		ctx.Logger().Warn().Err(err).Msg("node observer: publish")
	}
	return behaviour.NoReply(s)
}

func (o nodeObserver) start(ctx *actor.Context) (actor.PID, error) {
	return behaviour.StartLink[struct{}](ctx, o)
}

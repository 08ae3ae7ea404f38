package main

import (
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// Name of the application, and DefaultVsn the version it runs unless told
// otherwise (-vsn).
const (
	Name       = "versionobserver"
	DefaultVsn = "0.1.0"
)

// App is the application module (the seed's VersionObserver.Application).
// Its fields are what a node gives it: the cluster, a registry made with
// registry.NewCluster that has added Scope and SingletonScope, and the
// address of the page.
type App struct {
	Cluster  *cluster.Cluster
	Registry *registry.Registry
	HTTPAddr string
	// Settle, Retry and CallTimeout set the monitor's delays; zero takes
	// DefaultSettle, DefaultRetry and DefaultCallTimeout.
	Settle, Retry, CallTimeout time.Duration
	// Expect is the number of nodes of the whole cluster: the monitor
	// takes fewer nodes agreeing for a node missing, not for the cluster
	// agreeing. Zero or one: any number of nodes.
	Expect int
}

// Spec returns the application's spec, running version vsn.
func Spec(vsn string, app App) application.Spec {
	return application.Spec{
		Name:        Name,
		Description: "tells the browsers when the cluster moves to a new major version",
		Vsn:         vsn,
		Module:      app,
	}
}

// Start implements application.Module: a one_for_one supervisor over the
// version repo, the node observer, the hub, the web server and the
// monitor (a cluster singleton).
func (a App) Start(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
	if a.Cluster == nil || a.Registry == nil {
		return actor.PID{}, ErrNoCluster
	}
	c, err := application.ControllerOf(ctx.Node())
	if err != nil {
		return actor.PID{}, fmt.Errorf("versionobserver: find the application controller: %w", err)
	}
	vsn, err := c.Spec(ctx, Name, application.KeyVsn)
	if err != nil {
		return actor.PID{}, fmt.Errorf("versionobserver: read the vsn: %w", err)
	}
	version, _ := vsn.(string)
	b := newBroadcaster()
	m := monitor{cluster: a.Cluster, reg: a.Registry, settle: a.Settle, retry: a.Retry, timeout: a.CallTimeout, expect: a.Expect}
	if m.settle <= 0 {
		m.settle = DefaultSettle
	}
	if m.retry <= 0 {
		m.retry = DefaultRetry
	}
	if m.timeout <= 0 {
		m.timeout = DefaultCallTimeout
	}
	obs := nodeObserver{cluster: a.Cluster, reg: a.Registry}
	h := hub{reg: a.Registry, b: b}
	srv := httpServer{addr: a.HTTPAddr, w: web{cluster: a.Cluster, reg: a.Registry, b: b, version: version}}
	return supervision.StartLink(ctx, []supervision.ChildSpec{
		{ID: "repo", Start: startRepo},
		{ID: "node_observer", Start: obs.start},
		{ID: "hub", Start: h.start},
		{ID: "web", Start: srv.start},
		monitorSpec(m, a.Registry),
	}, supervision.WithName(Name+".supervisor"))
}

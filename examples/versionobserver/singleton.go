package main

import (
	"context"
	"fmt"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// SingletonScope is the registry scope of the example's singletons.
const SingletonScope = "versionobserver.singletons"

// addSingletonScope adds the scope the monitor's singleton lives in, on
// this node (every node adds it).
func addSingletonScope(reg *registry.Registry) error {
	return singleton.AddScope(reg, SingletonScope)
}

// monitorSpec is the monitor's child spec in every node's tree (the
// seed's Monitor.Starter): a cluster singleton in cluster/singleton's
// registry (Highlander) mode, under the key MonitorKey. Every node runs
// the singleton's process; one of them runs the monitor, the others
// watch it and one takes over when it or its node dies.
func monitorSpec(m monitor, reg *registry.Registry) supervision.ChildSpec {
	child := supervision.ChildSpec{
		ID: MonitorKey,
		Start: func(ctx *actor.Context) (actor.PID, error) {
			return behaviour.StartLink[*monitorState](ctx, m)
		},
	}
	return singleton.Spec(child, singleton.WithRegistry(reg, SingletonScope))
}

// monitorPID returns the monitor's PID, wherever it runs.
func monitorPID(reg *registry.Registry) (actor.PID, error) {
	pid, err := singleton.Whereis(reg, SingletonScope, MonitorKey)
	if err != nil {
		return actor.PID{}, fmt.Errorf("version monitor: %w", err)
	}
	return pid, nil
}

// monitorStatus asks the monitor, wherever it runs, for its status.
func monitorStatus(ctx context.Context, reg *registry.Registry) (*versionpb.MonitorStatus, error) {
	v, err := singleton.Call(ctx, reg, SingletonScope, MonitorKey, &versionpb.GetStatus{})
	if err != nil {
		return nil, fmt.Errorf("version monitor: %w", err)
	}
	st, ok := v.(*versionpb.MonitorStatus)
	if !ok {
		return nil, fmt.Errorf("version monitor: status reply %T", v)
	}
	return st, nil
}

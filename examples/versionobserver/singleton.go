package main

import (
	"context"
	"fmt"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// SingletonScope is the registry scope of the example's singletons.
const SingletonScope = "versionobserver.singletons"

// monitorIsSingleton tells whether monitorSpec runs one monitor per
// cluster. INTERIM: false until cluster/singleton's registry mode lands;
// the tests want exactly one announcement only when it is true.
const monitorIsSingleton = false

// monitorLocalName is the monitor's local name while it is not yet a
// cluster singleton.
const monitorLocalName = "versionobserver.monitor"

// addSingletonScope adds the scope the monitor's singleton lives in.
//
// INTERIM: cluster/singleton's registry (Highlander) mode has not landed
// yet; until it does the scope is a plain replicated scope.
func addSingletonScope(reg *registry.Registry) error {
	return reg.AddScope(SingletonScope)
}

// monitorSpec is the monitor's child spec in every node's tree.
//
// INTERIM: this runs one monitor per node, not one per cluster. It
// becomes singleton.Spec(spec, singleton.WithRegistry(reg,
// SingletonScope)) once cluster/singleton's registry mode lands.
func monitorSpec(m monitor, _ *registry.Registry) supervision.ChildSpec {
	return supervision.ChildSpec{
		ID: MonitorKey,
		Start: func(ctx *actor.Context) (actor.PID, error) {
			return behaviour.StartLink[*monitorState](ctx, m, behaviour.WithName(monitorLocalName))
		},
	}
}

// monitorStatus asks the monitor, wherever it runs, for its status.
//
// INTERIM: the local monitor.
func monitorStatus(ctx context.Context, reg *registry.Registry) (*versionpb.MonitorStatus, error) {
	pid, err := monitorPID(reg)
	if err != nil {
		return nil, err
	}
	return behaviour.CallAs[*versionpb.MonitorStatus](ctx, pid, &versionpb.GetStatus{})
}

// monitorPID returns the monitor's PID, wherever it runs.
//
// INTERIM: the local monitor.
func monitorPID(reg *registry.Registry) (actor.PID, error) {
	pid, ok := reg.Node().WhereIs(monitorLocalName)
	if !ok {
		return actor.PID{}, fmt.Errorf("version monitor: %w", actor.ErrUnknownName)
	}
	return pid, nil
}

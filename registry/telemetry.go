package registry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/arbor-otp/arbor/actor"
)

// registerMetrics records the sizes of the registry's scopes with the
// node's meter provider (actor.WithMeterProvider), when it has one,
// observed at collection time from the counters the scopes keep (Count,
// LocalCount, GroupCount), each with the attribute arbor.scope:
//
//	arbor.registry.names        names registered in the scope, on every node
//	arbor.registry.local_names  of them, the names held by this node's processes
//	arbor.registry.groups       groups of the scope with at least one member
//
// The registration lasts as long as the meter provider.
func registerMetrics(r *Registry) {
	mp := r.node.MeterProvider()
	if mp == nil {
		return
	}
	m := mp.Meter(actor.InstrumentationName)
	names, _ := m.Int64ObservableGauge("arbor.registry.names",
		metric.WithDescription("Names registered in the scope, on every node."), metric.WithUnit("{name}"))
	local, _ := m.Int64ObservableGauge("arbor.registry.local_names",
		metric.WithDescription("Names of the scope held by this node's processes."), metric.WithUnit("{name}"))
	groups, _ := m.Int64ObservableGauge("arbor.registry.groups",
		metric.WithDescription("Groups of the scope with at least one member."), metric.WithUnit("{group}"))
	_, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for name, s := range *r.scopes.Load() {
			at := metric.WithAttributes(attribute.String("arbor.scope", name))
			o.ObserveInt64(names, int64(s.Count()), at)
			o.ObserveInt64(local, int64(s.LocalCount()), at)
			o.ObserveInt64(groups, int64(s.GroupCount()), at)
		}
		return nil
	}, names, local, groups)
}

package registry

import (
	"context"
	"time"

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
// and, as a histogram recorded as changes arrive (recordLag):
//
//	arbor.registry.replication.lag  seconds from a write on the node that
//	                                made it to its application here
//
// The registration lasts as long as the meter provider.
func registerMetrics(r *Registry) {
	if r.node == nil {
		return // New(nil): AddScope says ErrNoNode
	}
	mp := r.node.MeterProvider()
	if mp == nil {
		return
	}
	m := mp.Meter(actor.InstrumentationName)
	r.lag, _ = m.Float64Histogram("arbor.registry.replication.lag",
		metric.WithDescription("Time from a registration, update or join on the node that made it to its application on this node (the two nodes' clocks)."),
		metric.WithUnit("s"))
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

// recordLag records the replication lag of a name or membership that a
// peer's change set: a write stamps its entry with the writing node's
// clock (Register, Update, Join and UpdateMember each take a new time), so
// the entry's age on arrival is the time the write took to reach this
// node, give or take the two clocks' offset. Snapshots are not counted:
// their entries may be old. Without telemetry it is one nil check.
func (s *Scope) recordLag(now time.Time, written int64) {
	if s.lag == nil || written <= 0 {
		return
	}
	d := now.Sub(time.Unix(0, written))
	if d < 0 {
		d = 0 // clocks apart: the write cannot have taken less than nothing
	}
	s.lag.Record(context.Background(), d.Seconds(), s.lagAt)
}

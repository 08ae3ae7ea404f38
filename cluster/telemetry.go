package cluster

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/arbor-otp/arbor/actor"
)

// registerMetrics records the cluster's metrics with the node's meter
// provider (actor.WithMeterProvider, passed with WithNodeOptions), when it
// has one. They are observed at collection time from counters the
// transport keeps anyway, so the message path pays nothing for them:
//
//	arbor.cluster.sessions            nodes this node has a session with (gauge)
//	arbor.cluster.envelopes.received  envelopes received from peers (counter)
//	arbor.cluster.envelopes.dropped   envelopes dropped: bad, stale or undeliverable (counter)
//	arbor.cluster.peer.envelopes.dropped  of them, those from or to each known peer (counter, arbor.peer)
//	arbor.cluster.bytes.sent          packet bytes written to each peer (counter, arbor.peer)
//	arbor.cluster.bytes.received      packet bytes read from each peer (counter, arbor.peer)
//
// It returns the registration to unregister at shutdown, or nil.
func registerMetrics(c *Cluster) metric.Registration {
	mp := c.node.MeterProvider()
	if mp == nil {
		return nil
	}
	m := mp.Meter(actor.InstrumentationName)
	sessions, _ := m.Int64ObservableGauge("arbor.cluster.sessions",
		metric.WithDescription("Nodes this node has an open session with."),
		metric.WithUnit("{node}"))
	received, _ := m.Int64ObservableCounter("arbor.cluster.envelopes.received",
		metric.WithDescription("Envelopes received from other nodes."),
		metric.WithUnit("{envelope}"))
	dropped, _ := m.Int64ObservableCounter("arbor.cluster.envelopes.dropped",
		metric.WithDescription("Envelopes dropped: malformed, of an ended session, or for a process that is gone."),
		metric.WithUnit("{envelope}"))
	peerDropped, _ := m.Int64ObservableCounter("arbor.cluster.peer.envelopes.dropped",
		metric.WithDescription("Envelopes from or to a peer that were dropped: malformed, of an ended session, for a process that is gone, or left queued when its session ended."),
		metric.WithUnit("{envelope}"))
	sent, _ := m.Int64ObservableCounter("arbor.cluster.bytes.sent",
		metric.WithDescription("Bytes of packets written to a peer (frames and gRPC overhead not included)."),
		metric.WithUnit("By"))
	read, _ := m.Int64ObservableCounter("arbor.cluster.bytes.received",
		metric.WithDescription("Bytes of packets read from a peer (frames and gRPC overhead not included)."),
		metric.WithUnit("By"))
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(sessions, int64(len(c.t.nodes())))
		o.ObserveInt64(received, int64(c.t.received.Load()))
		o.ObserveInt64(dropped, int64(c.t.dropped.Load()))
		for _, p := range c.t.peerList() {
			attrs := metric.WithAttributes(attribute.String("arbor.peer", p.name))
			o.ObserveInt64(sent, int64(p.bytesOut.Load()), attrs)
			o.ObserveInt64(read, int64(p.bytesIn.Load()), attrs)
			o.ObserveInt64(peerDropped, int64(p.dropped.Load()), attrs)
		}
		return nil
	}, sessions, received, dropped, peerDropped, sent, read)
	if err != nil {
		return nil
	}
	return reg
}

func unregisterMetrics(reg metric.Registration) {
	if reg != nil {
		_ = reg.Unregister()
	}
}

// peerList returns the peers the transport knows, for the metrics.
func (t *transport) peerList() []*peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		out = append(out, p)
	}
	return out
}

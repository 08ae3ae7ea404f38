package cluster

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// TestDropsPerPeer: an envelope dropped from a known peer counts in
// arbor.cluster.peer.envelopes.dropped under that peer's name, beside the
// node's arbor.cluster.envelopes.dropped; one from an unknown sender
// counts only in the node's total.
func TestDropsPerPeer(t *testing.T) {
	const self, peerName = "a@127.0.0.1:1", "b@127.0.0.1:2"
	reader := sdkmetric.NewManualReader()
	n := actor.NewNode(actor.WithNodeName(self), actor.WithLogger(zerolog.New(io.Discard)),
		actor.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	tr := newTransport(n, defaultConfig(), zerolog.New(io.Discard))
	t.Cleanup(func() {
		tr.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	if _, err := tr.peerFor(peerName); err != nil {
		t.Fatal(err)
	}
	reg := registerMetrics(&Cluster{node: n, t: tr})
	t.Cleanup(func() { unregisterMetrics(reg) })

	bad := errors.New("test drop")
	tr.drop(&clusterpb.Envelope{From: &clusterpb.NodeID{Name: peerName}}, bad)
	tr.drop(&clusterpb.Envelope{From: &clusterpb.NodeID{Name: peerName}}, bad)
	tr.drop(&clusterpb.Envelope{From: &clusterpb.NodeID{Name: "stranger@127.0.0.1:3"}}, bad)
	tr.drop(nil, bad)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]map[string]int64{} // metric -> arbor.peer -> value
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			s, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			sums[m.Name] = map[string]int64{}
			for _, dp := range s.DataPoints {
				v, _ := dp.Attributes.Value(attribute.Key("arbor.peer"))
				sums[m.Name][v.AsString()] = dp.Value
			}
		}
	}
	if got := sums["arbor.cluster.envelopes.dropped"][""]; got != 4 {
		t.Errorf("node's drops %d, want 4 (all: %v)", got, sums)
	}
	if got := sums["arbor.cluster.peer.envelopes.dropped"]; len(got) != 1 || got[peerName] != 2 {
		t.Errorf("drops per peer %v, want 2 for %s only", got, peerName)
	}
}

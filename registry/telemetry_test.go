package registry_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/registry"
)

// The registry's scope sizes are observed by the node's meter provider.
func TestTelemetryScopeSizes(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	n := actortest.NewNode(t, actor.WithMeterProvider(mp))
	r := registry.New(n)
	if err := r.AddScope("users"); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	a, b := spawn(t, n), spawn(t, n)
	if err := r.Register(ctx, "users", "alice", a, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(ctx, "users", "bob", b, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Join(ctx, "users", "admins", a, nil); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			g, ok := m.Data.(metricdata.Gauge[int64])
			if !ok {
				continue
			}
			for _, dp := range g.DataPoints {
				if v, _ := dp.Attributes.Value("arbor.scope"); v.AsString() == "users" {
					got[m.Name] = dp.Value
				}
			}
		}
	}
	want := map[string]int64{"arbor.registry.names": 2, "arbor.registry.local_names": 2, "arbor.registry.groups": 1}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %d, want %d (all %v)", k, got[k], v, got)
		}
	}
}

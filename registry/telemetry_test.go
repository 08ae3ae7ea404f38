package registry_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/internal/testkit"
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

// A registration replicated from another node is recorded in
// arbor.registry.replication.lag on the node that applies it, with the
// scope as attribute (two nodes on the in-memory network).
func TestTelemetryReplicationLag(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	var mu sync.Mutex
	regs := map[string]*registry.Registry{}
	c := clustertest.Start(t, 2,
		clustertest.WithNodeOptions(func(name string) []cluster.Option {
			if name == "n2" {
				return []cluster.Option{cluster.WithNodeOptions(actor.WithMeterProvider(mp))}
			}
			return nil
		}),
		clustertest.WithSetup(func(node *cluster.Cluster) error {
			reg := registry.NewCluster(node)
			mu.Lock()
			regs[node.Node().Name()] = reg
			mu.Unlock()
			return reg.AddScope("users")
		}))
	n1, n2 := c.Node(0), c.Node(1)
	mu.Lock()
	r1, r2 := regs[n1.Node().Name()], regs[n2.Node().Name()]
	mu.Unlock()
	ctx := ctxT(t)
	a := spawn(t, n1.Node())
	testkit.Eventually(t, 10*time.Second, func() error {
		// Not s itself in the error: %v would read the scope's fields by
		// reflection while its process writes them (a race under -race).
		s, err := r1.Scope("users")
		if err != nil {
			return err
		}
		if n := s.Nodes(); len(n) != 1 { // not the Scope itself: %v would read its fields as the scope process writes them
			return fmt.Errorf("n1's scope peers: %v", n)
		}
		return nil
	})
	if err := r1.Register(ctx, "users", "alice", a, nil); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		_, _, err := r2.Lookup("users", "alice")
		return err
	})
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "arbor.registry.replication.lag" {
				continue
			}
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("%s is a %T, want a histogram", m.Name, m.Data)
			}
			for _, dp := range h.DataPoints {
				if v, _ := dp.Attributes.Value("arbor.scope"); v.AsString() == "users" && dp.Count >= 1 {
					if low, ok := dp.Min.Value(); ok && low < 0 {
						t.Fatalf("a negative lag: %v", low)
					}
					return
				}
			}
		}
	}
	t.Fatalf("no arbor.registry.replication.lag for scope users in %+v", rm.ScopeMetrics)
}

package supervision_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/supervision"
)

// Restarts, their reasons and the intensity hit are recorded with the
// node's meter provider.
func TestTelemetrySupervisorMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	n := actortest.NewNode(t, actor.WithMeterProvider(mp))
	ctx := ctxT(t)
	clk := newFakeClock()
	parent, err := n.NewInbox(actor.WithTrapExit())
	if err != nil {
		t.Fatal(err)
	}
	var sup actor.PID
	_ = parent.Do(ctx, func(c *actor.Context) error {
		sup, err = supervision.StartLink(c, []supervision.ChildSpec{spec("b", supervision.Permanent)},
			supervision.WithClock(clk), supervision.WithName("tel"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < supervision.DefaultMaxRestarts; i++ {
		crashAndWaitRestart(t, n, sup, "b")
		clk.Advance(time.Second)
	}
	_ = n.Send(pids(t, sup)["b"], crash{errBoom})
	if ex := recvExit(t, parent); !errors.Is(ex.Reason, actor.Shutdown) {
		t.Fatalf("parent got %+v, want the supervisor's shutdown", ex)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			s, ok := m.Data.(metricdata.Sum[int64])
			if !ok || !strings.HasPrefix(m.Name, "arbor.supervisor.") {
				continue
			}
			for _, dp := range s.DataPoints {
				key := m.Name
				if r, ok := dp.Attributes.Value("arbor.reason"); ok {
					key += "/" + r.AsString()
				}
				if v, _ := dp.Attributes.Value("arbor.supervisor"); v.AsString() != "tel" {
					t.Fatalf("%s has arbor.supervisor %q, want tel", m.Name, v.AsString())
				}
				sums[key] += dp.Value
			}
		}
	}
	want := map[string]int64{
		"arbor.supervisor.restarts":          supervision.DefaultMaxRestarts,
		"arbor.supervisor.child_exits/error": supervision.DefaultMaxRestarts + 1,
		"arbor.supervisor.intensity_hits":    1,
	}
	for k, v := range want {
		if sums[k] != v {
			t.Fatalf("%s = %d, want %d (all: %v)", k, sums[k], v, sums)
		}
	}
}

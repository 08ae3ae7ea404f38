package behaviour_test

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// The telemetry benchmarks run call, cast and spawn on a node without
// telemetry ("none") and on one with the no-op OpenTelemetry providers
// ("noop"), side by side in one run: ADR 0010's cost rule is that "none"
// allocates exactly what BenchmarkCall, BenchmarkCast1to1 and
// BenchmarkSpawnStop do, and that "noop" stays within 1.15x of "none".
var telemetryModes = []struct {
	name string
	opts []actor.NodeOption
}{
	{"none", nil},
	{"noop", []actor.NodeOption{
		actor.WithTracerProvider(tracenoop.NewTracerProvider()),
		actor.WithMeterProvider(metricnoop.NewMeterProvider()),
	}},
}

func telemetryNode(b *testing.B, opts []actor.NodeOption) *actor.Node {
	n := actor.NewNode(append([]actor.NodeOption{actor.WithLogger(zerolog.New(io.Discard))}, opts...)...)
	b.Cleanup(func() { _ = n.Stop(context.Background()) })
	return n
}

func BenchmarkTelemetryCall(b *testing.B) {
	for _, m := range telemetryModes {
		b.Run(m.name, func(b *testing.B) {
			n := telemetryNode(b, m.opts)
			pid, _ := behaviour.Start(n, echo{})
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := behaviour.Call(ctx, pid, i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTelemetryCast(b *testing.B) {
	for _, m := range telemetryModes {
		b.Run(m.name, func(b *testing.B) {
			n := telemetryNode(b, m.opts)
			c := &counter{target: int64(b.N), done: make(chan struct{})}
			pid, _ := behaviour.Start[int64](n, c)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = behaviour.Cast(ctx, pid, i)
			}
			<-c.done
		})
	}
}

func BenchmarkTelemetrySpawnStop(b *testing.B) {
	for _, m := range telemetryModes {
		b.Run(m.name, func(b *testing.B) {
			n := telemetryNode(b, m.opts)
			ctx := context.Background()
			var wg sync.WaitGroup
			wg.Add(b.N)
			s := stopper{wg: &wg}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pid, err := behaviour.Start[struct{}](n, s)
				if err != nil {
					b.Fatal(err)
				}
				_ = behaviour.Cast(ctx, pid, "stop")
			}
			wg.Wait()
		})
	}
}

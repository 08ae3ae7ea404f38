package supervision_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/supervision"
	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// reportLatency sorts samples and reports their median and 99th percentile.
func reportLatency(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}

func benchNode(b *testing.B) *actor.Node {
	n := actor.NewNode(actor.WithLogger(zerolog.Nop()))
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	return n
}

// BenchmarkRestartLatency: a one_for_one supervisor's child is killed (or
// panics); the time until its replacement answers a call.
func BenchmarkRestartLatency(b *testing.B) {
	for _, how := range []string{"kill", "panic"} {
		b.Run(how, func(b *testing.B) {
			n := benchNode(b)
			ctx := context.Background()
			started := make(chan actor.PID, 1)
			sup, err := supervision.Start(n, []supervision.ChildSpec{{
				ID: "w",
				Start: func(c *actor.Context) (actor.PID, error) {
					pid, err := c.SpawnLink(&worker{id: "w"}, actor.WithName("bench.w"))
					if err == nil {
						started <- pid
					}
					return pid, err
				},
			}}, supervision.WithIntensity(math.MaxInt32, time.Millisecond))
			if err != nil {
				b.Fatal(err)
			}
			cur := <-started
			samples := make([]time.Duration, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if how == "kill" {
					_ = n.Kill(cur)
				} else {
					_ = n.Send(cur, panicMsg{})
				}
				cur = <-started
				if _, err := actor.Call(ctx, cur, "ping"); err != nil {
					b.Fatalf("restart %d: call: %v", i, err)
				}
				samples[i] = time.Since(t0)
			}
			b.StopTimer()
			reportLatency(b, samples)
			_ = supervision.Stop(ctx, n, sup)
		})
	}
}

// Raw protoactor-go: a parent with NewOneForOneStrategy restarting a child
// that panics on a message; the time from the panicking send to the reply
// of the restarted child.
type (
	paPanic    struct{}
	paPing     struct{}
	paGetChild struct{}
)

type paParent struct{ child *pa.PID }

func (p *paParent) Receive(c pa.Context) {
	switch c.Message().(type) {
	case *pa.Started:
		p.child = c.Spawn(pa.PropsFromProducer(func() pa.Actor { return paChild{} }))
	case paGetChild:
		c.Respond(p.child)
	}
}

type paChild struct{}

func (paChild) Receive(c pa.Context) {
	switch c.Message().(type) {
	case paPanic:
		panic("boom")
	case paPing:
		c.Respond("pong")
	}
}

func BenchmarkProtoactorOneForOneRestart(b *testing.B) {
	system := pa.NewActorSystem(pa.WithLoggerFactory(func(*pa.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()
	strategy := pa.NewOneForOneStrategy(math.MaxInt32, time.Millisecond, func(any) pa.Directive { return pa.RestartDirective })
	parent := system.Root.Spawn(pa.PropsFromProducer(func() pa.Actor { return &paParent{} }, pa.WithSupervisor(strategy)))
	res, err := system.Root.RequestFuture(parent, paGetChild{}, 5*time.Second).Result()
	if err != nil {
		b.Fatal(err)
	}
	child := res.(*pa.PID)
	samples := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		system.Root.Send(child, paPanic{})
		if _, err := system.Root.RequestFuture(child, paPing{}, 5*time.Second).Result(); err != nil {
			b.Fatalf("restart %d: %v", i, err)
		}
		samples[i] = time.Since(t0)
	}
	b.StopTimer()
	reportLatency(b, samples)
	_ = system.Root.StopFuture(parent).Wait()
}

// BenchmarkDynamicStart starts 1k, 10k and 100k children under a
// DynamicSupervisor: time and live heap per child.
func BenchmarkDynamicStart(b *testing.B) {
	for _, count := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("%dk", count/1000), func(b *testing.B) {
			n := benchNode(b)
			ctx := context.Background()
			var total time.Duration
			var heap float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				sup, err := supervision.StartDynamic(n, counterTemplate(supervision.Temporary))
				if err != nil {
					b.Fatal(err)
				}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				t0 := time.Now()
				for j := 0; j < count; j++ {
					if _, err := sup.StartChild(ctx, j); err != nil {
						b.Fatal(err)
					}
				}
				total += time.Since(t0)
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap += float64(after.HeapAlloc) - float64(before.HeapAlloc)
				if err := sup.Stop(ctx, n); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			perChild := float64(total.Nanoseconds()) / float64(b.N*count)
			b.ReportMetric(perChild, "ns/child")
			b.ReportMetric(1e9/perChild, "children/s")
			b.ReportMetric(heap/float64(b.N*count), "B/child")
		})
	}
}

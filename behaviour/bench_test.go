package behaviour_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// The benchmarks below measure Arbor's GenServer next to raw protoactor-go in
// the same run; bench/README.md turns them into ratios.

type echo struct{}

func (echo) Init(*actor.Context) (int, error) { return 0, nil }
func (echo) HandleCall(_ *actor.Context, _ behaviour.From, req any, s int) behaviour.Result[int] {
	return behaviour.Reply(req, s)
}

type counter struct {
	target int64
	done   chan struct{}
}

func (c *counter) Init(*actor.Context) (int64, error) { return 0, nil }
func (c *counter) HandleCast(_ *actor.Context, _ any, s int64) behaviour.Result[int64] {
	s++
	if s == c.target {
		close(c.done)
	}
	return behaviour.NoReply(s)
}

type stopper struct{ wg *sync.WaitGroup }

func (stopper) Init(*actor.Context) (struct{}, error) { return struct{}{}, nil }
func (stopper) HandleCast(_ *actor.Context, _ any, s struct{}) behaviour.Result[struct{}] {
	return behaviour.Stop(actor.Normal, s)
}
func (t stopper) Terminate(*actor.Context, error, struct{}) { t.wg.Done() }

func benchNode(b *testing.B) *actor.Node {
	n := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	b.Cleanup(func() { _ = n.Stop(context.Background()) })
	return n
}

func rawSystem() *pa.ActorSystem {
	return pa.NewActorSystem(pa.WithLoggerFactory(func(*pa.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

// reportLatency adds p50 and p99 of the samples to the benchmark output.
func reportLatency(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}

func BenchmarkCall(b *testing.B) {
	n := benchNode(b)
	pid, _ := behaviour.Start(n, echo{})
	ctx := context.Background()
	samples := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := behaviour.Call(ctx, pid, i); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, samples)
}

func BenchmarkRawRequestFuture(b *testing.B) {
	sys := rawSystem()
	pid := sys.Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		if m, ok := c.Message().(int); ok {
			c.Respond(m)
		}
	}))
	samples := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := sys.Root.RequestFuture(pid, i, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, samples)
	sys.Root.Stop(pid)
}

func benchCast(b *testing.B, producers int) {
	n := benchNode(b)
	c := &counter{target: int64(b.N), done: make(chan struct{})}
	pid, _ := behaviour.Start[int64](n, c)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		share := b.N / producers
		if p == 0 {
			share += b.N % producers
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < share; i++ {
				_ = behaviour.Cast(ctx, pid, i)
			}
		}()
	}
	wg.Wait()
	<-c.done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func benchRawSend(b *testing.B, producers int) {
	sys := rawSystem()
	var got atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	var count int64
	pid := sys.Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		if _, ok := c.Message().(int); ok {
			count++
			if count == target {
				close(done)
			}
		}
	}))
	_ = got.Load()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		share := b.N / producers
		if p == 0 {
			share += b.N % producers
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < share; i++ {
				sys.Root.Send(pid, i)
			}
		}()
	}
	wg.Wait()
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	sys.Root.Stop(pid)
}

func BenchmarkCast1to1(b *testing.B)    { benchCast(b, 1) }
func BenchmarkCast4to1(b *testing.B)    { benchCast(b, 4) }
func BenchmarkRawSend1to1(b *testing.B) { benchRawSend(b, 1) }
func BenchmarkRawSend4to1(b *testing.B) { benchRawSend(b, 4) }

// BenchmarkSpawnStop starts a GenServer (Init done) and stops it; the run
// ends when every server has terminated.
func BenchmarkSpawnStop(b *testing.B) {
	n := benchNode(b)
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
}

func BenchmarkRawSpawnStop(b *testing.B) {
	sys := rawSystem()
	var wg sync.WaitGroup
	wg.Add(b.N)
	props := pa.PropsFromFunc(func(c pa.Context) {
		if _, ok := c.Message().(*pa.Stopped); ok {
			wg.Done()
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pid := sys.Root.Spawn(props)
		sys.Root.Stop(pid)
	}
	wg.Wait()
}

const idleCount = 100_000

func heapNow() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkIdleHeap reports heap bytes held by each idle GenServer.
func BenchmarkIdleHeap(b *testing.B) {
	for i := 0; i < b.N; i++ {
		n := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
		pids := make([]actor.PID, idleCount)
		before := heapNow()
		for j := range pids {
			pids[j], _ = behaviour.Start(n, echo{})
		}
		after := heapNow()
		b.ReportMetric(float64(after-before)/idleCount, "B/proc")
		runtime.KeepAlive(pids)
		_ = n.Stop(context.Background())
	}
}

func BenchmarkRawIdleHeap(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sys := rawSystem()
		var started sync.WaitGroup
		started.Add(idleCount)
		props := pa.PropsFromFunc(func(c pa.Context) {
			if _, ok := c.Message().(*pa.Started); ok {
				started.Done()
			}
		})
		pids := make([]*pa.PID, idleCount)
		before := heapNow()
		for j := range pids {
			pids[j] = sys.Root.Spawn(props)
		}
		started.Wait()
		after := heapNow()
		b.ReportMetric(float64(after-before)/idleCount, "B/proc")
		for _, p := range pids {
			sys.Root.Stop(p)
		}
	}
}

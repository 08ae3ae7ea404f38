package registry_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/registry"
	"github.com/rs/zerolog"
)

// benchNode starts a quiet node stopped when the benchmark ends.
func benchNode(b *testing.B) (*actor.Node, *registry.Registry) {
	b.Helper()
	n := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = n.Stop(ctx)
	})
	return n, registry.New(n)
}

func spawnMany(b *testing.B, n *actor.Node, count int) []actor.PID {
	b.Helper()
	pids := make([]actor.PID, count)
	for i := range pids {
		pid, err := n.Spawn(worker{})
		if err != nil {
			b.Fatal(err)
		}
		pids[i] = pid
	}
	return pids
}

func names(prefix string, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprint(prefix, i)
	}
	return out
}

// BenchmarkRegister100k registers 100k names, each to its own process
// (so each registration also sets up a monitor), from one goroutine.
func BenchmarkRegister100k(b *testing.B) { benchRegister(b, 100_000) }

// BenchmarkRegister100kShared registers 100k names held by 100 processes,
// 1k names each: after the first name of a process, no monitor is set up.
// The difference with BenchmarkRegister100k is the cost of monitoring.
func BenchmarkRegister100kShared(b *testing.B) { benchRegister(b, 100) }

func benchRegister(b *testing.B, procs int) {
	const count = 100_000
	n, r := benchNode(b)
	pids := spawnMany(b, n, procs)
	keys := names("name-", count)
	ctx := context.Background()
	benchWrites(b, r, "reg", count, func(s *registry.Scope, j int) error {
		return s.Register(ctx, keys[j], pids[j%procs], nil)
	})
}

// benchWrites times count calls of op, each b.N round in a fresh scope
// (added outside the timer), and reports writes per second.
func benchWrites(b *testing.B, r *registry.Registry, prefix string, count int, op func(s *registry.Scope, j int) error) {
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		scope := fmt.Sprint(prefix, i)
		if err := r.AddScope(scope); err != nil {
			b.Fatal(err)
		}
		s, _ := r.Scope(scope)
		b.StartTimer()
		t0 := time.Now()
		for j := range count {
			if err := op(s, j); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(t0)
	}
	b.ReportMetric(float64(count*b.N)/elapsed.Seconds(), "ops/s")
}

// BenchmarkLookup looks names up from one goroutine, in a scope of 1k and
// of 100k names, through a Scope handle and through the Registry.
func BenchmarkLookup(b *testing.B) {
	for _, count := range []int{1_000, 100_000} {
		n, r := benchNode(b)
		if err := r.AddScope("s"); err != nil {
			b.Fatal(err)
		}
		s, _ := r.Scope("s")
		pids := spawnMany(b, n, 100)
		keys := names("name-", count)
		for j, k := range keys {
			if err := s.Register(context.Background(), k, pids[j%len(pids)], nil); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("scope/%d", count), func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, _, err := s.Lookup(keys[i%count]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
		b.Run(fmt.Sprintf("registry/%d", count), func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, _, err := r.Lookup("s", keys[i%count]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
		b.Run(fmt.Sprintf("parallel4/%d", count), func(b *testing.B) {
			// RunParallel starts SetParallelism*GOMAXPROCS goroutines: 4
			// on this 2-core machine.
			b.SetParallelism(max(1, 4/runtimeProcs()))
			var next atomic.Int64
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(7919))
				for pb.Next() {
					i++
					if _, _, err := s.Lookup(keys[i%count]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
	}
}

// BenchmarkJoin100k joins 100k processes into 1k groups (100 each) from
// one goroutine.
func BenchmarkJoin100k(b *testing.B) {
	const count, groups = 100_000, 1_000
	n, r := benchNode(b)
	pids := spawnMany(b, n, count)
	gs := names("group-", groups)
	ctx := context.Background()
	benchWrites(b, r, "join", count, func(s *registry.Scope, j int) error {
		return s.Join(ctx, gs[j%groups], pids[j], nil)
	})
}

// tally counts the messages it receives and closes done when the shared
// count reaches target.
type tally struct {
	count  *atomic.Int64
	target *atomic.Int64
	done   *atomic.Pointer[chan struct{}]
}

func (t tally) Receive(_ *actor.Context, msg any) error {
	if _, ok := msg.(ping); ok {
		if t.count.Add(1) == t.target.Load() {
			close(*t.done.Load())
		}
	}
	return nil
}

// BenchmarkPublish1k publishes to a group of 1k processes and counts a
// publish as done when every member has handled the message.
func BenchmarkPublish1k(b *testing.B) {
	const members = 1_000
	n, r := benchNode(b)
	if err := r.AddScope("s"); err != nil {
		b.Fatal(err)
	}
	s, _ := r.Scope("s")
	var count, target atomic.Int64
	var done atomic.Pointer[chan struct{}]
	for range members {
		pid, err := n.Spawn(tally{&count, &target, &done})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Join(context.Background(), "g", pid, nil); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	ch := make(chan struct{})
	done.Store(&ch)
	target.Store(int64(b.N) * members)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if got := s.Publish(ctx, "g", ping{}); got != members {
			b.Fatalf("published to %d", got)
		}
	}
	<-ch
	b.ReportMetric(float64(b.N*members)/time.Since(start).Seconds(), "deliveries/s")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkMembers1k lists the members of a group of 1k local processes.
func BenchmarkMembers1k(b *testing.B) {
	const members = 1_000
	n, r := benchNode(b)
	if err := r.AddScope("s"); err != nil {
		b.Fatal(err)
	}
	s, _ := r.Scope("s")
	for range members {
		pid, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Join(context.Background(), "g", pid, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if got := len(s.Members("g")); got != members {
			b.Fatalf("%d members", got)
		}
	}
}

// BenchmarkMembersSeq1k ranges over the members of a group of 1k local
// processes with MembersSeq.
func BenchmarkMembersSeq1k(b *testing.B) {
	const members = 1_000
	n, r := benchNode(b)
	if err := r.AddScope("s"); err != nil {
		b.Fatal(err)
	}
	s, _ := r.Scope("s")
	for range members {
		pid, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Join(context.Background(), "g", pid, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got := 0
		for range s.MembersSeq("g") {
			got++
		}
		if got != members {
			b.Fatalf("%d members", got)
		}
	}
}

// BenchmarkLeave1k makes a process leave and join again a group of 1k
// members (one leave and one join per op).
func BenchmarkLeave1k(b *testing.B) {
	const members = 1_000
	n, r := benchNode(b)
	if err := r.AddScope("s"); err != nil {
		b.Fatal(err)
	}
	s, _ := r.Scope("s")
	ctx := context.Background()
	var last actor.PID
	for range members {
		pid, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Join(ctx, "g", pid, nil); err != nil {
			b.Fatal(err)
		}
		last = pid
	}
	b.ResetTimer()
	for b.Loop() {
		if err := s.Leave(ctx, "g", last); err != nil {
			b.Fatal(err)
		}
		if err := s.Join(ctx, "g", last, nil); err != nil {
			b.Fatal(err)
		}
	}
}

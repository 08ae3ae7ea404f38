package cluster_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// Benchmarks run two more nodes in this process, with the default failure
// detector (the shared node's is tuned for fast tests); that is fine
// without the race detector, and `make bench` runs without it.
//
// Raw protoactor runs with the settings cluster.Start gives protoactor
// remote: endpoint writer batches of up to cluster.EndpointWriterBatchSize
// (100) messages, and protoactor's default queues of 1,000,000. Arbor's own
// traffic goes on its streams (ADR 0003), not through the endpoint writer.
//
// Each benchmark starts its pair of nodes once and keeps it for all its
// rounds (stopBenchPairs stops them when the run ends): starting and
// stopping protoactor remote hundreds of times in one process runs into a
// shutdown race of protoactor's endpoint manager.

var benchPairs struct {
	mu      sync.Mutex
	arbor   map[string][2]*cluster.Cluster
	raw     map[string][2]*pa.ActorSystem
	cleanup []func()
}

// stopBenchPairs stops the nodes the benchmarks started.
func stopBenchPairs() {
	benchPairs.mu.Lock()
	defer benchPairs.mu.Unlock()
	for i := len(benchPairs.cleanup) - 1; i >= 0; i-- {
		benchPairs.cleanup[i]()
	}
	benchPairs.cleanup = nil
	benchPairs.arbor, benchPairs.raw = nil, nil
}

func benchPair(b *testing.B) (from, to *cluster.Cluster) {
	b.Helper()
	benchPairs.mu.Lock()
	defer benchPairs.mu.Unlock()
	if p, ok := benchPairs.arbor[b.Name()]; ok {
		return p[0], p[1]
	}
	var cs [2]*cluster.Cluster
	for i := range cs {
		c, err := cluster.Start(context.Background(), "bench"+string(rune('a'+i)), cluster.WithLogger(zerolog.New(io.Discard)))
		if err != nil {
			b.Fatal(err)
		}
		benchPairs.cleanup = append(benchPairs.cleanup, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = c.Stop(ctx)
		})
		cs[i] = c
	}
	if benchPairs.arbor == nil {
		benchPairs.arbor = make(map[string][2]*cluster.Cluster)
	}
	benchPairs.arbor[b.Name()] = cs
	return cs[0], cs[1]
}

// latencies records one duration per call and reports their median and
// 99th percentile beside ns/op.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(l[len(l)*99/100].Nanoseconds()), "p99-ns")
}

func BenchmarkRemoteCall(b *testing.B) {
	shared, peer := benchPair(b)
	srv, err := peer.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(r.Message())
		}
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := wrapperspb.String("ping")
	if _, err := shared.Node().Call(ctx, srv, req); err != nil {
		b.Fatal(err)
	}
	lat := make(latencies, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := shared.Node().Call(ctx, srv, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	lat.report(b)
}

func BenchmarkRemoteSend(b *testing.B) {
	shared, peer := benchPair(b)
	var n atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	sink, err := peer.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if _, ok := msg.(*wrapperspb.Int64Value); ok && n.Add(1) == target {
			close(done)
		}
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	// Open the session first: sends to a node still connecting queue.
	if err := shared.Node().Send(sink, wrapperspb.String("warm up")); err != nil {
		b.Fatal(err)
	}
	testkit.Eventually(b, 10*time.Second, func() error {
		if !slices.Contains(shared.Nodes(), peer.Name()) {
			return errors.New("no session yet")
		}
		return nil
	})
	msg := wrapperspb.Int64(1)
	b.ResetTimer()
	for range b.N {
		if err := shared.Node().Send(sink, msg); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

// BenchmarkRemoteCast is BenchmarkRemoteSend with casts, which carry a
// flag on the wire. The casts go from a process of the sending node: the
// benchmark's two nodes share this OS process, and a cast from outside any
// process to a PID of a node of this OS process is sent from that node,
// not through the transport.
func BenchmarkRemoteCast(b *testing.B) {
	shared, peer := benchPair(b)
	var n atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	sink, err := peer.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if _, ok := msg.(*wrapperspb.Int64Value); ok && n.Add(1) == target {
			close(done)
		}
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	if err := shared.Node().Send(sink, wrapperspb.String("warm up")); err != nil {
		b.Fatal(err)
	}
	testkit.Eventually(b, 10*time.Second, func() error {
		if !slices.Contains(shared.Nodes(), peer.Name()) {
			return errors.New("no session yet")
		}
		return nil
	})
	msg := wrapperspb.Int64(1)
	failed := make(chan error, 1)
	caster, err := shared.Node().Spawn(actor.ReceiverFunc(func(c *actor.Context, m any) error {
		if _, ok := m.(*wrapperspb.StringValue); !ok {
			return nil
		}
		for range target {
			if err := actor.Cast(c, sink, msg); err != nil {
				failed <- err
				return nil
			}
		}
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := shared.Node().Send(caster, wrapperspb.String("go")); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case err := <-failed:
		b.Fatal(err)
	}
}

// rawPair starts two protoactor actor systems with remote on loopback.
func rawPair(b *testing.B) (from, to *pa.ActorSystem) {
	b.Helper()
	benchPairs.mu.Lock()
	defer benchPairs.mu.Unlock()
	if p, ok := benchPairs.raw[b.Name()]; ok {
		return p[0], p[1]
	}
	quiet := pa.WithLoggerFactory(func(*pa.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) })
	var systems [2]*pa.ActorSystem
	for i := range systems {
		s := pa.NewActorSystem(quiet)
		r := remote.NewRemote(s, remote.Configure("127.0.0.1", testkit.FreePort(b),
			remote.WithEndpointWriterBatchSize(cluster.EndpointWriterBatchSize)))
		r.Start()
		benchPairs.cleanup = append(benchPairs.cleanup, func() { r.Shutdown(true); s.Shutdown() })
		systems[i] = s
	}
	if benchPairs.raw == nil {
		benchPairs.raw = make(map[string][2]*pa.ActorSystem)
	}
	benchPairs.raw[b.Name()] = systems
	return systems[0], systems[1]
}

func BenchmarkRawProtoactorRequestFuture(b *testing.B) {
	from, to := rawPair(b)
	pid := to.Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		if m, ok := c.Message().(*wrapperspb.StringValue); ok {
			c.Respond(m)
		}
	}))
	req := wrapperspb.String("ping")
	if _, err := from.Root.RequestFuture(pid, req, 5*time.Second).Result(); err != nil {
		b.Fatal(err)
	}
	lat := make(latencies, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := from.Root.RequestFuture(pid, req, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	lat.report(b)
}

func BenchmarkRawProtoactorSend(b *testing.B) {
	from, to := rawPair(b)
	var n atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	pid := to.Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		if _, ok := c.Message().(*wrapperspb.Int64Value); ok && n.Add(1) == target {
			close(done)
		}
	}))
	msg := wrapperspb.Int64(1)
	b.ResetTimer()
	for range b.N {
		from.Root.Send(pid, msg)
	}
	<-done
}

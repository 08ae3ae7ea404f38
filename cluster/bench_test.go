package cluster_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
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

func benchPair(b *testing.B) (from, to *cluster.Cluster) {
	b.Helper()
	var cs [2]*cluster.Cluster
	for i := range cs {
		c, err := cluster.Start(context.Background(), "bench"+string(rune('a'+i)), cluster.WithLogger(zerolog.New(io.Discard)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = c.Stop(ctx)
		})
		cs[i] = c
	}
	return cs[0], cs[1]
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
	b.ResetTimer()
	for range b.N {
		if _, err := shared.Node().Call(ctx, srv, req); err != nil {
			b.Fatal(err)
		}
	}
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

// rawPair starts two protoactor actor systems with remote on loopback.
func rawPair(b *testing.B) (from, to *pa.ActorSystem) {
	b.Helper()
	quiet := pa.WithLoggerFactory(func(*pa.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) })
	var systems [2]*pa.ActorSystem
	for i := range systems {
		s := pa.NewActorSystem(quiet)
		r := remote.NewRemote(s, remote.Configure("127.0.0.1", testkit.FreePort(b)))
		r.Start()
		b.Cleanup(func() { r.Shutdown(true); s.Shutdown() })
		systems[i] = s
	}
	return systems[0], systems[1]
}

func BenchmarkRawProtoactorRequestFuture(b *testing.B) {
	from, to := rawPair(b)
	pid, err := to.Root.SpawnNamed(pa.PropsFromFunc(func(c pa.Context) {
		if m, ok := c.Message().(*wrapperspb.StringValue); ok {
			c.Respond(m)
		}
	}), "echo")
	if err != nil {
		b.Fatal(err)
	}
	req := wrapperspb.String("ping")
	if _, err := from.Root.RequestFuture(pid, req, 5*time.Second).Result(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := from.Root.RequestFuture(pid, req, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawProtoactorSend(b *testing.B) {
	from, to := rawPair(b)
	var n atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	pid, err := to.Root.SpawnNamed(pa.PropsFromFunc(func(c pa.Context) {
		if _, ok := c.Message().(*wrapperspb.Int64Value); ok && n.Add(1) == target {
			close(done)
		}
	}), "sink")
	if err != nil {
		b.Fatal(err)
	}
	msg := wrapperspb.Int64(1)
	b.ResetTimer()
	for range b.N {
		from.Root.Send(pid, msg)
	}
	<-done
}

package cluster_test

import (
	"context"
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// The protoactor interop across nodes, beside BenchmarkRawProtoactorRequestFuture
// (raw protoactor to protoactor through protoactor remote) in the same run:
//
//	go test -run '^$' -bench 'RawProtoactorRequestFuture|ProtoRemote' ./cluster

// BenchmarkProtoRemoteRequestFutureGenServer: a protoactor RequestFuture
// from one node, answered by an Arbor GenServer of the other.
func BenchmarkProtoRemoteRequestFutureGenServer(b *testing.B) {
	from, to := benchPair(b)
	srv, err := behaviour.Start[int](to.Node(), echoServer{})
	if err != nil {
		b.Fatal(err)
	}
	pid := from.Node().ProtoPID(srv)
	root := from.Node().ActorSystem().Root
	req := wrapperspb.String("ping")
	if _, err := root.RequestFuture(pid, req, 5*time.Second).Result(); err != nil {
		b.Fatal(err)
	}
	lat := make(latencies, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := root.RequestFuture(pid, req, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	lat.report(b)
}

// BenchmarkProtoRemoteCallActor: an Arbor Call from one node to a
// protoactor actor of the other (through Cluster.Proxy), answered by
// ctx.Respond.
func BenchmarkProtoRemoteCallActor(b *testing.B) {
	from, to := benchPair(b)
	target := to.Node().ActorSystem().Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		if m, ok := c.Message().(*wrapperspb.StringValue); ok {
			c.Respond(m)
		}
	}))
	ctx := context.Background()
	// Open the session first: Proxy finds the node among open sessions.
	if _, err := from.CallNamed(ctx, to.Name(), "arbor.protoactor", &clusterpb.ProtoProxyRequest{}); err != nil {
		b.Fatal(err)
	}
	px, err := from.Proxy(ctx, target)
	if err != nil {
		b.Fatal(err)
	}
	req := wrapperspb.String("ping")
	if _, err := from.Node().Call(ctx, px, req); err != nil {
		b.Fatal(err)
	}
	lat := make(latencies, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := from.Node().Call(ctx, px, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	lat.report(b)
}

package cluster_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

// fastDetection makes in-process tests detect a silent peer quickly.
var fastDetection = []cluster.Option{
	cluster.WithHeartbeat(100*time.Millisecond, 600*time.Millisecond),
	cluster.WithReconnectInterval(100 * time.Millisecond),
	cluster.WithConnectTimeout(time.Second),
}

// startNode starts a quiet cluster node on a free loopback port, stopped at
// the end of the test.
func startNode(t testing.TB, name string, opts ...cluster.Option) *cluster.Cluster {
	t.Helper()
	opts = append([]cluster.Option{cluster.WithLogger(zerolog.New(io.Discard))}, append(fastDetection, opts...)...)
	c, err := cluster.Start(ctxT(t), name, opts...)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { stopNode(t, c) })
	return c
}

func stopNode(t testing.TB, c *cluster.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		t.Errorf("stop %s: %v", c.Name(), err)
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newInbox(t testing.TB, n *actor.Node) *actor.Inbox {
	t.Helper()
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatalf("new inbox: %v", err)
	}
	return ib
}

// recvType waits for the next message of an inbox and asserts its type.
func recvType[T any](t testing.TB, ib *actor.Inbox, timeout time.Duration) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := ib.Receive(ctx)
	if err != nil {
		var zero T
		t.Fatalf("waiting for %T: %v", zero, err)
	}
	v, ok := m.(T)
	if !ok {
		var zero T
		t.Fatalf("got %T %v, want %T", m, m, zero)
	}
	return v
}

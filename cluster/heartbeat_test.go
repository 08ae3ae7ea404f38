package cluster_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestMismatchedHeartbeatsKeepSessionMem: n1 heartbeats every 500 ms
// (the default), n2 declares a peer down after 400 ms of silence. Each
// node announces its interval in its Hello, and n2 waits for 3 of n1's
// intervals instead of its own timeout (logging that at info), so the
// session stays open. n2 used to drop it every half second.
func TestMismatchedHeartbeatsKeepSessionMem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // fake time
		defer cancel()
		var logs testkit.LogBuffer
		c := memCluster(t, ctx, 2, clustertest.WithNodeOptions(func(name string) []cluster.Option {
			if name == "n1" {
				return []cluster.Option{cluster.WithHeartbeat(cluster.DefaultHeartbeatInterval, cluster.DefaultHeartbeatTimeout)}
			}
			return []cluster.Option{
				cluster.WithHeartbeat(100*time.Millisecond, 400*time.Millisecond),
				cluster.WithLogger(zerolog.New(&logs).Level(zerolog.InfoLevel)),
			}
		}))
		defer func() { _ = c.Stop(ctx) }()
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		n1, n2 := c.Node(0), c.Node(1)
		ev := memEvents(t, n2)
		defer ev.Close()

		watch, stop := context.WithTimeout(ctx, 20*time.Second)
		defer stop()
		for {
			m, err := ev.Receive(watch)
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := m.(cluster.NodeDown); ok {
				t.Fatalf("n2 lost its session with n1: %+v", d)
			}
		}
		if _, err := n2.CallNamed(ctx, n1.Name(), "ctl", wrapperspb.String("ping")); err != nil {
			t.Fatalf("call after 20 s: %v", err)
		}
		raised := false
		for _, e := range logs.Events(t) {
			if e["peer"] == n1.Name() && e["level"] == "info" && e["timeout"] != nil {
				raised = true
			}
		}
		if !raised {
			t.Errorf("n2 did not log at info that it waits longer for n1:\n%s", logs.String())
		}
	})
}

// TestMismatchedHeartbeatsKeepSession is TestMismatchedHeartbeatsKeepSessionMem
// across processes and real sockets: the child heartbeats every 4 s (and
// waits 12 s for this node), this test's shared node waits only
// testHeartbeatTimeout (3 s). Told the child's interval in its Hello, the
// shared node waits 12 s for it, and the session outlives one of the
// child's intervals and more. The shared node used to drop it after 3 s.
func TestMismatchedHeartbeatsKeepSession(t *testing.T) {
	a := shared
	ev := newInbox(t, a.Node())
	t.Cleanup(ev.Close)
	if err := a.MonitorNodes(ev.PID(), true); err != nil {
		t.Fatal(err)
	}
	// The shared node dials (a call does): the child, which knows no peer,
	// would not, and a child that did would wait for its first tick, 4 s.
	b := startChild(t, "b", "CHILD_HEARTBEAT_INTERVAL=4s", "CHILD_HEARTBEAT_TIMEOUT=12s")
	if _, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("ping")); err != nil {
		t.Fatalf("first call: %v", err)
	}
	recvNodeUp(t, ev, b.name, 10*time.Second)
	watch, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	for {
		m, err := ev.Receive(watch)
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := m.(cluster.NodeDown); ok && d.Node == b.name {
			t.Fatalf("the shared node lost its session with the child: %+v", d)
		}
	}
	if _, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("ping")); err != nil {
		t.Fatalf("call after 5 s: %v", err)
	}
}

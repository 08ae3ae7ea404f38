package cluster_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// shared is this test process's node. There is one for the whole run:
// protoactor's remote writes gRPC's process-wide logger whenever a node
// starts, which races with the gRPC goroutines of any node started
// before it. Tests run other nodes in child processes (child_test.go).
var shared *cluster.Cluster

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
		os.Exit(0)
	}
	logger := zerolog.New(io.Discard)
	if os.Getenv("ARBOR_TEST_DEBUG") != "" {
		// The shared node's log, for chasing a failure.
		logger = zerolog.New(os.Stderr).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	}
	opts := append([]cluster.Option{cluster.WithLogger(logger)}, testDetection...)
	c, err := cluster.Start(context.Background(), "a", opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start shared node:", err)
		os.Exit(2)
	}
	shared = c
	code := m.Run()
	stopBenchPairs()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	if err := c.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop shared node:", err)
		code = 1
	}
	cancel()
	if code == 0 {
		if err := goleak.Find(testkit.GoleakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testDetection is the shared node's failure detector: it heartbeats every
// 100 ms and loses a peer after testHeartbeatTimeout of silence. With a
// 600 ms timeout a child descheduled for that long on a loaded machine
// under -race lost its session, failing tests that do not test detection;
// the few that do (TestFrozenNode, TestFrozenNodeRejoins,
// TestMismatchedHeartbeatsKeepSession) wait the longer timeout.
var testDetection = []cluster.Option{
	cluster.WithHeartbeat(100*time.Millisecond, testHeartbeatTimeout),
	cluster.WithReconnectInterval(100 * time.Millisecond),
	cluster.WithConnectTimeout(time.Second),
}

// testHeartbeatTimeout is the heartbeat timeout of the shared node and,
// unless a test asks for another, of the child nodes: the default's, so
// that only a silence a real deployment would call a failure ends a
// session.
const testHeartbeatTimeout = cluster.DefaultHeartbeatTimeout

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

// recvNodeEvent waits for the next NodeUp or NodeDown about node, skipping
// events about other nodes (children of other tests).
func recvNodeEvent(t testing.TB, ib *actor.Inbox, node string, timeout time.Duration) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		m, err := ib.Receive(ctx)
		if err != nil {
			t.Fatalf("waiting for an event about %s: %v", node, err)
		}
		switch e := m.(type) {
		case cluster.NodeUp:
			if e.Node == node {
				return e
			}
		case cluster.NodeDown:
			if e.Node == node {
				return e
			}
		default:
			t.Fatalf("unexpected %T %v", m, m)
		}
	}
}

func recvNodeUp(t testing.TB, ib *actor.Inbox, node string, timeout time.Duration) {
	t.Helper()
	if e, ok := recvNodeEvent(t, ib, node, timeout).(cluster.NodeUp); !ok {
		t.Fatalf("got %+v, want NodeUp", e)
	}
}

func recvNodeDown(t testing.TB, ib *actor.Inbox, node string, timeout time.Duration) cluster.NodeDown {
	t.Helper()
	e, ok := recvNodeEvent(t, ib, node, timeout).(cluster.NodeDown)
	if !ok {
		t.Fatalf("got %+v, want NodeDown", e)
	}
	return e
}

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestNetworkCut puts a fault-injecting proxy in front of each of two
// nodes (each advertises its proxy's address, so every byte between them
// crosses one), cuts the network and heals it: silently first (a
// blackhole: only heartbeats can tell), then loudly (connections reset).
// Both nodes see NodeDown within the bound, then NodeUp once healed.
func TestNetworkCut(t *testing.T) {
	portB, portC := testkit.FreePort(t), testkit.FreePort(t)
	pb := testkit.NewProxy(t, "127.0.0.1:"+strconv.Itoa(portB))
	pc := testkit.NewProxy(t, "127.0.0.1:"+strconv.Itoa(portC))
	b := startChild(t, "b", fmt.Sprintf("CHILD_LISTEN=127.0.0.1:%d", portB), "CHILD_ADVERTISE="+pb.Addr(), "CHILD_EVENTS=1", fastChild)
	c := startChild(t, "c", fmt.Sprintf("CHILD_LISTEN=127.0.0.1:%d", portC), "CHILD_ADVERTISE="+pc.Addr(),
		"CHILD_PEERS="+b.name, "CHILD_EVENTS=1", fastChild)
	b.expectEvent(t, "up", c.name, 10*time.Second)
	c.expectEvent(t, "up", b.name, 10*time.Second)

	// The children run with a 100 ms heartbeat and a 600 ms timeout: a
	// silent cut is seen within 700 ms, give or take scheduling.
	const bound = 2 * time.Second
	for _, f := range []testkit.Fault{testkit.Blackhole, testkit.Reset, testkit.Blackhole} {
		b.settled(t, c.name)
		c.settled(t, b.name)
		start := time.Now()
		pb.Cut(f)
		pc.Cut(f)
		rb := b.expectEvent(t, "down", c.name, bound+time.Second)
		rc := c.expectEvent(t, "down", b.name, bound+time.Second)
		took := time.Since(start)
		t.Logf("%v cut seen in %v (b: %s; c: %s)", f, took, rb, rc)
		if took > bound {
			t.Errorf("%v cut seen in %v, bound %v", f, took, bound)
		}
		start = time.Now()
		pb.Heal()
		pc.Heal()
		b.expectEvent(t, "up", c.name, 10*time.Second)
		c.expectEvent(t, "up", b.name, 10*time.Second)
		t.Logf("healed in %v", time.Since(start))
	}
}

// TestOldSessionNotDelivered checks that nothing sent in a session that
// ended is accepted by a later session between the same two boots, even
// when the old connection outlives it. c streams numbered messages to a
// relay on b, which forwards them to an inbox here. A Stall freezes the
// connections between b and c while new ones work: the session ends on
// both sides and a new one opens; then the old connections are healed and
// the messages they held reach b. None of them may be delivered: the
// numbers that arrive here must keep rising.
func TestOldSessionNotDelivered(t *testing.T) {
	portB, portC := testkit.FreePort(t), testkit.FreePort(t)
	pb := testkit.NewProxy(t, "127.0.0.1:"+strconv.Itoa(portB))
	pc := testkit.NewProxy(t, "127.0.0.1:"+strconv.Itoa(portC))
	b := startChild(t, "b", fmt.Sprintf("CHILD_LISTEN=127.0.0.1:%d", portB), "CHILD_ADVERTISE="+pb.Addr(), "CHILD_EVENTS=1", fastChild)
	c := startChild(t, "c", fmt.Sprintf("CHILD_LISTEN=127.0.0.1:%d", portC), "CHILD_ADVERTISE="+pc.Addr(),
		"CHILD_PEERS="+b.name, "CHILD_EVENTS=1", fastChild)
	b.expectEvent(t, "up", c.name, 10*time.Second)
	c.expectEvent(t, "up", b.name, 10*time.Second)

	ib := newInbox(t, shared.Node())
	t.Cleanup(ib.Close)
	v, err := shared.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("relay "+pidArg(ib.PID())))
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	relay, err := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).Value)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shared.CallNamed(ctxT(t), c.name, "ctl", wrapperspb.String("stream "+pidArg(relay))); err != nil {
		t.Fatalf("stream: %v", err)
	}

	var last int64
	// next returns the next number and fails the test if it does not
	// follow the last one.
	next := func() int64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m, err := ib.Receive(ctx)
		if err != nil {
			t.Fatalf("%s: no number after %d: %v", time.Now().UTC().Format(time.RFC3339Nano), last, err)
		}
		n := m.(*wrapperspb.Int64Value).Value
		if n <= last {
			t.Fatalf("got %d after %d: a message of an ended session was delivered", n, last)
		}
		last = n
		return n
	}
	for next() < 20 {
	}

	b.settled(t, c.name)
	c.settled(t, b.name)
	pb.Cut(testkit.Stall)
	pc.Cut(testkit.Stall)
	stalledAt := last
	b.expectEvent(t, "down", c.name, 5*time.Second)
	c.expectEvent(t, "down", b.name, 5*time.Second)
	// The old connections hold what c sent since the stall; a new
	// session opens over new ones.
	b.expectEvent(t, "up", c.name, 10*time.Second)
	c.expectEvent(t, "up", b.name, 10*time.Second)
	for next() <= stalledAt+50 {
	}
	droppedBefore := childDropped(t, b)
	pb.Heal()
	pc.Heal()
	healedAt := last
	// The held messages reach b now; about a second of new ones must come
	// through in order, and b must have dropped the old ones.
	for next() < healedAt+500 {
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if d := childDropped(t, b); d <= droppedBefore {
			return fmt.Errorf("b dropped %d envelopes, as many as before the heal", d)
		}
		return nil
	})
	t.Logf("stalled at %d, healed at %d, last %d", stalledAt, healedAt, last)
}

// fastChild gives a child the short heartbeat timeout the tests of cuts
// between two children measure (the default, testHeartbeatTimeout, is
// long so that a loaded machine ends no session by itself).
const fastChild = "CHILD_HEARTBEAT_TIMEOUT=600ms"

// settled reads the events c reported since the test's last expectation
// and, if its session with node ended among them, waits for the next one
// to open. With fastChild's timeout a child descheduled on a loaded
// machine can lose a session by itself; settled keeps such a loss from
// passing for the effect of the test's next step.
func (c *child) settled(t testing.TB, node string) {
	t.Helper()
	up := true
	for {
		select {
		case e := <-c.events:
			f := strings.SplitN(e, " ", 3)
			if len(f) >= 2 && f[1] == node {
				up = f[0] == "up"
				if !up {
					t.Logf("%s: %q before the next step, a session that ended by itself", c.name, e)
				}
			}
			continue
		default:
		}
		if up {
			return
		}
		c.expectEvent(t, "up", node, 10*time.Second)
		up = true
	}
}

// childDropped returns the child's Stats().Dropped.
// The stall also froze this node's connection to the child (through the
// child's proxy): the child declared this node down, so the session
// between them may be reopening when the call is made, and a call on the
// session being replaced fails with NoConnection. It is made again then.
func childDropped(t *testing.T, c *child) int64 {
	t.Helper()
	var n int64
	testkit.Eventually(t, 10*time.Second, func() error {
		v, err := shared.CallNamed(ctxT(t), c.name, "ctl", wrapperspb.String("dropped"))
		if err != nil {
			if errors.Is(err, actor.NoConnection) {
				return err
			}
			t.Fatalf("dropped: %v", err)
		}
		n = v.(*wrapperspb.Int64Value).Value
		return nil
	})
	return n
}

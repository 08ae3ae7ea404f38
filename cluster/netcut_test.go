package cluster_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

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
	b := startChild(t, "b", fmt.Sprintf("CHILD_LISTEN=127.0.0.1:%d", portB), "CHILD_ADVERTISE="+pb.Addr(), "CHILD_EVENTS=1")
	c := startChild(t, "c", fmt.Sprintf("CHILD_LISTEN=127.0.0.1:%d", portC), "CHILD_ADVERTISE="+pc.Addr(),
		"CHILD_PEERS="+b.name, "CHILD_EVENTS=1")
	b.expectEvent(t, "up", c.name, 10*time.Second)
	c.expectEvent(t, "up", b.name, 10*time.Second)

	// The children run with a 100 ms heartbeat and a 600 ms timeout: a
	// silent cut is seen within 700 ms, give or take scheduling.
	const bound = 2 * time.Second
	for _, f := range []testkit.Fault{testkit.Blackhole, testkit.Reset, testkit.Blackhole} {
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

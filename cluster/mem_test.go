package cluster_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
)

// The tests of this file are the in-memory counterparts of multi-process
// tests (cycles_test.go, netcut_test.go): the nodes are this process's,
// on clustertest's network, inside a testing/synctest bubble where every
// heartbeat timeout and reconnect interval passes in fake time. They run
// many more cycles than their real-socket counterparts, which stay for
// what only real processes and sockets show (open files, kill -9 of a
// process, SIGSTOP, a proxy's TCP).

// envCycles is the number of cycles key asks for, def when unset.
func envCycles(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

// memCluster starts n nodes in the bubble, each with a ctl process (as a
// child runs), and stops them when the bubble's function returns
// (deferred by the caller through the returned stop).
func memCluster(t *testing.T, ctx context.Context, n int, opts ...clustertest.Option) *clustertest.Cluster {
	t.Helper()
	opts = append([]clustertest.Option{clustertest.WithSetup(func(n *cluster.Cluster) error {
		_, err := n.Node().Spawn(ctl{}, actor.WithName("ctl"))
		return err
	})}, opts...)
	c, err := clustertest.New(ctx, n, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// memEvents returns an inbox of n that gets its NodeUp and NodeDown.
func memEvents(t *testing.T, n *cluster.Cluster) *actor.Inbox {
	t.Helper()
	ib, err := n.Node().NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.MonitorNodes(ib.PID(), true); err != nil {
		t.Fatal(err)
	}
	return ib
}

// TestPeerDownUpCyclesMem is TestPeerDownUpCycles in memory: a peer
// restarted on the same name and address again and again, alternately
// crashed (as kill -9) and stopped cleanly, and the goroutines of the
// bubble (both nodes' now) come back to where they were. The
// crashed peer's NodeDown says the connection was lost, the stopped
// one's that it left. 150 cycles (ARBOR_CLUSTER_MEM_CYCLES for more).
func TestPeerDownUpCyclesMem(t *testing.T) {
	cycles := envCycles("ARBOR_CLUSTER_MEM_CYCLES", 150)
	start := time.Now()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // fake time
		defer cancel()
		c := memCluster(t, ctx, 2)
		defer func() { _ = c.Stop(ctx) }() // also when the test fails: nothing outlives the bubble
		a := c.Node(0)
		ev := memEvents(t, a)
		defer ev.Close()
		if err := c.StopNode(ctx, c.Node(1)); err != nil {
			t.Fatal(err)
		}
		recvNodeDown(t, ev, c.Node(1).Name(), time.Minute)
		cycle := func(i int) {
			t.Helper()
			b, err := c.Restart(ctx, 1)
			if err != nil {
				t.Fatalf("cycle %d: restart: %v", i, err)
			}
			recvNodeUp(t, ev, b.Name(), time.Minute)
			if _, err := a.CallNamed(ctx, b.Name(), "ctl", wrapperspb.String("ping")); err != nil {
				t.Fatalf("cycle %d: call: %v", i, err)
			}
			want := cluster.ErrNodeLeft
			if i%2 == 0 {
				want = cluster.ErrConnectionLost
				err = c.Crash(ctx, b)
			} else {
				err = c.StopNode(ctx, b)
			}
			if err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
			if d := recvNodeDown(t, ev, b.Name(), time.Minute); !errors.Is(d.Reason, want) {
				t.Fatalf("cycle %d: NodeDown %+v, want %v", i, d, want)
			}
		}
		cycle(0) // warm up: the first session creates what every later one reuses
		synctest.Wait()
		baseline := bubbleGoroutines(t)
		for i := range cycles {
			cycle(i)
		}
		synctest.Wait() // every goroutine that is to end has ended
		// A leak grows with the cycles (150 cycles leaking one goroutine
		// each give 150 more); a goroutine or two of a session that is
		// idle at the moment of the count (a fresh-clone run once saw 6
		// against 5) do not.
		if n := bubbleGoroutines(t); n > baseline+leakMargin {
			t.Fatalf("%d goroutines after %d cycles, %d before", n, cycles, baseline)
		}
	})
	took := time.Since(start)
	t.Logf("in memory: %d down/up cycles in %v (%.0f a minute)", cycles, took, float64(cycles)/took.Minutes())
}

// leakMargin is how many more goroutines than after the warm-up cycle a
// cycle test accepts at its end: fewer than any leak of one goroutine per
// cycle would add.
const leakMargin = 3

// bubbleGoroutines counts the goroutines of the caller's synctest bubble
// (those of the process's shared node and of other tests are outside it,
// and come and go on their own).
func bubbleGoroutines(t *testing.T) int {
	t.Helper()
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, line := range strings.Split(string(buf), "\n") {
		if strings.HasPrefix(line, "goroutine ") && strings.Contains(line, "synctest bubble") {
			count++
		}
	}
	if count == 0 {
		t.Fatal("no goroutine of a synctest bubble in the stacks: the count sees nothing")
	}
	return count
}

// TestNetworkCutMem is TestNetworkCut in memory, with the bounds exact in
// fake time: two nodes cut silently (a blackhole) see each other down by
// the heartbeat timeout, at least the timeout and at most the timeout plus
// two intervals after the cut; cut loudly (the connections reset), at
// once, before a heartbeat interval passed; healed, up again within a few
// reconnect intervals. 200 cycles, silent and loud in turn
// (ARBOR_CLUSTER_MEM_CYCLES for more).
func TestNetworkCutMem(t *testing.T) {
	cycles := envCycles("ARBOR_CLUSTER_MEM_CYCLES", 200)
	start := time.Now()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // fake time
		defer cancel()
		c := memCluster(t, ctx, 2)
		defer func() { _ = c.Stop(ctx) }() // also when the test fails: nothing outlives the bubble
		b, cn := c.Node(0), c.Node(1)
		evB, evC := memEvents(t, b), memEvents(t, cn)
		defer evB.Close()
		defer evC.Close()
		const (
			interval = clustertest.DefaultHeartbeatInterval
			timeout  = clustertest.DefaultHeartbeatTimeout
		)
		for i := range cycles {
			silent := i%2 == 0
			cut := time.Now()
			c.Cut(b, cn)
			if !silent {
				c.Reset(b, cn)
			}
			for _, side := range []struct {
				ev   *actor.Inbox
				peer string
			}{{evB, cn.Name()}, {evC, b.Name()}} {
				d := recvNodeDown(t, side.ev, side.peer, time.Minute)
				took := time.Since(cut)
				switch {
				case silent && (took < timeout || took > timeout+2*interval || !errors.Is(d.Reason, cluster.ErrHeartbeatTimeout)):
					t.Fatalf("cycle %d: silent cut: %+v after %v of fake time, want a heartbeat timeout within [%v, %v]",
						i, d, took, timeout, timeout+2*interval)
				case !silent && (took >= interval || errors.Is(d.Reason, cluster.ErrHeartbeatTimeout)):
					t.Fatalf("cycle %d: loud cut: %+v after %v of fake time, want a lost connection before %v", i, d, took, interval)
				}
			}
			healed := time.Now()
			c.Heal(b, cn)
			recvNodeUp(t, evB, cn.Name(), time.Minute)
			recvNodeUp(t, evC, b.Name(), time.Minute)
			if took := time.Since(healed); took > 3*clustertest.DefaultReconnectInterval {
				t.Fatalf("cycle %d: up again %v of fake time after the heal, want within %v", i, took, 3*clustertest.DefaultReconnectInterval)
			}
			if _, err := b.CallNamed(ctx, cn.Name(), "ctl", wrapperspb.String("ping")); err != nil {
				t.Fatalf("cycle %d: call after the heal: %v", i, err)
			}
		}
	})
	took := time.Since(start)
	t.Logf("in memory: %d cut/heal cycles in %v (%.0f a minute)", cycles, took, float64(cycles)/took.Minutes())
}

package singleton_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// The registry mode's bounds, as the tests check them: with the cluster's
// default failure detection a killed node's stream breaks at once (about
// 1 s at worst), and a frozen one is declared down after the heartbeat
// timeout plus one interval (3.5 s); a new instance then starts after one
// registration and the claim's settle time (100 ms). The bounds below
// add slack for a loaded machine; the tests log the measured figures.
const (
	killFailoverBound   = 3 * time.Second
	frozenFailoverBound = 3500*time.Millisecond + 4*time.Second
	healBound           = 1500 * time.Millisecond
)

// startThree starts three connected registry-mode nodes.
func startThree(t *testing.T) (*hlCluster, []*hlNode) {
	hc := newHLCluster(t)
	a := hc.start("a", addrOf(t), "")
	b := hc.start("b", addrOf(t), "", a.name)
	c := hc.start("c", addrOf(t), "", a.name, b.name)
	return hc, []*hlNode{a, b, c}
}

func others(ns []*hlNode, not string) []*hlNode {
	var out []*hlNode
	for _, n := range ns {
		if n.short != not {
			out = append(out, n)
		}
	}
	return out
}

func shorts(ns []*hlNode) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.short)
	}
	return out
}

// TestRegistryModeKilledNode: three nodes, exactly one instance, named by
// Whereis on every node; kill -9 of its node starts one on another node
// within killFailoverBound.
func TestRegistryModeKilledNode(t *testing.T) {
	hc, ns := startThree(t)
	holder := hc.awaitOne(30*time.Second, ns...)
	from := len(hc.snapshot())
	killed := time.Now()
	if err := hc.nodes[holder].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rest := others(ns, holder)
	next, _ := hc.awaitLine(30*time.Second, from, "start", shorts(rest)...)
	took := next.at.Sub(killed)
	t.Logf("kill -9 of %s: new instance on %s after %v", holder, next.node, took)
	if took > killFailoverBound {
		t.Errorf("new instance %v after the kill, bound %v", took, killFailoverBound)
	}
	if got := hc.awaitOne(30*time.Second, rest...); got != next.node {
		t.Fatalf("instance on %s, then on %s", next.node, got)
	}
}

// TestRegistryModeCallFromAnyNode: singleton.Call from a plain context
// (no process, no node in it) reaches the instance from every node, the
// holder's and the others (it failed on the others with actor.ErrRemote:
// a PID of another node gives Call no node to call from).
func TestRegistryModeCallFromAnyNode(t *testing.T) {
	hc, ns := startThree(t)
	holder := hc.awaitOne(30*time.Second, ns...)
	for _, n := range ns {
		got, err := n.callKey()
		if err != nil {
			t.Fatal(err)
		}
		if got != holder {
			t.Errorf("Call from %s answered by %q, want %s", n.short, got, holder)
		}
	}
}

// TestRegistryModeFrozenNode: SIGSTOP of the instance's node starts one on
// another node within frozenFailoverBound; after SIGCONT the two meet,
// and exactly one stays: the one that has served longer (the resumed
// node's), the other's Terminate runs with a Shutdown-class reason.
func TestRegistryModeFrozenNode(t *testing.T) {
	hc, ns := startThree(t)
	holder := hc.awaitOne(30*time.Second, ns...)
	from := len(hc.snapshot())
	frozen := time.Now()
	p := hc.nodes[holder].cmd.Process
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	next, _ := hc.awaitLine(30*time.Second, from, "start", shorts(others(ns, holder))...)
	took := next.at.Sub(frozen)
	t.Logf("SIGSTOP of %s: new instance on %s after %v", holder, next.node, took)
	if took > frozenFailoverBound {
		t.Errorf("new instance %v after the freeze, bound %v", took, frozenFailoverBound)
	}
	if err := p.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	stop, _ := hc.awaitLine(30*time.Second, from, "stop")
	t.Logf("after SIGCONT: %s stopped its instance (%s) after %v", stop.node, stop.arg, stop.at.Sub(resumed))
	if stop.node != next.node || stop.arg != "shutdown" {
		t.Errorf("stopped %s with %s, want %s with shutdown", stop.node, stop.arg, next.node)
	}
	if got := hc.awaitOne(30*time.Second, ns...); got != holder {
		t.Errorf("instance on %s after the resume, want the older, %s", got, holder)
	}
}

// TestRegistryModeStartedAloneJoins: a node that starts before it can
// reach the cluster runs its own instance; when it joins, its instance is
// stopped (Shutdown) and the cluster's long-running one stays.
func TestRegistryModeStartedAloneJoins(t *testing.T) {
	hc := newHLCluster(t)
	dAddr := addrOf(t)
	proxy := testkit.NewProxy(t, dAddr)
	proxy.Cut(testkit.Reset)
	dName := "d@" + proxy.Addr()
	b := hc.start("b", addrOf(t), "", dName)
	c := hc.start("c", addrOf(t), "", b.name, dName)
	holder := hc.awaitOne(30*time.Second, b, c)
	from := len(hc.snapshot())
	d := hc.start("d", dAddr, proxy.Addr())
	hc.awaitLine(30*time.Second, from, "start", "d")
	from = len(hc.snapshot())
	healed := time.Now()
	proxy.Heal()
	stop, _ := hc.awaitLine(30*time.Second, from, "stop")
	t.Logf("d joined: %s stopped its instance (%s) after %v", stop.node, stop.arg, stop.at.Sub(healed))
	if stop.node != "d" || stop.arg != "shutdown" {
		t.Errorf("stopped %s with %s, want d with shutdown", stop.node, stop.arg)
	}
	if got := hc.awaitOne(30*time.Second, b, c, d); got != holder {
		t.Errorf("instance on %s after d joined, want the long-running one on %s", got, holder)
	}
}

// hlFailoverRunsEnv asks TestRegistryModeFailoverTimes for that many kills.
const hlFailoverRunsEnv = "ARBOR_SINGLETON_HL_FAILOVER_RUNS"

// TestRegistryModeFailoverTimes measures the time from kill -9 of the
// instance's node to the start of the next instance, over three nodes (a
// fresh node replaces each killed one), ARBOR_SINGLETON_HL_FAILOVER_RUNS
// times, with the cluster's default failure detection, and prints p50 and
// p99. A measurement, run only when asked (make failover-registry):
//
//	ARBOR_SINGLETON_HL_FAILOVER_RUNS=50 go test -run RegistryModeFailoverTimes -v ./cluster/singleton
func TestRegistryModeFailoverTimes(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv(hlFailoverRunsEnv))
	if runs <= 0 {
		t.Skipf("a measurement: set %s=50 to run it", hlFailoverRunsEnv)
	}
	hc, ns := startThree(t)
	alive := ns
	holder := hc.awaitOne(30*time.Second, alive...)
	var took []time.Duration
	for i := range runs {
		from := len(hc.snapshot())
		killed := time.Now()
		_ = hc.nodes[holder].cmd.Process.Signal(syscall.SIGKILL)
		alive = others(alive, holder)
		next, _ := hc.awaitLine(30*time.Second, from, "start", shorts(alive)...)
		took = append(took, next.at.Sub(killed))
		var peers []string
		for _, n := range alive {
			peers = append(peers, n.name)
		}
		alive = append(alive, hc.start(fmt.Sprintf("n%d", i), addrOf(t), "", peers...))
		holder = hc.awaitOne(30*time.Second, alive...)
		if holder != next.node {
			t.Fatalf("run %d: instance started on %s, then runs on %s", i, next.node, holder)
		}
	}
	slices.Sort(took)
	pct := func(p float64) time.Duration { return took[min(len(took)-1, int(p*float64(len(took))))] }
	t.Logf("registry-mode failover after kill -9 over %d runs (default heartbeat): p50 %v, p99 %v, max %v",
		runs, pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
}

package registry_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// distinctAddrs returns n loopback addresses on free ports, all
// different: testkit.FreePort can give a port it gave just before (it is
// free again once its listener closed), and two nodes on one address
// fail to start.
func distinctAddrs(b *testing.B, n int) []string {
	b.Helper()
	var addrs []string
	for len(addrs) < n {
		if a := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(b)); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// parseDur reads a duration a child replied with.
func parseDur(b *testing.B, s string) time.Duration {
	b.Helper()
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		b.Fatalf("duration %q: %v", s, err)
	}
	return d
}

// BenchmarkReplicatedRegister registers b.N names on one of three nodes
// (each name held by a new process) and counts until every node shows
// them all: names per second visible cluster-wide. The writers are W
// goroutines each calling Register in a loop (a call returns when the
// scope process applied it): at most W changes wait in the scope
// process's mailbox, so at most W go out in one flush to each peer.
// writers=8 is the figure of the earlier passes; writers=64 stands for
// a node with many registering processes at once.
func BenchmarkReplicatedRegister(b *testing.B) {
	for _, w := range []int{8, 64} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) { benchReplicatedRegister(b, w) })
	}
}

func benchReplicatedRegister(b *testing.B, writers int) {
	addrs := distinctAddrs(b, 3)
	aAddr, bAddr, cAddr := addrs[0], addrs[1], addrs[2]
	names := []string{"a@" + aAddr, "b@" + bAddr, "c@" + cAddr}
	peers := func(i int) string {
		var p []string
		for j, n := range names {
			if j != i {
				p = append(p, n)
			}
		}
		return "CHILD_PEERS=" + strings.Join(p, ",")
	}
	na := startNode(b, "a", "CHILD_LISTEN="+aAddr, peers(0), "CHILD_SCOPE=s", "CHILD_QUIET=1")
	nb := startNode(b, "b", "CHILD_LISTEN="+bAddr, peers(1), "CHILD_SCOPE=s", "CHILD_QUIET=1")
	nc := startNode(b, "c", "CHILD_LISTEN="+cAddr, peers(2), "CHILD_SCOPE=s", "CHILD_QUIET=1")
	for _, n := range []*node{na, nb, nc} {
		testkit.Eventually(b, converge, func() error {
			if got := n.ok("nodes"); strings.Count(got, ",") != 1 {
				return fmt.Errorf("node %s synced with %q", n.label, got)
			}
			return nil
		})
	}
	nodes := []*node{na, nb, nc}
	cpu := func() (d [3]time.Duration) {
		for i, n := range nodes {
			d[i] = parseDur(b, n.ok("cpu"))
		}
		return d
	}
	// Messages the receivers dropped (a gap in a session makes the
	// receiver ask again, and the writer send a snapshot of every name:
	// a run with drops measured a resync too).
	dropped := func() (d [3]int) {
		for i, n := range nodes {
			d[i], _ = strconv.Atoi(n.ok("dropped"))
		}
		return d
	}
	drop0 := dropped()
	cpu0 := cpu()
	b.ResetTimer()
	start := time.Now()
	waitB, waitC := nb.okAsync("waitcount %d", b.N), nc.okAsync("waitcount %d", b.N)
	wrote := na.ok("bulk %d n %d", b.N, writers)
	w1, w2 := waitB(), waitC()
	elapsed := time.Since(start)
	b.StopTimer()
	// The CPU the three processes used from the first write until the
	// last name was visible everywhere (their start and stop left out),
	// per name: steadier than the rate on a loaded machine.
	cpu1 := cpu()
	drop1 := dropped()
	var per [3]float64
	for i := range per {
		per[i] = float64(cpu1[i]-cpu0[i]) / float64(time.Microsecond) / float64(b.N)
	}
	b.Logf("%d names: written on a in %s, visible on the others after %s and %s; CPU per name a %.2f µs, b %.2f µs, c %.2f µs; dropped by b %d, by c %d",
		b.N, wrote, w1, w2, per[0], per[1], per[2], drop1[1]-drop0[1], drop1[2]-drop0[2])
	for i, n := range nodes {
		if drop1[i] != drop0[i] {
			b.Logf("log of node %s:\n%s", n.label, n.logs.String())
		}
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "names/s")
	b.ReportMetric(per[0]+per[1]+per[2], "cpu-µs/name")
}

// BenchmarkHealConvergence10k: two nodes apart (a's only way in refuses
// connections) each register 10k names; the cut heals; the time until
// both show all 20k names. The nodes redial every 100 ms; the Defaults
// variant with the cluster's default reconnect interval.
func BenchmarkHealConvergence10k(b *testing.B) { benchHeal(b) }

func BenchmarkHealConvergence10kDefaults(b *testing.B) { benchHeal(b, "CHILD_DEFAULT_RECONNECT=1") }

func benchHeal(b *testing.B, env ...string) {
	for range b.N {
		aAddr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(b))
		proxy := testkit.NewProxy(b, aAddr)
		proxy.Cut(testkit.Reset)
		na := startNode(b, "a", append([]string{"CHILD_LISTEN=" + aAddr, "CHILD_ADVERTISE=" + proxy.Addr(), "CHILD_SCOPE=s", "CHILD_QUIET=1"}, env...)...)
		nb := startNode(b, "b", append([]string{"CHILD_LISTEN=" + fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(b)),
			"CHILD_PEERS=a@" + proxy.Addr(), "CHILD_SCOPE=s", "CHILD_QUIET=1"}, env...)...)
		na.ok("bulk 10000 a")
		nb.ok("bulk 10000 b")
		start := time.Now()
		waitA, waitB := na.okAsync("waitcount 20000"), nb.okAsync("waitcount 20000")
		proxy.Heal()
		waitA()
		waitB()
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-converge")
		na.stop()
		nb.stop()
	}
}

// BenchmarkPurge100k: b holds a's 100k names; a is killed (kill -9); the
// time until b shows none, failure detection included (ms-to-purge), in
// two parts: from the kill until a process of b gets NodeDown
// (ms-to-detect: the kernel ends a's connections, b's reader sees the
// stream end; no heartbeat timeout is involved, the log line gives
// NodeDown's reason), and from that NodeDown until b counts no name
// (ms-purge-step: the scope process's purge, plus up to 0.2 ms of
// polling).
func BenchmarkPurge100k(b *testing.B) {
	var total, detect, step time.Duration
	for range b.N {
		na := startNode(b, "a", "CHILD_LISTEN="+fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(b)), "CHILD_SCOPE=s", "CHILD_QUIET=1")
		na.ok("bulk 100000 n")
		nb := startNode(b, "b", "CHILD_LISTEN="+fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(b)),
			"CHILD_PEERS="+na.name, "CHILD_SCOPE=s", "CHILD_QUIET=1")
		nb.ok("waitcount 100000")
		nb.ok("watchdowns")
		wait := nb.okAsync("waitcountat 0")
		killed := time.Now()
		na.kill9()
		zero := unixNano(b, wait())
		down := nb.ok("downs")
		at, rest, _ := strings.Cut(down, " ")
		downAt := unixNano(b, at)
		b.Logf("NodeDown %s: %s after the kill; no name %s later", rest, downAt.Sub(killed), zero.Sub(downAt))
		total += zero.Sub(killed)
		detect += downAt.Sub(killed)
		step += zero.Sub(downAt)
		nb.stop()
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
	b.ReportMetric(ms(total), "ms-to-purge")
	b.ReportMetric(ms(detect), "ms-to-detect")
	b.ReportMetric(ms(step), "ms-purge-step")
}

// unixNano reads a wall-clock time (Unix ns) a child replied with.
func unixNano(b *testing.B, s string) time.Time {
	b.Helper()
	ns, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		b.Fatalf("time %q: %v", s, err)
	}
	return time.Unix(0, ns)
}

// BenchmarkClusteredRegisterAlone is BenchmarkReplicatedRegister's
// writer on a node of a replicated scope with no peer: the cost before
// any replication.
func BenchmarkClusteredRegisterAlone(b *testing.B) {
	na := startNode(b, "a", "CHILD_LISTEN="+fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(b)), "CHILD_SCOPE=s", "CHILD_QUIET=1")
	b.ResetTimer()
	start := time.Now()
	na.ok("bulk %d n", b.N)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "names/s")
}

// BenchmarkReplicatedRegisterInProcess is BenchmarkReplicatedRegister
// with the three nodes in this one OS process, each with its own
// listener, talking over real loopback TCP: the same work without three
// Go runtimes (schedulers, GCs, idle wake-ups) sharing the cores.
// cpu-µs/name is this process's CPU over the names. The writers are as
// in BenchmarkReplicatedRegister.
func BenchmarkReplicatedRegisterInProcess(b *testing.B) {
	for _, w := range []int{8, 64} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) { benchReplicatedRegisterInProcess(b, w) })
	}
}

func benchReplicatedRegisterInProcess(b *testing.B, writers int) {
	ctx := context.Background()
	var names []string
	for i, addr := range distinctAddrs(b, 3) {
		names = append(names, fmt.Sprintf("%c@%s", 'a'+i, addr))
	}
	var scopes []*registry.Scope
	var nodes []*cluster.Cluster
	for i, name := range names {
		label, addr, _ := strings.Cut(name, "@")
		peers := slices.Delete(slices.Clone(names), i, i+1)
		c, err := cluster.Start(ctx, label, cluster.WithListenAddr(addr), cluster.WithProvider(cluster.Static(peers...)),
			cluster.WithHeartbeat(100*time.Millisecond, cluster.DefaultHeartbeatTimeout), cluster.WithReconnectInterval(100*time.Millisecond),
			cluster.WithLogger(zerolog.New(os.Stderr).Level(zerolog.ErrorLevel)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			_ = c.Stop(sctx)
		})
		reg := registry.NewCluster(c)
		if err := reg.AddScope("s"); err != nil {
			b.Fatal(err)
		}
		s, err := reg.Scope("s")
		if err != nil {
			b.Fatal(err)
		}
		nodes, scopes = append(nodes, c), append(scopes, s)
	}
	for _, s := range scopes {
		testkit.Eventually(b, converge, func() error {
			if n := len(s.Nodes()); n != 2 {
				return fmt.Errorf("scope synced with %d nodes", n)
			}
			return nil
		})
	}
	cpu := func() time.Duration {
		d, err := processCPU()
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	n := nodes[0].Node()
	cpu0 := cpu()
	b.ResetTimer()
	start := time.Now()
	if err := registerWorkers(ctx, n, scopes[0], "n", b.N, writers); err != nil {
		b.Fatal(err)
	}
	wrote := time.Since(start)
	visible, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, s := range scopes[1:] {
		if err := awaitCount(visible, s, b.N); err != nil { // as waitcount does
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	per := float64(cpu()-cpu0) / float64(time.Microsecond) / float64(b.N)
	b.Logf("%d names: written in %s, visible on all 3 nodes after %s; CPU per name %.2f µs", b.N, wrote, elapsed, per)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "names/s")
	b.ReportMetric(per, "cpu-µs/name")
}

package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// memNode is one in-memory node running the application.
type memNode struct {
	c   *cluster.Cluster
	reg *registry.Registry
	ctl application.Controller
}

// startApp starts the application at vsn on each node of an in-memory
// cluster (package clustertest: all nodes in this process), its page on a
// free port, and stops the applications at cleanup, before the nodes.
func startApp(t *testing.T, app App, vsns ...string) []memNode {
	t.Helper()
	cl := clustertest.Start(t, len(vsns))
	out := make([]memNode, len(vsns))
	for i, v := range vsns {
		c := cl.Node(i)
		reg := registry.NewCluster(c)
		if err := reg.AddScope(Scope); err != nil {
			t.Fatal(err)
		}
		if err := addSingletonScope(reg); err != nil {
			t.Fatal(err)
		}
		ctl, err := application.NewController(c.Node())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := ctl.Shutdown(ctx); err != nil {
				t.Errorf("shut %s down: %v", c.Name(), err)
			}
		})
		a := app
		a.Cluster, a.Registry, a.HTTPAddr = c, reg, "127.0.0.1:0"
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := ctl.Load(ctx, Spec(v, a)); err != nil {
			t.Fatal(err)
		}
		if err := ctl.Start(ctx, Name, application.Permanent); err != nil {
			t.Fatalf("start on %s at %s: %v", c.Name(), v, err)
		}
		out[i] = memNode{c: c, reg: reg, ctl: ctl}
	}
	return out
}

func status(t *testing.T, n memNode) (*versionpb.MonitorStatus, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(actor.WithNode(context.Background(), n.c.Node()), 5*time.Second)
	defer cancel()
	return monitorStatus(ctx, n.reg)
}

// waitAgreed waits until the monitor n reaches has agreed on v.
func waitAgreed(t *testing.T, n memNode, v string) *versionpb.MonitorStatus {
	t.Helper()
	var st *versionpb.MonitorStatus
	testkit.Eventually(t, 20*time.Second, func() error {
		var err error
		if st, err = status(t, n); err != nil {
			return err
		}
		if st.Verdict != VerdictAgreed || st.ClusterVersion != v {
			return fmt.Errorf("monitor: %v", st)
		}
		return nil
	})
	return st
}

// A malformed vsn fails the application's start with ErrBadVersion: the
// repo refuses it.
func TestMalformedVersionFailsStart(t *testing.T) {
	cl := clustertest.Start(t, 1)
	c := cl.Node(0)
	reg := registry.NewCluster(c)
	if err := reg.AddScope(Scope); err != nil {
		t.Fatal(err)
	}
	if err := addSingletonScope(reg); err != nil {
		t.Fatal(err)
	}
	ctl, err := application.NewController(c.Node())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = ctl.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ctl.Load(ctx, Spec("1.x.0", App{Cluster: c, Registry: reg, HTTPAddr: "127.0.0.1:0"})); err != nil {
		t.Fatal(err)
	}
	err = ctl.Start(ctx, Name, application.Permanent)
	if !errors.Is(err, ErrBadVersion) {
		t.Fatalf("start at 1.x.0: %v, want ErrBadVersion", err)
	}
	t.Logf("start at 1.x.0: %v", err)
}

// A burst of topology messages is checked once: twenty messages within
// the settle delay make one multi-call.
func TestBurstCheckedOnce(t *testing.T) {
	const burst = 20
	nodes := startApp(t, App{Settle: time.Second, Expect: 2}, "0.1.0", "0.1.0")
	before := waitAgreed(t, nodes[0], "0.1.0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range burst {
		if _, err := nodes[1].reg.Publish(ctx, Scope, TopologyGroup, &versionpb.Topology{Kind: versionpb.Topology_NODE_UP, Node: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		st, err := status(t, nodes[0])
		if err != nil {
			return err
		}
		if st.Topology < before.Topology+burst || st.Checks == before.Checks {
			return fmt.Errorf("monitor %v, before the burst %v", st, before)
		}
		if st.Checks != before.Checks+1 {
			t.Fatalf("a burst of %d made %d checks, want 1 (monitor %v, before %v)", burst, st.Checks-before.Checks, st, before)
		}
		return nil
	})
}

// A monitor that starts again (here: killed, restarted by its supervisor)
// starts from the cluster version recorded on the repos and announces
// nothing, whatever the node it starts on.
func TestRestartedMonitorStartsFromRecord(t *testing.T) {
	nodes := startApp(t, App{Expect: 2}, "1.0.0", "1.0.0")
	st := waitAgreed(t, nodes[0], "1.0.0")
	pid, err := monitorPID(nodes[0].reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.c.Name() == pid.NodeName() {
			if err := n.c.Node().Kill(pid); err != nil {
				t.Fatal(err)
			}
		}
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		if now, err := monitorPID(nodes[0].reg); err != nil || now == pid {
			return fmt.Errorf("monitor %v (%v), killed %v", now, err, pid)
		}
		now, err := status(t, nodes[0])
		if err != nil {
			return err
		}
		if now.Checks == 0 || now.Verdict != VerdictAgreed || now.ClusterVersion != "1.0.0" {
			return fmt.Errorf("monitor %v (before the kill %v)", now, st)
		}
		if now.Announced != 0 {
			t.Fatalf("restarted monitor announced %d times", now.Announced)
		}
		return nil
	})
}

// redeploy stops the application on n and starts it again at vsn, as a
// node replaced by a new build would (the node itself stays).
func redeploy(t *testing.T, n memNode, app App, vsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := n.ctl.Stop(ctx, Name); err != nil {
		t.Fatal(err)
	}
	if err := n.ctl.Unload(ctx, Name); err != nil {
		t.Fatal(err)
	}
	app.Cluster, app.Registry, app.HTTPAddr = n.c, n.reg, "127.0.0.1:0"
	if err := n.ctl.Load(ctx, Spec(vsn, app)); err != nil {
		t.Fatal(err)
	}
	if err := n.ctl.Start(ctx, Name, application.Permanent); err != nil {
		t.Fatal(err)
	}
}

// repoInfo calls n's version repo.
func repoInfo(t *testing.T, n memNode) *versionpb.VersionInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(actor.WithNode(context.Background(), n.c.Node()), 5*time.Second)
	defer cancel()
	v, err := n.c.CallNamed(ctx, n.c.Name(), RepoName, &versionpb.GetVersion{})
	if err != nil {
		t.Fatal(err)
	}
	return v.(*versionpb.VersionInfo)
}

// A node redeployed during a deploy gets the cluster version it started
// from recorded on its repo at the next check, before any agreement: once
// every node that held the record is replaced, a monitor that takes over
// still starts from it. (The record was written only on agreement: it
// vanished with the last old node, and a takeover then took the new major
// for a new cluster's version and announced nothing.)
func TestRecordReachesRedeployedNodes(t *testing.T) {
	app := App{Expect: 3}
	nodes := startApp(t, app, "0.1.0", "0.1.0", "0.1.0")
	waitAgreed(t, nodes[0], "0.1.0")
	redeploy(t, nodes[2], app, "1.0.0")
	if got := repoInfo(t, nodes[2]).GetClusterVersion(); got != "" {
		t.Fatalf("a fresh repo holds record %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	testkit.Eventually(t, 20*time.Second, func() error {
		// The node observers see no node event here: tell the monitor.
		if _, err := nodes[0].reg.Publish(ctx, Scope, TopologyGroup, &versionpb.Topology{Kind: versionpb.Topology_NODE_UP, Node: nodes[2].c.Name()}); err != nil {
			return err
		}
		if got := repoInfo(t, nodes[2]).GetClusterVersion(); got != "0.1.0" {
			return fmt.Errorf("redeployed repo holds record %q, want 0.1.0", got)
		}
		return nil
	})
	st, err := status(t, nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	if st.Verdict != VerdictOutOfSync {
		t.Errorf("monitor %v, want out_of_sync", st)
	}
}

// The monitor waits for the hub of every node that answered: a node
// whose hub is not (yet) on BrowsersGroup, as this node sees it, is
// missing; nodes whose hubs are there are not.
func TestHubsMissing(t *testing.T) {
	nodes := startApp(t, App{Expect: 2}, "0.1.0", "0.1.0")
	m := monitor{cluster: nodes[0].c, reg: nodes[0].reg}
	a, b := nodes[0].c.Name(), nodes[1].c.Name()
	testkit.Eventually(t, 20*time.Second, func() error {
		if missing := m.hubsMissing(map[string]any{a: nil, b: nil}); len(missing) > 0 {
			return fmt.Errorf("hubs missing on %v", missing)
		}
		return nil
	})
	if missing := m.hubsMissing(map[string]any{a: nil, "n9@mem:9": nil}); len(missing) != 1 || missing[0] != "n9@mem:9" {
		t.Errorf("hubs missing %v, want [n9@mem:9]", missing)
	}
}

package registry_test

import (
	"testing"
	"testing/synctest"
)

// netMode is where a multi-node test's nodes run, as for the randomized
// test (random_net_test.go): child processes behind a testkit.Mesh of
// proxies ("real": real sockets, kill -9), or nodes of this process on
// clustertest's in-memory network ("mem": no process to start, many times
// quicker, inside a testing/synctest bubble where heartbeat timeouts and
// reconnect intervals pass in fake time). A test that runs in both modes
// checks the same thing on both, so the real transport stays covered
// while the in-memory run is the quick one to repeat (-count=N -run
// 'TestX/mem').
type netMode struct {
	name   string
	newNet func(t *testing.T, labels []string) (randNet, *meshNet)
}

var netModes = []netMode{{"real", newRealNet}, {"mem", newMemNet}}

// forNets runs test once in each mode, as subtests named after it; the
// in-memory one inside a synctest bubble.
func forNets(t *testing.T, test func(t *testing.T, mode netMode)) {
	for _, m := range netModes {
		t.Run(m.name, func(t *testing.T) {
			if m.name == "real" {
				test(t, m)
				return
			}
			synctest.Test(t, func(t *testing.T) { test(t, m) })
		})
	}
}

// netNodes is the nodes of one test on one network.
type netNodes struct {
	rc    *randCluster
	nodes map[string]*node
}

// startNet starts nodes labels, every one a peer of every other, each
// with scope s (but those of noScope) and the resolver ("", "lower" or
// "neither", as the children's CHILD_RESOLVER), and returns them once
// started (not yet connected: wait with eventually(..., "nodes")). before
// runs once the network exists and before the first node starts: a
// fault made there is in place when the nodes meet (on the real network;
// the in-memory one starts its nodes connected, so before runs once they
// are, and they meet before the fault).
func startNet(t *testing.T, mode netMode, resolver string, noScope []string, before func(net randNet), labels ...string) *netNodes {
	t.Helper()
	rc := &randCluster{t: t, resolver: resolver, nodes: map[string]*node{}, noScope: map[string]bool{}}
	for _, l := range noScope {
		rc.noScope[l] = true
	}
	rc.net, rc.mn = mode.newNet(t, labels)
	t.Cleanup(rc.net.close) // after the nodes' own cleanups (which stop a child)
	if before != nil && mode.name == "real" {
		before(rc.net)
	}
	for _, l := range labels {
		rc.nodes[l] = rc.net.startNode(rc, l)
	}
	if before != nil && mode.name != "real" {
		before(rc.net)
	}
	return &netNodes{rc: rc, nodes: rc.nodes}
}

// name is the node name of label l.
func (nn *netNodes) name(l string) string { return nn.rc.mn.name(l) }

// kill ends node l as kill -9 does (a crash in memory).
func (nn *netNodes) kill(l string) { nn.rc.net.kill(l) }

// restart starts node l again after kill, on its name and address, and
// returns it.
func (nn *netNodes) restart(l string) *node {
	n := nn.rc.net.startNode(nn.rc, l)
	nn.nodes[l] = n
	return n
}

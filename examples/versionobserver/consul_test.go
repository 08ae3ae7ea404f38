package main

import (
	"testing"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// Three node processes that find each other through a real Consul agent
// (no -peers): they meet, the monitor agrees on their version, a node
// replaced at 1.0.0 makes the cluster mixed, and a node stopped cleanly
// leaves (Consul deregisters it) and comes back.
func TestThreeNodesThroughConsul(t *testing.T) {
	agent := testkit.StartConsulAgent(t)
	nodes := testCluster(t, 3, agent.Addr())
	for _, nd := range nodes {
		nd.start("0.1.0")
	}
	settled(t, nodes, VerdictAgreed)
	nodes[2].stop()
	nodes[2].start("1.0.0")
	settled(t, nodes, VerdictOutOfSync)
}

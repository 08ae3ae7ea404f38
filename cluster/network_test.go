package cluster_test

import (
	"testing"

	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/arbor-otp/arbor/cluster/clustertest"
)

func runsRemote(sys *pa.ActorSystem) (ok bool) {
	defer func() { _ = recover() }() // GetRemote panics without the extension
	return remote.GetRemote(sys) != nil
}

// TestMemoryNodeHasNoRemote: a node on the real network runs protoactor
// remote; nodes on the memory network never start it (it replaces gRPC's
// process-wide logger, which would race with this process's shared node).
func TestMemoryNodeHasNoRemote(t *testing.T) {
	if !runsRemote(shared.Node().ActorSystem()) {
		t.Fatal("the shared node does not run protoactor remote: the check sees nothing")
	}
	c := clustertest.Start(t, 3)
	for _, n := range c.Nodes() {
		if runsRemote(n.Node().ActorSystem()) {
			t.Errorf("%s runs protoactor remote", n.Name())
		}
	}
}

package cluster_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
)

// TestCallNamedErrorNamesTheName checks that a call to a name nobody holds,
// on this node or another, fails with NoProc in an error that names the
// name and the node (not "call <nil>").
func TestCallNamedErrorNamesTheName(t *testing.T) {
	a, b, _ := withChild(t)
	for _, node := range []string{a.Name(), b.name} {
		_, err := a.CallNamed(ctxT(t), node, "nobody-holds-this", wrapperspb.String("ping"))
		var ce *actor.CallError
		if !errors.Is(err, actor.NoProc) || !errors.As(err, &ce) {
			t.Fatalf("call on %s: %v, want a *CallError with NoProc", node, err)
		}
		if ce.Name != "nobody-holds-this" || ce.Node != node {
			t.Errorf("call on %s: Name %q, Node %q", node, ce.Name, ce.Node)
		}
		if msg := err.Error(); !strings.Contains(msg, "nobody-holds-this") || !strings.Contains(msg, node) || strings.Contains(msg, "<nil>") {
			t.Errorf("call on %s: %q does not name the name and the node", node, msg)
		}
	}
}

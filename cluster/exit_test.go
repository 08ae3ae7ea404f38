package cluster_test

import (
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// An exit signal sent from outside any process (Node.Exit, Node.Kill: its
// From is the zero PID) reaches a process of another node. The receiver
// used to drop it as a bad signal: the zero PID names no node, so it
// failed the check that a signal's sender is of the sending node.
func TestExitFromNoProcessCrossesNodes(t *testing.T) {
	a, b, _ := withChild(t)
	ib := newInbox(t, a.Node())
	w := b.spawn(t, a)
	ref, err := ib.Monitor(ctxT(t), w)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Node().Kill(w); err != nil {
		t.Fatal(err)
	}
	d := recvType[actor.Down](t, ib, 10*time.Second)
	if d.Ref != ref || d.PID != w || !errors.Is(d.Reason, actor.Killed) {
		t.Fatalf("down %+v, want %v killed", d, w)
	}
}

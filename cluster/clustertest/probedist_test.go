package clustertest_test

// Black-box probes of the test kit's promise that its nodes are real
// cluster nodes: what crosses between two of them obeys the network's
// faults and wire rules, even though they share one Go process.

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
)

// TestWithNodeOriginCrossesTheNetwork: a Call, Send or Cast made outside any
// process with actor.WithNode(ctx, a) to a process of node b goes from a
// over the network (WithNode's promise), so a cut between a and b fails it
// and a message that is not protobuf is refused, as between two machines.
// It was delivered by b itself, because b runs in the same Go process:
// the calls went through the cut, and strings crossed "nodes".
func TestWithNodeOriginCrossesTheNetwork(t *testing.T) {
	c := clustertest.Start(t, 2)
	a, b := c.Node(0), c.Node(1)
	ib := newInbox(t, b)
	ctx := actor.WithNode(ctxT(t), a.Node())

	if err := actor.Send(ctx, ib.PID(), "not protobuf"); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("Send of a string from a to b: %v, want ErrNotProtoMessage", err)
	}
	if err := actor.Cast(ctx, ib.PID(), "not protobuf"); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("Cast of a string from a to b: %v, want ErrNotProtoMessage", err)
	}
	if _, err := actor.Call(ctx, ib.PID(), "not protobuf"); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("Call with a string from a to b: %v, want ErrNotProtoMessage", err)
	}
	if err := actor.Send(ctx, ib.PID(), wrapperspb.String("hi")); err != nil {
		t.Fatal(err)
	}
	if got := recv[*wrapperspb.StringValue](t, ib); got.GetValue() != "hi" {
		t.Fatalf("b got %v", got)
	}

	srv, err := b.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(r.Message())
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	c.Cut(a, b)
	c.Reset(a, b) // loud: the session ends at once
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if v, err := actor.Call(ctx, srv, wrapperspb.String("ping")); err == nil {
		t.Fatalf("a call from a to b across a cut returned %v", v)
	}
	c.HealAll()
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if v, err := actor.Call(ctx, srv, wrapperspb.String("ping")); err != nil || v.(*wrapperspb.StringValue).GetValue() != "ping" {
		t.Fatalf("a call from a to b after the heal: %v, %v", v, err)
	}
	// Without WithNode, outside any process, the PID's own node sends.
	if v, err := actor.Call(ctxT(t), srv, "local"); err != nil || v != "local" {
		t.Fatalf("a call with a plain context: %v, %v", v, err)
	}
}

package cluster_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
)

// TestPooledHandlerCallsBack: a pooled call whose handler, on the callee's
// call connection (ADR 0011's amendment), calls back a process of the
// caller's node and waits for it: the nested call goes on the session's
// stream and is answered, and so is the pooled call, round after round.
func TestPooledHandlerCallsBack(t *testing.T) {
	a, b, _ := withChild(t)
	back, err := a.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(wrapperspb.String("answered " + r.Message().(*wrapperspb.StringValue).Value))
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	untilPooled(t, a, b)
	before := pooled(a)
	for round := range 50 {
		v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("callback "+pidArg(back)))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := v.(*wrapperspb.StringValue).Value; got != "answered back" {
			t.Fatalf("round %d: %q, want the nested call's answer", round, got)
		}
	}
	if pooled(a) == before {
		t.Fatal("no call went on the pool")
	}
}

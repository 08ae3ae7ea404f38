package actor_test

import (
	"context"
	"testing"
	"testing/synctest"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
)

// TestCallsInSynctestBubbles: calls made outside any testing/synctest
// bubble, then inside one bubble after another, each with its own node,
// then outside again.
// A call's reply channel and timer are reused from a pool; one made
// outside a bubble, or in another, and waited on inside one is a fatal
// error of the runtime, so the pool is the node's own.
func TestCallsInSynctestBubbles(t *testing.T) {
	calls := func(t *testing.T, n *actor.Node) {
		pid, err := n.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
			if r, ok := msg.(*actor.Request); ok {
				r.Reply(r.Message())
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			ctx := context.Background() // no deadline: the pooled timer is used
			if i%2 == 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, actor.DefaultCallTimeout)
				defer cancel()
			}
			if _, err := n.Call(ctx, pid, wrapperspb.Int32(int32(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := newNode(t)
	calls(t, n)
	for range 10 {
		synctest.Test(t, func(t *testing.T) {
			n := actor.NewNode()
			calls(t, n)
			if err := n.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	calls(t, n)
}

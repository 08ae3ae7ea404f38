package cluster_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
)

// TestLateRemoteAnswerIsDropped: a callee on another node that answers
// after its caller gave up has its answer dropped (Reply reports false)
// and the request counts as done, for a caller with a deadline and one
// without (which waits DefaultCallTimeout) alike; only the first sees its
// deadline in the handler. The request expires at the deadline it
// carries, with no timer of the callee's.
func TestLateRemoteAnswerIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // fake time
		defer cancel()
		c := memCluster(t, ctx, 2)
		defer func() { _ = c.Stop(ctx) }()
		a, b := c.Node(0), c.Node(1)
		type held struct {
			r        *actor.Request
			deadline bool
		}
		got := make(chan held, 1)
		srv, err := b.Node().Spawn(actor.ReceiverFunc(func(pctx *actor.Context, msg any) error {
			if r, ok := msg.(*actor.Request); ok {
				_, d := pctx.Deadline()
				got <- held{r, d}
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		for _, withDeadline := range []bool{true, false} {
			callCtx, stop := context.WithTimeout(context.Background(), 2*time.Second)
			if !withDeadline {
				callCtx = context.Background()
			}
			_, err := a.Node().Call(callCtx, srv, wrapperspb.String("late"))
			stop()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("deadline %v: call: %v, want DeadlineExceeded", withDeadline, err)
			}
			h := <-got
			if h.deadline != withDeadline {
				t.Errorf("deadline %v: the handler saw a deadline: %v", withDeadline, h.deadline)
			}
			if h.r.Reply(wrapperspb.String("too late")) {
				t.Errorf("deadline %v: a late answer was taken", withDeadline)
			}
			if !h.r.Done() {
				t.Errorf("deadline %v: the request is not done", withDeadline)
			}
		}
		// An answer in time still goes.
		go func() {
			h := <-got
			if !h.r.Reply(wrapperspb.String("in time")) {
				t.Error("an answer in time was dropped")
			}
		}()
		v, err := a.Node().Call(ctx, srv, wrapperspb.String("now"))
		if err != nil || v.(*wrapperspb.StringValue).GetValue() != "in time" {
			t.Fatalf("call: %v, %v", v, err)
		}
	})
}

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/seam"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestUnreachableNode talks to a node whose address nobody listens on.
// A send returns at once; a call fails by its deadline; monitors and links
// fire with NoConnection when the connection attempt fails; and 50 failed
// attempts in a row leave no goroutines behind.
func TestUnreachableNode(t *testing.T) {
	ghost := fmt.Sprintf("ghost@127.0.0.1:%d", testkit.FreePort(t))
	pid := seam.Installed[*actor.Node, actor.PID, actor.Ref, *actor.Request]().NewPID(ghost, 1, 1, 1)
	n := shared.Node()

	start := time.Now()
	if err := n.Send(pid, wrapperspb.String("hello?")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("a send to an unreachable node took %v", took)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := n.Call(ctx, pid, wrapperspb.String("anyone?"))
	if !errors.Is(err, actor.NoConnection) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call: %v, want NoConnection or the deadline", err)
	}
	if took := time.Since(start); took > 300*time.Millisecond+time.Second {
		t.Errorf("a call with a 300 ms deadline returned after %v", took)
	}

	ib := newInbox(t, n)
	t.Cleanup(ib.Close)
	if err := ib.TrapExit(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	if err := ib.Link(ctxT(t), pid); err != nil {
		t.Fatalf("link: %v", err)
	}
	if e := recvType[actor.Exit](t, ib, 5*time.Second); e.From != pid || !errors.Is(e.Reason, actor.NoConnection) {
		t.Fatalf("got %+v, want Exit{NoConnection}", e)
	}

	// Each monitor opens a connection attempt that fails.
	cycle := func() {
		t.Helper()
		ref, err := ib.Monitor(ctxT(t), pid)
		if err != nil {
			t.Fatal(err)
		}
		if d := recvType[actor.Down](t, ib, 5*time.Second); d.Ref != ref || !errors.Is(d.Reason, actor.NoConnection) {
			t.Fatalf("got %+v, want Down{NoConnection}", d)
		}
	}
	cycle()
	baseline := runtime.NumGoroutine()
	for range 50 {
		cycle()
	}
	// The count is the whole test process's: a worker goroutine the
	// runtime parks for reuse may stay (leakMargin); a leak of one per
	// attempt would leave 50.
	testkit.Eventually(t, 10*time.Second, func() error {
		if g := runtime.NumGoroutine(); g > baseline+leakMargin {
			return fmt.Errorf("%d goroutines after 50 failed attempts, %d before (margin %d)", g, baseline, leakMargin)
		}
		return nil
	})
}

package cluster_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// Pooled calls (ADR 0011): a call from outside any process goes on a call
// connection of the peer's pool, read by the caller itself. These tests
// check what cluster/doc.go promises of calls still holds on them, across
// two OS processes.

// pooled returns how many calls a made on its pools so far.
func pooled(a *cluster.Cluster) uint64 { return a.Stats().PooledCalls }

// TestPooledCallsKeepOrderWithSends: a caller outside any process sends
// to a process of another node and then calls it; the call sees every
// message sent before it, whether it went on the pool or on the stream.
// (The fence that keeps a pooled call behind a message still unread on
// the stream is TestPooledRequestWaitsForItsFence's; this test's first
// call, right after NodeUp, is fenced behind the Hello that opens the
// session on the callee.)
func TestPooledCallsKeepOrderWithSends(t *testing.T) {
	a, b, _ := withChild(t)
	v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("counter"))
	if err != nil {
		t.Fatal(err)
	}
	counter, err := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).Value)
	if err != nil {
		t.Fatal(err)
	}
	before := pooled(a)
	var sent int64
	for round := range 200 {
		for range round % 7 { // rounds of 0 to 6 messages
			sent++
			if err := a.Node().Send(counter, wrapperspb.Int64(sent)); err != nil {
				t.Fatal(err)
			}
		}
		v, err := a.Node().Call(ctxT(t), counter, wrapperspb.Int64(0))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := v.(*wrapperspb.Int64Value).Value; got != sent {
			t.Fatalf("round %d: the call saw %d messages, want the %d sent before it", round, got, sent)
		}
	}
	if pooled(a) == before {
		t.Fatal("no call went on the pool")
	}
}

// untilPooled calls b's ctl until a call goes on the pool: right after
// NodeUp, a's stream to b may still be opening, and calls go on it.
func untilPooled(t *testing.T, a *cluster.Cluster, b *child) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		before := pooled(a)
		if _, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("echo")); err != nil {
			return err
		}
		if pooled(a) == before {
			return errors.New("the call went on the stream")
		}
		return nil
	})
}

// delayed starts a call of b's ctl that it answers after d, in a goroutine,
// once b got it and it went on the pool; the call's result comes on the
// channel. A call that went on the stream instead (a heartbeat was being
// written when it was made) is cancelled and made again.
func delayed(t *testing.T, ctx context.Context, a *cluster.Cluster, b *child, d time.Duration) <-chan error {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		untilPooled(t, a, b)
		before := pooled(a)
		actx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := a.CallNamed(actx, b.name, "ctl", wrapperspb.String("delay "+d.String()))
			done <- err
		}()
		b.expectEvent(t, "delayed", "ctl", 30*time.Second)
		if pooled(a) != before {
			context.AfterFunc(ctx, cancel)
			return done
		}
		cancel()
		<-done
	}
	t.Fatal("no call went on the pool in 20 attempts")
	return nil
}

// await waits for a call's result, at most 30 s.
func await(t *testing.T, done <-chan error) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(30 * time.Second):
		t.Fatal("the call did not end within 30 s")
		return 0, nil
	}
}

// TestPooledCallDeadlines: a pooled call ends at its deadline, or when its
// ctx is cancelled, and a reply that comes after never reaches a later
// call on the pool.
func TestPooledCallDeadlines(t *testing.T) {
	a, b, _ := withChild(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := await(t, delayed(t, ctx, a, b, time.Second))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past its deadline: %v, want DeadlineExceeded", err)
	}
	// A cancelled call without a deadline ends at once.
	cctx, ccancel := context.WithCancel(context.Background())
	done := delayed(t, cctx, a, b, time.Hour)
	ccancel()
	if _, err := await(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want Canceled", err)
	}
	// The late reply of the first call (due at 1 s) is not the answer to
	// any call made after it.
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); {
		v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("echo"))
		if err != nil {
			t.Fatal(err)
		}
		if got := v.(*wrapperspb.StringValue).Value; got != "echo" {
			t.Fatalf("a call got %q, want its own reply", got)
		}
	}
}

// TestPooledCallFailsWhenThePeerIsKilled: a pooled call in progress when
// the callee's node is killed (kill -9) fails with NoConnection promptly,
// not at its deadline.
func TestPooledCallFailsWhenThePeerIsKilled(t *testing.T) {
	a, b, ev := withChild(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := delayed(t, ctx, a, b, time.Hour)
	b.kill()
	took, err := await(t, done)
	if !errors.Is(err, actor.NoConnection) {
		t.Fatalf("after kill -9: %v, want NoConnection", err)
	}
	if took > 20*time.Second {
		t.Fatalf("the call failed only after %v", took)
	}
	recvNodeDown(t, ev, b.name, 10*time.Second)
}

// TestPooledCallFailsWhenTheSessionEnds: a pooled call in progress when
// its session ends (the callee's node froze: SIGSTOP, found silent) fails
// with NoConnection by the session's end, with the pool closed.
func TestPooledCallFailsWhenTheSessionEnds(t *testing.T) {
	a, b, ev := withChild(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := delayed(t, ctx, a, b, time.Hour)
	b.signal(syscall.SIGSTOP)
	defer b.signal(syscall.SIGCONT)
	recvNodeDown(t, ev, b.name, 20*time.Second)
	took, err := await(t, done)
	if !errors.Is(err, actor.NoConnection) {
		t.Fatalf("after the session ended: %v, want NoConnection", err)
	}
	if took > 5*time.Second {
		t.Fatalf("the call failed %v after the NodeDown", took)
	}
}

// TestPooledReplyComesAfterWhatTheCalleeSent: a pooled call's reply is
// returned only after what the callee's node sent this node before it:
// the handler sends to a process here and then replies, and that
// process has the message when the call returns.
func TestPooledReplyComesAfterWhatTheCalleeSent(t *testing.T) {
	a, b, _ := withChild(t)
	var n int64
	counter, err := a.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		switch x := msg.(type) {
		case *wrapperspb.StringValue:
			n++
		case *actor.Request:
			x.Reply(wrapperspb.Int64(n))
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	untilPooled(t, a, b)
	before := pooled(a)
	for round := range 200 {
		// ctl sends "hi" to counter, then replies "sent".
		if _, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.Bytes(cluster.MarshalPID(counter))); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		v, err := a.Node().Call(ctxT(t), counter, wrapperspb.Int64(0))
		if err != nil {
			t.Fatal(err)
		}
		if got := v.(*wrapperspb.Int64Value).Value; got != int64(round+1) {
			t.Fatalf("round %d: the reply came before the message sent before it (%d of %d)", round, got, round+1)
		}
	}
	if pooled(a) == before {
		t.Fatal("no call went on the pool")
	}
}

// TestPooledCallToAProcessThatExits: a pooled call whose handler exits
// instead of replying (its process run by the call connection's reader,
// ADR 0011) fails with the exit reason, and the next pooled call to
// another process is answered.
func TestPooledCallToAProcessThatExits(t *testing.T) {
	a, b, _ := withChild(t)
	for attempt := 0; ; attempt++ {
		w := b.spawn(t, a)
		before := pooled(a)
		_, err := a.Node().Call(ctxT(t), w, wrapperspb.String("die"))
		if err == nil || errors.Is(err, actor.NoConnection) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a call that made its process exit: %v, want its exit reason", err)
		}
		if pooled(a) != before {
			break
		}
		// The call went on the stream (a heartbeat was being written).
		if attempt == 20 {
			t.Fatal("no call went on the pool in 20 attempts")
		}
	}
	v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("after"))
	if err != nil || v.(*wrapperspb.StringValue).Value != "after" {
		t.Fatalf("the next call: %v, %v", v, err)
	}
}

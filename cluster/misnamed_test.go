package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestHelloToAnotherNameIsRefused: b knows the node a@127.0.0.1:1 as
// x@127.0.0.1:1. a refuses b's Hello instead of opening a session, b ends
// its attempt with a NameMismatchError (a call waiting for the session
// fails with it), and neither side publishes NodeUp or NodeDown.
func TestHelloToAnotherNameIsRefused(t *testing.T) {
	const aName, bName, listed = "a@127.0.0.1:1", "b@127.0.0.1:2", "x@127.0.0.1:1"
	a, toB := handshakeTransport(t, aName, bName)
	b, toA := handshakeTransport(t, bName, listed)
	events := func(tr *transport) *actor.Inbox {
		ib, err := tr.node.NewInbox()
		if err != nil {
			t.Fatal(err)
		}
		tr.mu.Lock()
		tr.subs[ib.PID()] = struct{}{}
		tr.mu.Unlock()
		return ib
	}
	aEvents, bEvents := events(a), events(b)

	called := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := b.call(ctx, actor.PID{}, actor.PID{}, "ctl", listed, wrapperspb.String("hi"))
		called <- err
	}()
	px := b.lookupPeer(listed)
	testkit.Eventually(t, 10*time.Second, func() error {
		px.mu.Lock()
		defer px.mu.Unlock()
		if px.state != peerConnecting || len(px.pending) == 0 {
			return errors.New("the call is not waiting for a session yet")
		}
		return nil
	})
	// Deliver everything, until nothing is in flight: b's Hello, then
	// a's refusal.
	for moved := 1; moved > 0; {
		testkit.Eventually(t, 10*time.Second, func() error {
			if !settled(px) {
				return errors.New("b's writer busy")
			}
			if pb := a.lookupPeer(bName); pb != nil && !settled(pb) {
				return errors.New("a's writer busy")
			}
			return nil
		})
		moved = 0
		for _, m := range toA.take() {
			a.handlePacket(m)
			moved++
		}
		for _, m := range toB.take() {
			b.handlePacket(m)
			moved++
		}
	}
	err := <-called
	var mismatch *NameMismatchError
	if !errors.As(err, &mismatch) || mismatch.Name != listed || mismatch.Answered != aName || !errors.Is(err, actor.NoConnection) {
		t.Fatalf("call: %v; want NoConnection with a NameMismatchError naming %s and %s", err, listed, aName)
	}
	px.mu.Lock()
	xState := px.state
	px.mu.Unlock()
	pb := a.lookupPeer(bName)
	pb.mu.Lock()
	bState := pb.state
	pb.mu.Unlock()
	if xState != peerDown || bState != peerDown {
		t.Fatalf("b's session with %s: %v, a's with b: %v; want both down", listed, xState, bState)
	}
	if n, m := aEvents.Len(), bEvents.Len(); n != 0 || m != 0 {
		t.Fatalf("%d node events on a, %d on b; want none", n, m)
	}
}

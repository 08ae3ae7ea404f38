package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/seam"
	"github.com/arbor-otp/arbor/internal/testkit"
)

type replayReader struct{ pkts [][]byte }

func (r *replayReader) RecvMsg(m any) error {
	if len(r.pkts) == 0 {
		return errors.New("connection reset")
	}
	*m.(*[]byte) = r.pkts[0]
	r.pkts = r.pkts[1:]
	return nil
}

// A late Hello on an old stream, then that stream's reset, must not end
// the open session (carried by another stream).
func TestLateHelloThenStreamResetKeepsSession(t *testing.T) {
	const bName, cName = "b@127.0.0.1:1", "c@127.0.0.1:2"
	b, toC := handshakeTransport(t, bName, cName)
	c, toB := handshakeTransport(t, cName, bName)
	pb, pc := b.lookupPeer(cName), c.lookupPeer(bName)
	pc.mu.Lock()
	pc.state = peerConnecting
	pc.since = time.Now()
	pc.helloLocked(0)
	pc.mu.Unlock()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !settled(pc) {
			return errors.New("busy")
		}
		return nil
	})
	first := toB.take()
	for _, m := range first {
		b.handlePacket(m)
	}
	exchange(t, b, c, toB, toC)
	pb.mu.Lock()
	in := pb.in
	st := pb.state
	pb.mu.Unlock()
	if st != peerUp {
		t.Fatalf("b not up: %v", st)
	}
	// The old stream delivers a copy of that Hello late, then breaks.
	_ = b.receive(&replayReader{pkts: first})
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.state != peerUp || pb.in != in {
		t.Fatalf("b's open session %d ended by an old stream's reset (state %v, in %d)", in, pb.state, pb.in)
	}
}

// A link signal that passed the session check just before the session
// ended (handle's sessionPeer, then onSignal) is recorded on a down peer
// and delivered: the link never gets NoConnection.
func TestSignalAfterSessionEndIsDropped(t *testing.T) {
	const bName, cName = "b@127.0.0.1:1", "c@127.0.0.1:2"
	b, _ := handshakeTransport(t, bName, cName)
	pb := b.lookupPeer(cName)
	ib, err := b.node.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	remotePID := rt.NewPID(cName, 1, 5, 1)
	pb.mu.Lock()
	pb.state = peerConnecting
	pb.mu.Unlock()
	pb.down(ErrHeartbeatTimeout) // the session ends ...
	env := b.envelope(&clusterpb.Envelope{Body: &clusterpb.Envelope_Signal{Signal: &clusterpb.Signal{
		Kind: encodeSignalKind(seam.SignalLink), From: encodePID(remotePID), To: encodePID(ib.PID()),
	}}})
	b.onSignal(pb, env, env.GetSignal()) // ... while the reader was between sessionPeer and onSignal
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.state == peerDown && len(pb.links) > 0 {
		t.Fatalf("link %v recorded on a down peer: no NoConnection will come unless another session opens and ends", pb.links)
	}
}

// A Goodbye that passed the session check of a session that has ended
// since (the peer opened a newer one meanwhile) must not end the open
// session.
func TestGoodbyeOfEndedSessionKeepsOpenSession(t *testing.T) {
	const bName, cName = "b@127.0.0.1:1", "c@127.0.0.1:2"
	b, toC := handshakeTransport(t, bName, cName)
	c, toB := handshakeTransport(t, cName, bName)
	pb, pc := b.lookupPeer(cName), c.lookupPeer(bName)
	pc.mu.Lock()
	pc.state = peerConnecting
	pc.since = time.Now()
	pc.helloLocked(0)
	pc.mu.Unlock()
	exchange(t, b, c, toB, toC)
	pb.mu.Lock()
	in, st := pb.in, pb.state
	pb.mu.Unlock()
	if st != peerUp {
		t.Fatalf("b not up: %v", st)
	}
	// Stamped with an id b gave an earlier session.
	env := b.envelope(&clusterpb.Envelope{Session: in - 1, Body: &clusterpb.Envelope_Goodbye{Goodbye: &clusterpb.Goodbye{}}})
	b.onGoodbye(pb, env, env.GetGoodbye())
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.state != peerUp || pb.in != in {
		t.Fatalf("b's open session %d ended by an earlier session's Goodbye (state %v, in %d)", in, pb.state, pb.in)
	}
}

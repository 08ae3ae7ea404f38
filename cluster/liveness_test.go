package cluster

import (
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestSlowLargeFrameKeepsSession: a peer whose large packet trickles in
// over a real socket, taking several heartbeat timeouts to arrive, is
// heard from while it arrives and keeps its session. Liveness used to be
// noted once per whole packet, so the session ended mid-frame.
func TestSlowLargeFrameKeepsSession(t *testing.T) {
	const bName, cName = "b@127.0.0.1:1", "c@127.0.0.1:2"
	cfg := defaultConfig()
	cfg.heartbeatInterval, cfg.heartbeatTimeout = 50*time.Millisecond, time.Second
	b, _ := handshakeTransportWith(t, bName, cName, cfg)
	b.wg.Add(1)
	go b.loop()
	pb := b.lookupPeer(cName)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	accepted, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b.acceptTCP(accepted)

	// c opens a session with b on the stream, then stamps a heartbeat
	// with it (which makes the stream the session's).
	from := &clusterpb.NodeID{Name: cName, Creation: 7}
	write := func(env *clusterpb.Envelope) {
		t.Helper()
		env.Version, env.From = protocolVersion, from
		pkt, err := envelopePacket(env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(frame(pkt)); err != nil {
			t.Fatal(err)
		}
	}
	write(&clusterpb.Envelope{Body: &clusterpb.Envelope_Hello{Hello: &clusterpb.Hello{Session: 55, To: bName}}})
	var session uint64
	testkit.Eventually(t, 10*time.Second, func() error {
		pb.mu.Lock()
		defer pb.mu.Unlock()
		if pb.state != peerUp {
			return errors.New("no session yet")
		}
		session = pb.in
		return nil
	})
	write(&clusterpb.Envelope{Session: session, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}})

	// A 1 MiB batch (one record of a field b skips) trickles in over
	// about 3 heartbeat timeouts, 16 KiB every 50 ms.
	rec := protowire.AppendTag(nil, 15, protowire.BytesType)
	rec = protowire.AppendBytes(rec, make([]byte, 1<<20))
	users := protowire.AppendBytes(nil, rec)
	pkt, err := usersPacket(session, users)
	if err != nil {
		t.Fatal(err)
	}
	wire := frame(pkt)
	before := b.received.Load()
	pace := time.NewTicker(50 * time.Millisecond)
	defer pace.Stop()
	for len(wire) > 0 {
		k := min(len(wire), 16<<10)
		if _, err := conn.Write(wire[:k]); err != nil {
			t.Fatal(err)
		}
		wire = wire[k:]
		<-pace.C
	}
	// The batch arrived (b counts its record) in the session it started in.
	testkit.Eventually(t, 10*time.Second, func() error {
		if b.received.Load() == before {
			return errors.New("the batch has not arrived yet")
		}
		return nil
	})
	pb.mu.Lock()
	state, in := pb.state, pb.in
	pb.mu.Unlock()
	if state != peerUp || in != session {
		t.Fatalf("after the slow frame: state %v, session %d; want up in session %d (the session ended while the frame arrived)", state, in, session)
	}
}

func TestHelloMillis(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want uint32
	}{
		{500 * time.Millisecond, 500},
		{time.Microsecond, 1},
		{1500 * time.Microsecond, 2},
		{time.Duration(1<<63 - 1), 1<<32 - 1},
	} {
		if got := helloMillis(tt.d); got != tt.want {
			t.Errorf("helloMillis(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

package cluster

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"testing/iotest"
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
	b.acceptTCP(accepted, 0)

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
	wire := frame(usersPacket(session, users))
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

// TestFrameReaderNotesProgress: a frame that takes several reads to
// arrive notes its stream's peer as heard from, but only while the
// session the stream carries is open.
func TestFrameReaderNotesProgress(t *testing.T) {
	for _, tt := range []struct {
		name       string
		open, says uint64 // the peer's open session, and the stream's
		wire       []byte
		want       bool
	}{
		{"open session, a frame in parts", 5, 5, frame(make([]byte, 100)), true},
		{"another session is open", 6, 5, frame(make([]byte, 100)), false},
		{"no session open", 0, 5, frame(make([]byte, 100)), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &peer{}
			p.open.Store(tt.open)
			f := &frameReader{r: bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(tt.wire)), 16)}
			f.carries(p, tt.says)
			var b []byte
			if err := f.RecvMsg(&b); err != nil || len(b) != 100 {
				t.Fatalf("read %d bytes, %v", len(b), err)
			}
			if got := p.lastSeen.Load() != 0; got != tt.want {
				t.Fatalf("peer heard from: %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzFrameReader feeds arbitrary bytes, in reads of arbitrary sizes, to
// an accepted stream's frame reader while it notes progress for an open
// session: it returns the frames the bytes hold, in order, then the end
// (io.EOF), a broken stream or ErrMalformed, and never panics.
func FuzzFrameReader(f *testing.F) {
	f.Add(bytes.Join([][]byte{frame([]byte("a")), frame(make([]byte, 300)), {0, 0, 0, 0}}, nil), uint8(1))
	f.Add(frame(make([]byte, 50))[:20], uint8(7))
	f.Add(binary.BigEndian.AppendUint32(nil, maxPacketBytes+1), uint8(3))
	f.Fuzz(func(t *testing.T, wire []byte, chunk uint8) {
		p := &peer{}
		p.open.Store(1)
		fr := &frameReader{r: bufio.NewReaderSize(&chunkReader{b: wire, n: int(chunk%32) + 1}, 16)}
		fr.carries(p, 1)
		rest := wire
		for {
			var b []byte
			err := fr.RecvMsg(&b)
			// What the frames of wire say comes next.
			var want error
			var next []byte
			switch {
			case len(rest) < 4:
				want = errStreamBroken
			case binary.BigEndian.Uint32(rest) == 0:
				want = io.EOF
			case binary.BigEndian.Uint32(rest) > maxPacketBytes:
				want = ErrMalformed
			case uint64(len(rest)-4) < uint64(binary.BigEndian.Uint32(rest)):
				want = errStreamBroken
			default:
				n := binary.BigEndian.Uint32(rest)
				next, rest = rest[4:4+n], rest[4+n:]
			}
			if want != nil {
				if !errors.Is(err, want) {
					t.Fatalf("got %v, want %v", err, want)
				}
				return
			}
			if err != nil || !bytes.Equal(b, next) {
				t.Fatalf("got a %d-byte frame, %v; want the %d-byte frame", len(b), err, len(next))
			}
		}
	})
}

// chunkReader reads b at most n bytes at a time.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

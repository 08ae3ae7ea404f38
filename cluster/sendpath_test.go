package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// handEncoded is a message that writes its own encoding, as package
// registry's ScopeMessage does; extra bytes make it lie about its size.
type handEncoded struct {
	*wrapperspb.BytesValue
	extra int
}

func (m handEncoded) ArborPayloadSize() (int, bool) { return proto.Size(m.BytesValue), true }

func (m handEncoded) AppendArborPayload(b []byte) []byte {
	b, _ = proto.MarshalOptions{}.MarshalAppend(b, m.BytesValue)
	return append(b, make([]byte, m.extra)...)
}

// TestUserMessageMatchesGenerated: a record as makeUserMessage sizes it
// and append writes it is a UserMessage the generated code reads back
// field for field, of the size found beforehand.
func TestUserMessageMatchesGenerated(t *testing.T) {
	pid := rt.NewPID("x@127.0.0.1:9", 7, 300, 1<<20)
	for _, to := range []actor.PID{{}, pid} {
		for _, name := range []string{"", "a name"} {
			for _, cast := range []bool{false, true} {
				for _, trace := range [][2]string{{}, {"00-parent-01", ""}, {"00-parent-01", "k=v"}} {
					for _, msg := range []proto.Message{wrapperspb.String("x"), handEncoded{BytesValue: wrapperspb.Bytes(bytes.Repeat([]byte("b"), 300))}} {
						u := makeUserMessage(to, name, msg, cast, trace[0], trace[1])
						rec, err := u.append([]byte("prefix"))
						if err != nil {
							t.Fatal(err)
						}
						if string(rec[:6]) != "prefix" || len(rec)-6 != u.size {
							t.Fatalf("%d bytes appended after %q, sized as %d", len(rec)-6, rec[:6], u.size)
						}
						var um clusterpb.UserMessage
						if err := proto.Unmarshal(rec[6:], &um); err != nil {
							t.Fatal(err)
						}
						payload, _ := proto.Marshal(msg)
						i, s := to.ID()
						want := &clusterpb.UserMessage{ToCreation: to.Creation(), ToIndex: i, ToSerial: s, ToName: name,
							Type: string(msg.ProtoReflect().Descriptor().FullName()), Payload: payload, Cast: cast,
							TraceParent: trace[0], TraceState: trace[1]}
						if !proto.Equal(&um, want) {
							t.Fatalf("decoded as %v, want %v", &um, want)
						}
					}
				}
			}
		}
	}
}

// discardConn is a connection that takes every write.
type discardConn struct {
	net.Conn
	n int
}

func (c *discardConn) Write(b []byte) (int, error) {
	c.n += len(b)
	return len(b), nil
}

// openPeer returns a transport with an open session to a peer whose TCP
// stream writes to w, and that peer.
func openPeer(t *testing.T, w net.Conn) (*transport, *peer, *peerConn) {
	t.Helper()
	tr := &transport{selfName: "self@127.0.0.1:1", peers: map[string]*peer{}, cfg: config{maxPending: DefaultMaxPending}}
	c := newPeerConn(&tcpStream{conn: w}, func() {})
	p := &peer{t: tr, name: "x@127.0.0.1:9", conn: c}
	p.state = peerUp
	tr.peers[p.name] = p
	return tr, p, c
}

// TestRemoteSendAllocatesNothing: a user message to a peer with an open
// session goes from Send to the socket without an allocation of its own:
// it is encoded straight into the users buffer, and the writer encodes
// the UserBatch straight into its TCP frame (it used to allocate the
// record, then the batch's packet, and copy the message into each).
func TestRemoteSendAllocatesNothing(t *testing.T) {
	w := &discardConn{}
	tr, p, c := openPeer(t, w)
	to := rt.NewPID(p.name, 1, 2, 3)
	msgs := []proto.Message{wrapperspb.Int64(1), handEncoded{BytesValue: wrapperspb.Bytes(make([]byte, 500))}}
	send := func() {
		for _, m := range msgs {
			for range 8 {
				if err := tr.Send(actor.PID{}, to, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		p.drain(c, false)
	}
	send() // the buffers grow once
	send()
	if allocs := testing.AllocsPerRun(100, send); allocs != 0 {
		t.Errorf("%v allocations per 16 sends and their write, want 0", allocs)
	}
	if w.n == 0 {
		t.Fatal("nothing written")
	}
}

// TestRemoteSendThatFailsToEncodeLeavesTheBatch: a message that fails to
// encode half way into the users buffer (invalid UTF-8 in a string, a
// hand encoding of another size than it said) fails its send and leaves
// the messages before and after it whole.
func TestRemoteSendThatFailsToEncodeLeavesTheBatch(t *testing.T) {
	s := &recordingStream{}
	tr, p, _ := openPeer(t, nil)
	c := newPeerConn(s, func() {})
	p.conn = c
	to := rt.NewPID(p.name, 1, 2, 3)
	for i, m := range []proto.Message{
		wrapperspb.Int64(1),
		wrapperspb.String("bad \xff utf-8"),
		wrapperspb.Int64(2),
		handEncoded{BytesValue: wrapperspb.Bytes([]byte("lies")), extra: 3},
		wrapperspb.Int64(3),
	} {
		err := tr.Send(actor.PID{}, to, m)
		if bad := i%2 == 1; bad != (err != nil) {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	p.drain(c, false)
	recs := s.records(t)
	if len(recs) != 3 {
		t.Fatalf("%d records sent, want 3", len(recs))
	}
	for i, rec := range recs {
		f, err := parseUserMessage(rec)
		if err != nil {
			t.Fatal(err)
		}
		var v wrapperspb.Int64Value
		if err := proto.Unmarshal(f.payload, &v); err != nil || v.Value != int64(i+1) {
			t.Fatalf("record %d: %v, %v", i, &v, err)
		}
	}
}

// TestRemoteSendTooLarge: a message over MaxMessageBytes with its address
// fails with ErrTooLarge and queues nothing.
func TestRemoteSendTooLarge(t *testing.T) {
	tr, p, _ := openPeer(t, &discardConn{})
	to := rt.NewPID(p.name, 1, 2, 3)
	err := tr.Send(actor.PID{}, to, wrapperspb.Bytes(make([]byte, MaxMessageBytes-4)))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if len(p.users) != 0 || p.userCount != 0 {
		t.Fatalf("%d bytes queued", len(p.users))
	}
	// One just under the bound goes, alone in its batch.
	big := wrapperspb.Bytes(make([]byte, MaxMessageBytes-64))
	if err := tr.Send(actor.PID{}, to, big); err != nil {
		t.Fatal(err)
	}
	if rec, n := protowire.ConsumeBytes(p.users); n != len(p.users) || len(rec) > MaxMessageBytes {
		t.Fatalf("queued %d bytes, a record of %d", len(p.users), len(rec))
	}
}

// bufferConn is a connection that keeps what is written to it.
type bufferConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *bufferConn) Write(b []byte) (int, error) { return c.buf.Write(b) }

// TestEnvelopeFramedInPlace: the writer encodes an envelope straight into
// its TCP frame, with no packet of its own: no allocation per envelope
// (it used to marshal each into a new slice and copy that into the
// frame); one that does not encode is dropped whole, and the frames
// around it read back as they were sent.
func TestEnvelopeFramedInPlace(t *testing.T) {
	from := &clusterpb.NodeID{Name: "self@127.0.0.1:1", Creation: 1}
	hb := &clusterpb.Envelope{Version: protocolVersion, From: from, Session: 7, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}
	c := newPeerConn(&tcpStream{conn: &discardConn{}}, func() {})
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.sendEnvelope(hb, false); err != nil {
			t.Fatal(err)
		}
		if _, err := c.flush(false); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("%v allocations per envelope written, want 0", allocs)
	}

	w := &bufferConn{}
	c = newPeerConn(&tcpStream{conn: w}, func() {})
	bad := &clusterpb.Envelope{Version: protocolVersion, From: from, Body: &clusterpb.Envelope_Hello{Hello: &clusterpb.Hello{To: "bad \xff utf-8"}}}
	for i, env := range []*clusterpb.Envelope{hb, bad, hb} {
		n, err := c.sendEnvelope(env, false)
		if (i == 1) != errors.Is(err, errEncode) {
			t.Fatalf("envelope %d: %v", i, err)
		}
		if want, _ := envelopePacket(env); err == nil && n != len(want) {
			t.Fatalf("envelope %d: a %d-byte packet, want %d", i, n, len(want))
		}
	}
	if _, err := c.flush(false); err != nil {
		t.Fatal(err)
	}
	f := &frameReader{r: bufio.NewReader(&w.buf)}
	want, _ := envelopePacket(hb)
	for i := range 2 {
		var b []byte
		if err := f.RecvMsg(&b); err != nil || !bytes.Equal(b, want) {
			t.Fatalf("frame %d: %x, %v; want %x", i, b, err, want)
		}
	}
	if w.buf.Len() != 0 {
		t.Fatalf("%d bytes after the two frames", w.buf.Len())
	}
}

// TestWriterKeepsALaggingBurstsBuffer: a users buffer of a few hundred
// KiB (a writer that fell behind its senders under load) is kept for
// reuse once sent, so the next such burst does not grow a new one from
// nothing; one over maxSpareBytes is not.
func TestWriterKeepsALaggingBurstsBuffer(t *testing.T) {
	tr, p, c := openPeer(t, &discardConn{})
	to := rt.NewPID(p.name, 1, 2, 3)
	msg := wrapperspb.Bytes(make([]byte, 1000))
	burst := func(bytes int) {
		for sent := 0; sent < bytes; sent += 1000 {
			if err := tr.Send(actor.PID{}, to, msg); err != nil {
				t.Fatal(err)
			}
		}
		p.drain(c, false)
	}
	burst(230 << 10)
	if cap(p.spare) < 230<<10 && cap(p.users) < 230<<10 {
		t.Fatalf("a 230 KiB burst's buffer was dropped (spare %d, users %d bytes)", cap(p.spare), cap(p.users))
	}
	p.spare, p.users = nil, nil
	burst(maxSpareBytes + 64<<10)
	if cap(p.spare) > maxSpareBytes || cap(p.users) > maxSpareBytes {
		t.Fatalf("a buffer over maxSpareBytes was kept (spare %d, users %d bytes)", cap(p.spare), cap(p.users))
	}
}

package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// poolFrame is a frame of a call connection: the head and the packet.
func poolFrame(t testing.TB, stream, fence uint64, env *clusterpb.Envelope) []byte {
	t.Helper()
	pkt, err := envelopePacket(env)
	if err != nil {
		t.Fatal(err)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(poolFrameHead+len(pkt)))
	b = binary.BigEndian.AppendUint64(b, stream)
	b = binary.BigEndian.AppendUint64(b, fence)
	return append(b, pkt...)
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (dialed, accepted net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialed, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dialed.Close() })
	return dialed, accepted
}

// TestPooledRequestWaitsForItsFence: a request on a call connection that
// is fenced behind a packet its caller put on the session's stream is
// delivered only after that packet, even when it arrives first. Without
// the fence, the call would overtake a message sent before it.
func TestPooledRequestWaitsForItsFence(t *testing.T) {
	const bName, cName = "b@127.0.0.1:1", "c@127.0.0.1:2"
	const streamID = 77
	b, _ := handshakeTransportWith(t, bName, cName, defaultConfig())
	pb := b.lookupPeer(cName)

	// A process of b's that counts messages and answers calls with the count.
	var n int64
	_, err := b.node.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		switch x := msg.(type) {
		case *wrapperspb.Int64Value:
			n++
		case *actor.Request:
			x.Reply(wrapperspb.Int64(n))
		}
		return nil
	}), actor.WithName("counter"))
	if err != nil {
		t.Fatal(err)
	}

	// c's stream to b, with its id, opens the session (packet 1).
	stream, accepted := tcpPair(t)
	b.acceptTCP(accepted, streamID)
	from := &clusterpb.NodeID{Name: cName, Creation: 7}
	write := func(conn net.Conn, b []byte) {
		t.Helper()
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	envelope := func(env *clusterpb.Envelope) *clusterpb.Envelope {
		env.Version, env.From = protocolVersion, from
		return env
	}
	packet := func(env *clusterpb.Envelope) []byte {
		pkt, err := envelopePacket(envelope(env))
		if err != nil {
			t.Fatal(err)
		}
		return frame(pkt)
	}
	write(stream, packet(&clusterpb.Envelope{Body: &clusterpb.Envelope_Hello{Hello: &clusterpb.Hello{Session: 55, To: bName}}}))
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

	// The call, fenced behind packet 2 of the stream, arrives first.
	pool, acceptedPool := tcpPair(t)
	b.acceptPool(acceptedPool)
	payload, err := anypb.New(wrapperspb.Int64(0))
	if err != nil {
		t.Fatal(err)
	}
	write(pool, poolFrame(t, streamID, 2, envelope(&clusterpb.Envelope{Session: session, Body: &clusterpb.Envelope_CallRequest{
		CallRequest: &clusterpb.CallRequest{CallId: 1, ToName: "counter", Payload: payload, TimeoutMs: 30000},
	}})))
	testkit.Eventually(t, 10*time.Second, func() error {
		if !b.fenceOf(streamID).waiting.Load() {
			return errors.New("the request is not waiting for its fence")
		}
		return nil
	})
	// Packet 2: the message sent before the call.
	msg, err := anypb.New(wrapperspb.Int64(5))
	if err != nil {
		t.Fatal(err)
	}
	write(stream, packet(&clusterpb.Envelope{Session: session, Body: &clusterpb.Envelope_Message{
		Message: &clusterpb.Message{ToName: "counter", Payload: msg},
	}}))

	_ = pool.SetReadDeadline(time.Now().Add(30 * time.Second))
	var buf []byte
	f, err := readPoolFrame(bufio.NewReader(pool), &buf, poolFrameHead+maxPacketBytes)
	if err != nil {
		t.Fatal(err)
	}
	_, _, pkt, err := parsePoolFrame(f)
	if err != nil {
		t.Fatal(err)
	}
	res := replyResult(pkt.GetEnvelope().GetCallReply())
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := res.value.(*wrapperspb.Int64Value).Value; got != 1 {
		t.Fatalf("the call saw %d messages, want the 1 sent before it", got)
	}
}

// TestStreamFence: a fence releases its waiters at their count, in any
// order of the count and the wait, and fails them when its stream ends
// or their time passes.
func TestStreamFence(t *testing.T) {
	results := make(chan string, 8)
	wait := func(f *streamFence, at uint64, name string, d time.Duration) {
		f.await(at, d, func(ok bool) {
			if ok {
				results <- name
			} else {
				results <- name + " failed"
			}
		}, func() {})
	}
	next := func() string {
		t.Helper()
		select {
		case r := <-results:
			return r
		case <-time.After(30 * time.Second):
			t.Fatal("no waiter ran")
			return ""
		}
	}
	f := &streamFence{}
	f.note()
	wait(f, 1, "reached", time.Hour) // already reached: runs at once
	if got := next(); got != "reached" {
		t.Fatal(got)
	}
	wait(f, 3, "three", time.Hour)
	wait(f, 2, "two", time.Hour)
	f.note()
	if got := next(); got != "two" {
		t.Fatal(got)
	}
	f.note()
	if got := next(); got != "three" {
		t.Fatal(got)
	}
	wait(f, 10, "ended", time.Hour)
	f.end()
	if got := next(); got != "ended failed" {
		t.Fatal(got)
	}
	wait(f, 10, "after the end", time.Hour)
	if got := next(); got != "after the end failed" {
		t.Fatal(got)
	}
	g := &streamFence{}
	wait(g, 1, "expired", time.Millisecond)
	if got := next(); got != "expired failed" {
		t.Fatal(got)
	}
	g.note() // the expired waiter does not run again
	select {
	case r := <-results:
		t.Fatalf("%q ran again", r)
	default:
	}
}

// TestAwaitFence: a pooled call's reply waits for the caller's reader of
// the callee's stream to reach its fence, at most until the deadline, and
// fails with NoConnection when that stream ends first.
func TestAwaitFence(t *testing.T) {
	tr := bareTransport(t)
	ctx := context.Background()
	if err := tr.awaitFence(ctx, 5, 0, time.Now()); err != nil {
		t.Fatalf("no fence: %v", err)
	}
	f := tr.readFence(5)
	done := make(chan error, 1)
	go func() { done <- tr.awaitFence(ctx, 5, 2, time.Now().Add(time.Hour)) }()
	f.note()
	f.note()
	if err := <-done; err != nil {
		t.Fatalf("fence reached: %v", err)
	}
	if err := tr.awaitFence(ctx, 5, 3, time.Now().Add(10*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past the deadline: %v", err)
	}
	go func() { done <- tr.awaitFence(ctx, 5, 9, time.Now().Add(time.Hour)) }()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !f.waiting.Load() {
			return errors.New("not waiting yet")
		}
		return nil
	})
	tr.endFence(5, f)
	if err := <-done; !errors.Is(err, actor.NoConnection) {
		t.Fatalf("stream ended: %v", err)
	}
	// A fence made for a stream that never came is forgotten.
	if err := tr.awaitFence(ctx, 6, 1, time.Now().Add(time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if _, ok := tr.fences.Load(uint64(6)); ok {
			return errors.New("the fence of stream 6 is kept")
		}
		return nil
	})
}

// bareTransport is a transport of a node with no session and no network.
func bareTransport(t testing.TB) *transport {
	n := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	return newTransport(n, defaultConfig(), zerolog.New(io.Discard))
}

// fakeConn is a net.Conn that reads r and discards what is written.
type fakeConn struct {
	net.Conn
	r io.Reader
}

func (c *fakeConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *fakeConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *fakeConn) Close() error                     { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }

// FuzzCallConnection feeds arbitrary bytes, in reads of arbitrary sizes,
// to both ends of a call connection: the callee's request reader, which
// must end with an error (or at the end of the bytes) and deliver
// nothing, as no session is open; and the caller's reply reader, which
// must give a reply or an error. Neither may panic or hang.
func FuzzCallConnection(f *testing.F) {
	req := &clusterpb.Envelope{Version: protocolVersion, From: &clusterpb.NodeID{Name: "c@h:1"}, Session: 9,
		Body: &clusterpb.Envelope_CallRequest{CallRequest: &clusterpb.CallRequest{CallId: 1, ToName: "x"}}}
	rep := &clusterpb.Envelope{Version: protocolVersion, From: &clusterpb.NodeID{Name: "c@h:1"}, Session: 9,
		Body: &clusterpb.Envelope_CallReply{CallReply: &clusterpb.CallReply{CallId: 1}}}
	f.Add(poolFrame(f, 1, 2, req), uint8(3))
	f.Add(poolFrame(f, 1, 0, rep), uint8(1))
	f.Add(binary.BigEndian.AppendUint32(nil, poolFrameHead), uint8(7))
	f.Add(binary.BigEndian.AppendUint32(nil, poolFrameHead+maxPacketBytes+1), uint8(2))
	tr := bareTransport(f)
	f.Fuzz(func(t *testing.T, wire []byte, chunk uint8) {
		conn := &fakeConn{r: &chunkReader{b: wire, n: int(chunk%32) + 1}}
		s := &poolServer{t: tr, conn: conn}
		err := s.serve()
		if err == nil {
			t.Fatal("serve ended with no error")
		}
		if s.p != nil {
			t.Fatal("bound to a session with none open")
		}
		pc := &poolConn{t: tr, conn: conn, r: bufio.NewReaderSize(&chunkReader{b: wire, n: int(chunk%32) + 1}, 16)}
		res, _, _, err := pc.readReply(1, 9)
		if err == nil && res.err == nil && res.value == nil {
			t.Fatal("a reply with neither a value nor an error")
		}
		if err == nil {
			// What it read is the reply to call 1 of session 9.
			b := wire[4+poolFrameHead : 4+binary.BigEndian.Uint32(wire)]
			var pkt clusterpb.Packet
			if proto.Unmarshal(b, &pkt) != nil || pkt.GetEnvelope().GetCallReply().GetCallId() != 1 {
				t.Fatalf("readReply took %x for the reply to call 1", b)
			}
		}
	})
}

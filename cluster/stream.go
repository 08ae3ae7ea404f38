package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// Arbor's own gRPC stream (ADR 0003). Each node serves it on protoactor
// remote's gRPC server through an unknown-service handler, and opens one
// stream to every peer it sends to. Packets travel as their encoded bytes:
// the receiver decodes them itself, so a malformed packet is dropped on
// its own instead of ending the stream.

// streamMethod is the full gRPC method name of Peer.Stream in arbor.proto.
const streamMethod = "/arbor.cluster.v1.Peer/Stream"

// maxPacketBytes is the largest packet a node accepts: gRPC's default
// receive limit, which protoactor's server keeps.
const maxPacketBytes = 4 << 20

// MaxMessageBytes bounds the encoded size of one message to or from
// another node (a user message, a call's request or its reply): larger
// ones fail with ErrTooLarge on the sender. It leaves room under the 4 MiB
// packet limit for the envelope around the message.
const MaxMessageBytes = maxPacketBytes - 64<<10

// streamWindow is the HTTP/2 flow-control window of Arbor's connections,
// in both directions. Setting it turns off gRPC's bandwidth estimation,
// whose pings cost a round of syscalls per packet received.
const streamWindow = 1 << 20

// packetCodecName is the gRPC content subtype of Peer.Stream.
const packetCodecName = "arbor-packet"

// packetCodec hands packets to gRPC and back as bytes.
type packetCodec struct{}

func init() { encoding.RegisterCodec(packetCodec{}) }

func (packetCodec) Name() string { return packetCodecName }

func (packetCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("arbor-packet codec: cannot marshal %T", v)
	}
	return *b, nil
}

func (packetCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("arbor-packet codec: cannot unmarshal into %T", v)
	}
	// gRPC gives each message its own buffer unless a receive buffer pool
	// is configured, which neither Arbor nor protoactor does; the packet
	// is decoded before the next one is read in any case. This holds for
	// the pinned gRPC (v1.60); from v1.66 gRPC recycles data once
	// Unmarshal returns, and the packet, whose user messages are read
	// where they lie (parseUsersPacket), must then be copied here.
	*b = data
	return nil
}

// decodePacket parses a packet as it arrives from a peer. It returns an
// error wrapping ErrMalformed for bytes that are not a packet with a body.
func decodePacket(b []byte) (*clusterpb.Packet, error) {
	pkt := &clusterpb.Packet{}
	if err := proto.Unmarshal(b, pkt); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if pkt.GetBody() == nil {
		return nil, fmt.Errorf("%w: empty packet", ErrMalformed)
	}
	return pkt, nil
}

// handlePacket acts on one packet from a peer. It returns the peer and
// this node's id of the open session the packet was stamped with, which
// it checked; session is 0 for a packet that carries no session of this
// node's (a Hello, HelloRefused or SessionClosed) or that was dropped.
func (t *transport) handlePacket(b []byte) (p *peer, session uint64) {
	// A call's request or reply of an open session is decoded by hand
	// (hotwire.go); everything else, and anything of it to drop, by the
	// generated decoder.
	var f hotFields
	if parseHotPacket(b, &f) {
		if p, ok := t.handleHot(&f); ok {
			return p, f.session
		}
	}
	// A batch of user messages, read by hand: its messages alias b, where
	// the generated decoder copied them out of it.
	if u, ok := parseUsersPacket(b); ok {
		return t.handleUsers(u.version, u.session, u.messages)
	}
	pkt, err := decodePacket(b)
	if err != nil {
		t.received.Add(1)
		t.drop(nil, err)
		return nil, 0
	}
	switch x := pkt.GetBody().(type) {
	case *clusterpb.Packet_Envelope:
		return t.handle(x.Envelope)
	case *clusterpb.Packet_Users:
		return t.handleUserBatch(x.Users)
	}
	return nil, 0
}

// envelopePacket encodes an envelope as a packet.
func envelopePacket(env *clusterpb.Envelope) ([]byte, error) {
	return proto.Marshal(&clusterpb.Packet{Body: &clusterpb.Packet_Envelope{Envelope: env}})
}

// usersPacketSize is the size of the UserBatch packet of session that
// carries users bytes of length-prefixed user messages.
func usersPacketSize(session uint64, users int) int {
	n := usersBatchSize(session, users)
	return 1 + protowire.SizeVarint(uint64(n)) + n
}

// usersBatchSize is the size of the UserBatch inside that packet.
func usersBatchSize(session uint64, users int) int {
	n := 1 + protowire.SizeVarint(uint64(protocolVersion)) // not zero
	if session != 0 {
		n += 1 + protowire.SizeVarint(session)
	}
	if users > 0 {
		n += 1 + protowire.SizeBytes(users)
	}
	return n
}

// appendUsersPacket appends length-prefixed user messages, as a UserBatch
// packet of session, to b. It writes what proto.Marshal writes for the
// Packet (TestUsersPacketMatchesGenerated), without its reflection, and
// usersPacketSize bytes.
func appendUsersPacket(b []byte, session uint64, users []byte) []byte {
	b = protowire.AppendTag(b, 2, protowire.BytesType) // Packet.users
	b = protowire.AppendVarint(b, uint64(usersBatchSize(session, len(users))))
	b = protowire.AppendTag(b, 1, protowire.VarintType) // UserBatch.version
	b = protowire.AppendVarint(b, uint64(protocolVersion))
	if session != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType) // UserBatch.session
		b = protowire.AppendVarint(b, session)
	}
	if len(users) > 0 {
		b = protowire.AppendTag(b, 3, protowire.BytesType) // UserBatch.messages
		b = protowire.AppendBytes(b, users)
	}
	return b
}

// usersFields is a UserBatch packet decoded by hand (parseUsersPacket);
// messages aliases the packet.
type usersFields struct {
	version  uint32
	session  uint64
	messages []byte
}

// parseUsersPacket decodes a UserBatch packet in the shape
// appendUsersPacket writes: the Packet's users field alone, holding each
// of the batch's fields at most once with its wire type (in any order)
// and nothing else. It reports false for any other packet, which the
// generated decoder then reads (and drops if it is malformed), so that
// what a node does with a packet is the same either way
// (TestUsersPacketDecodeMatchesGenerated, FuzzUsersPacket). Unlike the
// generated decoder it copies nothing: messages is valid only as long
// as b is, which a stream's reader reuses for its next packet, so
// nothing may keep it past the packet's handling (every payload is
// decoded into values of its own before handleUsers returns).
func parseUsersPacket(b []byte) (usersFields, bool) {
	var u usersFields
	batch, ok := soleBytesField(b, 2) // Packet.users
	if !ok {
		return u, false
	}
	for r := (fieldReader{b: batch}); r.more(); {
		num, typ, v, raw, ok := r.next()
		switch {
		case ok && num == 1 && typ == protowire.VarintType: // version
			u.version = uint32(v)
		case ok && num == 2 && typ == protowire.VarintType: // session
			u.session = v
		case ok && num == 3 && typ == protowire.BytesType: // messages
			u.messages = raw
		default:
			return u, false
		}
	}
	return u, true
}

// usersPacket encodes length-prefixed user messages as a UserBatch packet
// of its own (for a stream that is not an Arbor TCP stream).
func usersPacket(session uint64, users []byte) []byte {
	return appendUsersPacket(make([]byte, 0, usersPacketSize(session, len(users))), session, users)
}

// serve is the gRPC handler of every stream protoactor's server does not
// know: it serves Peer.Stream and refuses the rest. It returns when the
// peer ends the stream or the node stops (gRPC's graceful stop waits for
// handlers), which is why the packets are read on a goroutine of their own.
func (t *transport) serve(_ any, ss grpc.ServerStream) error {
	if m, _ := grpc.MethodFromServerStream(ss); m != streamMethod {
		return status.Errorf(codes.Unimplemented, "unknown method %s", m)
	}
	if !t.track() {
		return status.Error(codes.Unavailable, "node stopping")
	}
	done := make(chan error, 1)
	go func() {
		defer t.conns.Done()
		done <- t.receive(ss)
	}()
	select {
	case err := <-done:
		return err
	case <-t.life.Done():
		return status.Error(codes.Unavailable, "node stopping")
	}
}

// receive reads the packets of one stream from a peer until it ends. A
// stream that breaks, rather than ending cleanly, ends the session whose
// stamped packets it carried last, if that session is still open: the
// peer died or the connection was cut. A packet that carries no session
// of this node's (a late Hello on an old stream) does not make the stream
// the open session's.
func (t *transport) receive(ss packetReader) error { return t.receiveTracking(ss, nil) }

// receiveTracking is receive, storing in current (unless nil) the id of
// the session the stream carried last.
func (t *transport) receiveTracking(ss packetReader, current *atomic.Uint64) error {
	var (
		last    *peer
		session uint64
	)
	progress, _ := ss.(progressReader)
	fenced, _ := ss.(*frameReader)
	var b []byte // one for the stream: RecvMsg takes it as an any
	for {
		b = nil
		err := ss.RecvMsg(&b)
		if err != nil {
			if err == io.EOF {
				return nil
			}
			if last != nil && last.open.Load() == session {
				last.streamLost(session)
			}
			return err
		}
		p, s := t.handlePacket(b)
		if fenced != nil {
			fenced.handled()
		}
		if p != nil {
			p.bytesIn.Add(uint64(len(b)))
		}
		if s != 0 && s != session {
			last, session = p, s
			if current != nil {
				current.Store(s)
			}
			if progress != nil {
				progress.carries(p, s)
			}
		}
	}
}

// progressReader is a stream whose reader sees a packet arrive in parts
// (frameReader): told which session the stream carries, it counts each
// part as hearing from the peer, so that a large packet on a slow link
// does not pass for silence.
type progressReader interface {
	carries(p *peer, session uint64)
}

// track counts a goroutine of a connection, unless the transport stopped.
func (t *transport) track() bool { return t.trackN(1) }

// trackN counts n goroutines of a connection, unless the transport
// stopped.
func (t *transport) trackN(n int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.conns.Add(n)
	return true
}

// clientStream is the part of grpc.ClientStream a peerConn uses.
type clientStream interface {
	SendMsg(m any) error
	RecvMsg(m any) error
	CloseSend() error
}

// peerConn is a node's stream to one peer, with the peer's writer
// goroutine, which lives as long as the stream. Only one goroutine sends
// on it at a time (sendMu): the writer, a sender draining the queues
// inline (peer.drain), or finish.
type peerConn struct {
	stream clientStream
	tcp    *tcpStream    // stream, when it is an Arbor TCP stream (tcp.go); nil otherwise
	end    func()        // cancels the stream and closes its connection
	ended  chan struct{} // closed when the stream's reader sees it end
	kick   chan struct{} // wakes the writer
	done   chan struct{} // closed by close
	once   sync.Once

	sendMu sync.Mutex
	// The Packet around the envelope sendEnvelope writes (under sendMu).
	pkt  clusterpb.Packet
	body clusterpb.Packet_Envelope
}

func newPeerConn(stream clientStream, end func()) *peerConn {
	c := &peerConn{stream: stream, end: end, ended: make(chan struct{}), kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.tcp, _ = stream.(*tcpStream)
	return c
}

// canInline reports whether senders may write on the stream themselves:
// only a TCP stream can be written without blocking.
func (c *peerConn) canInline() bool { return c.tcp != nil }

// sendUsers writes length-prefixed user messages as one UserBatch packet
// of session. On a gRPC stream it blocks only while gRPC's flow control
// holds it back, until the stream ends. On a TCP stream it encodes the
// packet straight into its frame, gathered for flush, writing what was
// gathered first once that is tcpFlushBytes (unless inline: an inline
// send never blocks). It returns the packet's size.
func (c *peerConn) sendUsers(session uint64, users []byte, inline bool) (int, error) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.tcp != nil {
		n := usersPacketSize(session, len(users))
		c.tcp.out = binary.BigEndian.AppendUint32(c.tcp.out, uint32(n))
		c.tcp.out = appendUsersPacket(c.tcp.out, session, users)
		return c.framed(n, inline)
	}
	pkt := usersPacket(session, users)
	return len(pkt), c.stream.SendMsg(&pkt)
}

// sendEnvelope writes an envelope as one packet, as sendUsers writes a
// UserBatch; on a TCP stream the packet is encoded straight into its frame, around
// the stream's own Packet. It returns the packet's size, and an error
// wrapping errEncode for an envelope that does not encode (nothing of it
// is written).
func (c *peerConn) sendEnvelope(env *clusterpb.Envelope, inline bool) (int, error) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.tcp == nil {
		pkt, err := envelopePacket(env)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", errEncode, err)
		}
		return len(pkt), c.stream.SendMsg(&pkt)
	}
	if n, sizes, ok := sizeHotEnvelope(env); ok {
		// A call's request or reply, encoded by hand (hotwire.go).
		c.tcp.out = binary.BigEndian.AppendUint32(c.tcp.out, uint32(n))
		c.tcp.out = appendHotEnvelope(c.tcp.out, env, sizes)
		return c.framed(n, inline)
	}
	c.body.Envelope = env
	c.pkt.Body = &c.body
	defer func() { c.body.Envelope = nil }()
	n := proto.Size(&c.pkt)
	out := binary.BigEndian.AppendUint32(c.tcp.out, uint32(n))
	out, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(out, &c.pkt)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errEncode, err)
	}
	c.tcp.out = out
	return c.framed(n, inline)
}

// framed counts the frame of n bytes just added to the TCP stream's
// buffer, and writes the buffer out if it is full (unless inline, whose
// caller flushes); it returns n and the write's error.
func (c *peerConn) framed(n int, inline bool) (int, error) {
	c.tcp.frames.Add(1)
	if !inline && len(c.tcp.out) >= tcpFlushBytes {
		return n, c.tcp.flush()
	}
	return n, nil
}

// errEncode marks sendEnvelope's error for an envelope that does not
// encode, which is dropped, from one of the stream's.
var errEncode = errors.New("encode envelope")

// flush writes what sendUsers and sendEnvelope gathered on a TCP stream
// (nothing is gathered on others). The writer blocks until it is written; an inline flush writes
// what the socket takes at once, and reports whether all of it went.
func (c *peerConn) flush(inline bool) (bool, error) {
	if c.tcp == nil {
		return true, nil
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if inline {
		return c.tcp.tryFlush()
	}
	return true, c.tcp.flush()
}

// close ends the stream at once, and its writer.
func (c *peerConn) close() {
	c.once.Do(func() {
		close(c.done)
		c.end()
	})
}

// finish sends a last packet, half-closes the stream so that the peer
// reads everything sent on it, and closes the connection once the peer
// ended the stream, after the heartbeat timeout, or when the transport
// stops. The stream is closed at that deadline even while finish, or the
// writer, is still blocked writing to it (a peer that stopped reading
// holds them in flow control): that unblocks them, so that stopping the
// node never waits for the peer.
func (c *peerConn) finish(t *transport, last []byte) {
	if !t.track() {
		c.close()
		return
	}
	go func() {
		defer t.conns.Done()
		ctx, cancel := context.WithTimeout(t.life, t.cfg.heartbeatTimeout)
		defer cancel()
		stop := context.AfterFunc(ctx, c.close)
		defer stop()
		c.sendMu.Lock()
		err := c.stream.SendMsg(&last)
		if err == nil {
			err = c.stream.CloseSend()
		}
		c.sendMu.Unlock()
		if err == nil {
			select {
			case <-c.ended:
			case <-ctx.Done():
			}
		}
		c.close()
	}()
}

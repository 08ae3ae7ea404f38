package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Arbor's framed TCP streams (ADR 0008). A node opens its stream to a
// peer as a plain TCP connection to the peer's address, the port that
// protoactor remote's gRPC server listens on: the server's transport
// credentials (sniffCreds) read the first four bytes of every connection
// it accepts, and hand a connection that starts with tcpMagic to the
// transport instead of gRPC. What follows the magic is a sequence of
// frames, each a 4-byte big-endian length and that many bytes of packet;
// a zero length ends the stream cleanly (as a gRPC half-close does), so
// that a connection that ends without one is a broken stream. The dialing
// node never receives on it: it reads only to see it end.
//
// Compared with Arbor's gRPC stream (stream.go, still served for peers
// that open one), a packet crosses no gRPC writer or reader goroutine,
// and a call or its reply that finds the stream idle is written by the
// goroutine that makes it (peer.drain, inline), without waking the
// stream's writer.

// tcpMagic opens an Arbor stream; an HTTP/2 client's preface starts with
// "PRI " instead.
var tcpMagic = [4]byte{'A', 'R', 'B', 1}

// tcpMagicID opens an Arbor stream whose preface carries the dialer's
// 8-byte id for it after the magic (callpool.go: a pooled call names the
// stream it is fenced behind by that id). A node of this version dials
// with it, and accepts both.
var tcpMagicID = [4]byte{'A', 'R', 'B', 2}

// poolMagic opens a call connection of a caller's pool (callpool.go).
var poolMagic = [4]byte{'A', 'R', 'B', 3}

// tcpFlushBytes is how many bytes the writer gathers before it writes
// them out in the middle of a drain (it always writes at the drain's end).
const tcpFlushBytes = 64 << 10

// tcpReadBuffer is the size of a stream reader's buffer.
const tcpReadBuffer = 64 << 10

// errStreamBroken is the error a TCP stream's reader returns when the
// connection ends without the end frame.
var errStreamBroken = errors.New("arbor stream ended without its end frame")

// sniffCreds are the gRPC server's transport credentials: insecure ones
// that hand Arbor's TCP streams to the transport.
type sniffCreds struct {
	credentials.TransportCredentials
	t *transport
}

func newSniffCreds(t *transport) credentials.TransportCredentials {
	return &sniffCreds{TransportCredentials: insecure.NewCredentials(), t: t}
}

// ServerHandshake reads the first four bytes of an accepted connection: an
// Arbor stream goes to the transport, anything else back to gRPC with
// those bytes in front. gRPC bounds the read with its connection timeout.
func (s *sniffCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	var head [4]byte
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		return nil, nil, err
	}
	switch head {
	case tcpMagic:
		s.t.acceptTCP(conn, 0)
		return nil, nil, credentials.ErrConnDispatched
	case tcpMagicID:
		var id [8]byte
		if _, err := io.ReadFull(conn, id[:]); err != nil {
			return nil, nil, err
		}
		s.t.acceptTCP(conn, binary.BigEndian.Uint64(id[:]))
		return nil, nil, credentials.ErrConnDispatched
	case poolMagic:
		s.t.acceptPool(conn)
		return nil, nil, credentials.ErrConnDispatched
	}
	return s.TransportCredentials.ServerHandshake(&prefixConn{Conn: conn, head: head, n: len(head)})
}

func (s *sniffCreds) Clone() credentials.TransportCredentials {
	return &sniffCreds{TransportCredentials: s.TransportCredentials.Clone(), t: s.t}
}

// prefixConn is a connection whose first bytes were read already: Read
// gives them again first.
type prefixConn struct {
	net.Conn
	head [4]byte
	n    int // how many of head are still to be read
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if c.n > 0 {
		k := copy(b, c.head[len(c.head)-c.n:])
		c.n -= k
		return k, nil
	}
	return c.Conn.Read(b)
}

// frameReader reads the packets of an accepted TCP stream, as
// transport.receive reads any stream.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
	got atomic.Uint64 // frames read, for the idle check
	// from is the peer of the open session the stream carried last, and
	// session that session's id (carries; only the reading goroutine
	// uses them): while a frame arrives, every read that leaves it
	// unfinished counts as hearing from that peer.
	from    *peer
	session uint64
	// fence counts the packets of the stream handled so far, for the
	// pooled calls fenced behind them (callpool.go); nil for a stream
	// opened without an id.
	fence *streamFence
}

// handled notes that the reader handled a packet of the stream.
func (f *frameReader) handled() {
	if f.fence != nil {
		f.fence.note()
	}
}

// carries tells the reader which session the stream carried last.
func (f *frameReader) carries(p *peer, session uint64) { f.from, f.session = p, session }

// RecvMsg reads the next packet into *m (a *[]byte), valid until the next
// call (it may lie in the reader's buffer, or in f.buf). It returns io.EOF at the end frame, and an error for a connection
// that ends without it or a frame over maxPacketBytes.
func (f *frameReader) RecvMsg(m any) error {
	var head [4]byte
	if _, err := io.ReadFull(f.r, head[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return errStreamBroken
		}
		return err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n == 0 {
		return io.EOF
	}
	if n > maxPacketBytes {
		return fmt.Errorf("%w: a %d-byte frame", ErrMalformed, n)
	}
	if int(n) <= f.r.Buffered() {
		// The whole packet is in the reader's buffer already: handed on
		// where it lies (valid until the next read, as f.buf's is)
		// rather than copied out.
		b, _ := f.r.Peek(int(n))
		_, _ = f.r.Discard(int(n))
		f.got.Add(1)
		*m.(*[]byte) = b
		return nil
	}
	if cap(f.buf) < int(n) {
		f.buf = make([]byte, n)
	}
	b := f.buf[:n]
	if err := f.readBody(b); err != nil {
		return err
	}
	if n > tcpReadBuffer {
		f.buf = nil // do not keep a large packet's buffer
	}
	f.got.Add(1)
	*m.(*[]byte) = b
	return nil
}

// readBody reads a frame's packet into b. A large packet takes many reads
// (a slow or loaded link may take longer than the heartbeat timeout to
// carry it): each read that leaves it unfinished notes that the peer of
// the stream's open session is heard from, one atomic store.
func (f *frameReader) readBody(b []byte) error {
	for {
		k, err := f.r.Read(b)
		b = b[k:]
		if len(b) == 0 {
			return nil
		}
		if err != nil {
			if err == io.EOF {
				return errStreamBroken
			}
			return err
		}
		if k > 0 && f.from != nil && f.from.isOpen(f.session) {
			f.from.touch()
		}
	}
}

// acceptTCP serves an Arbor stream that the gRPC server's listener
// accepted: its packets are read on a goroutine of its own until it ends,
// the transport stops, or it stays silent while carrying no open session.
// A stream with an id (id != 0) counts the packets it handled for the
// pooled calls fenced behind it.
func (t *transport) acceptTCP(conn net.Conn, id uint64) {
	if !t.track() {
		_ = conn.Close()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	t.keepConn(conn)
	go func() {
		defer t.conns.Done()
		f := &frameReader{r: bufio.NewReaderSize(conn, tcpReadBuffer)}
		if id != 0 {
			f.fence = t.readFence(id)
		}
		var current atomic.Uint64 // the session the stream carried last
		stop := t.reapIdle(conn, f, &current)
		_ = t.receiveTracking(f, &current)
		stop()
		if id != 0 {
			t.endFence(id, f.fence)
		}
		t.dropConn(conn)
	}()
}

// keepConn records an accepted connection (a stream or a call
// connection), which stop closes if it is still open then.
func (t *transport) keepConn(conn net.Conn) {
	t.tcpMu.Lock()
	if t.tcpConns == nil {
		t.tcpConns = make(map[net.Conn]struct{})
	}
	t.tcpConns[conn] = struct{}{}
	t.tcpMu.Unlock()
}

// dropConn closes an accepted connection keepConn recorded, and forgets it.
func (t *transport) dropConn(conn net.Conn) {
	t.tcpMu.Lock()
	delete(t.tcpConns, conn)
	t.tcpMu.Unlock()
	_ = conn.Close()
}

// reapIdle closes an accepted stream that received nothing for twice the
// heartbeat timeout while the session it carried last is not open (or it
// carried none): the reader of a stream from a peer that froze or was cut
// off would otherwise wait until the transport stops. (On gRPC streams,
// the server's keepalive does that.) It never ends a session: the failure
// detector does. It returns the reaper's stop.
func (t *transport) reapIdle(conn net.Conn, f *frameReader, current *atomic.Uint64) func() {
	period := 2 * t.cfg.heartbeatTimeout
	var (
		mu    sync.Mutex
		timer *time.Timer
		seen  uint64
		done  bool
	)
	check := func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		got := f.got.Load()
		if got == seen && t.sessionPeer(current.Load()) == nil {
			_ = conn.Close()
			return
		}
		seen = got
		timer.Reset(period)
	}
	mu.Lock()
	timer = time.AfterFunc(period, check)
	mu.Unlock()
	return func() {
		mu.Lock()
		done = true
		timer.Stop()
		mu.Unlock()
	}
}

// closeTCP closes every accepted TCP stream (the transport stops).
func (t *transport) closeTCP() {
	t.tcpMu.Lock()
	for c := range t.tcpConns {
		_ = c.Close()
	}
	t.tcpMu.Unlock()
}

// tcpStream is the dialing end of an Arbor TCP stream: a peerConn's
// stream. Its writes are the peerConn's (under sendMu).
type tcpStream struct {
	conn net.Conn
	out  []byte     // frames not written yet
	raw  *rawWriter // tryFlush's, made at its first write
	// id is the stream's id, sent in its preface; frames counts the
	// packets put on it (written, or in out): a pooled call made while
	// out is empty is fenced behind that many (callpool.go).
	id     uint64
	frames atomic.Uint64
}

// dialTCP opens an Arbor TCP stream to addr. It gives up after the
// connect timeout or when the transport stops.
func (t *transport) dialTCP(addr string) (*peerConn, error) {
	ctx, cancel := context.WithTimeout(t.life, t.cfg.connectTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &tcpStream{conn: conn, id: rand.Uint64() | 1}
	s.out = append(s.out, tcpMagicID[:]...)
	s.out = binary.BigEndian.AppendUint64(s.out, s.id)
	if err := s.flush(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return newPeerConn(s, func() { _ = conn.Close() }), nil
}

// appendFrame adds a packet's frame to what is to be written.
func (s *tcpStream) appendFrame(pkt []byte) {
	s.frames.Add(1)
	s.out = binary.BigEndian.AppendUint32(s.out, uint32(len(pkt)))
	s.out = append(s.out, pkt...)
}

// flush writes what is to be written, blocking until it is.
func (s *tcpStream) flush() error {
	if len(s.out) == 0 {
		return nil
	}
	_, err := s.conn.Write(s.out)
	s.release()
	return err
}

// tryFlush writes what it can of what is to be written without blocking,
// and reports whether all of it is written.
func (s *tcpStream) tryFlush() (bool, error) {
	if len(s.out) == 0 {
		return true, nil
	}
	if s.raw == nil {
		s.raw = newRawWriter(s.conn)
	}
	n, err := s.raw.write(s.out)
	if err != nil {
		return false, err
	}
	if n == len(s.out) {
		s.release()
		return true, nil
	}
	s.out = s.out[:copy(s.out, s.out[n:])]
	return false, nil
}

// release empties the buffer of what is to be written, dropping it if a
// large packet grew it.
func (s *tcpStream) release() {
	if cap(s.out) > 4*tcpFlushBytes {
		s.out = nil
		return
	}
	s.out = s.out[:0]
}

// SendMsg writes one packet, at once (finish's last packet).
func (s *tcpStream) SendMsg(m any) error {
	s.appendFrame(*m.(*[]byte))
	return s.flush()
}

// RecvMsg waits for the stream to end: the peer sends nothing on it.
func (s *tcpStream) RecvMsg(any) error {
	var b [1]byte
	_, err := s.conn.Read(b[:])
	if err == nil {
		return fmt.Errorf("%w: a peer sent on a stream it reads", ErrMalformed)
	}
	return err
}

// CloseSend sends the end frame and half-closes the connection.
func (s *tcpStream) CloseSend() error {
	s.out = binary.BigEndian.AppendUint32(s.out, 0)
	if err := s.flush(); err != nil {
		return err
	}
	if cw, ok := s.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

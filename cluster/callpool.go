package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// Pooled calls (ADR 0011). A call made from outside any process, to a
// peer whose session is open on an idle Arbor TCP stream, goes on a call
// connection of the peer's pool instead of the session's stream: the
// caller writes the request and reads the reply itself on that
// connection, one call at a time, so that no reader goroutine hands the
// reply over (a wake of another thread per call) and the reply carries
// the acknowledgement of the request.
//
// A call connection opens with poolMagic; what follows in each direction
// is a sequence of frames (PROTOCOL.md): a 4-byte big-endian length, the
// dialer's id of a stream and a fence (8 bytes each), and a packet. A
// request is fenced behind the caller's stream to the callee, a reply
// behind the callee's stream to the caller: each is handled only once
// the reader of that stream handled as many packets as its sender had
// put on it before it, so that a call keeps its order with what its
// node sent before it, and a reply with what the callee's node sent
// before it (cluster/doc.go's ordering). A call connection carries one
// session: the first request binds it, and the session's end closes it
// on both nodes.

// poolFrameHead is the part of a call frame before its packet: the
// stream's id and the fence.
const poolFrameHead = 16

// maxPoolConns bounds the call connections a peer's pool keeps, idle or
// in use: a call that finds none free past that goes on the stream.
var maxPoolConns = 4 * runtime.GOMAXPROCS(0)

// maxPoolIn bounds the call connections a node serves for one peer's
// session: a peer of another build may keep more than this one would.
const maxPoolIn = 256

// callPool is a peer's pool of call connections for one session.
type callPool struct {
	session uint64 // this node's id of the session (peer.in)
	idle    []*poolConn
	all     map[*poolConn]struct{}
}

// poolConn is one call connection of a caller's pool.
type poolConn struct {
	t    *transport // for the hand decoder's type cache (nil: the generated decoder only)
	conn net.Conn
	r    *bufio.Reader
	out  []byte
	in   []byte
	last int             // the size of the last reply's packet
	rc   syscall.RawConn // conn's, for spin (nil: no polling)
	enc  frameEncoder
}

// frameEncoder encodes the frames of a call connection.
type frameEncoder struct {
	// The Packet around an envelope the generated encoder writes.
	pkt  clusterpb.Packet
	body clusterpb.Packet_Envelope
}

// takePoolLocked decides whether a call from outside any process goes on
// the pool: the session is open on an idle Arbor TCP stream with an id.
// It returns an idle connection of the pool (nil: dial one), the stream's
// id and the fence, and ok=false when the call goes on the stream.
func (p *peer) takePoolLocked() (pc *poolConn, stream, fence uint64, ok bool) {
	c := p.conn
	if p.state != peerUp || len(p.pending) > 0 || c == nil || c.tcp == nil || c.tcp.id == 0 ||
		p.writing || len(p.queue) > 0 || len(p.users) > 0 || !p.isOpen(p.in) {
		return nil, 0, 0, false
	}
	if p.pool == nil || p.pool.session != p.in {
		p.pool.close() // of an earlier session (its end closed it already)
		p.pool = &callPool{session: p.in, all: make(map[*poolConn]struct{})}
	}
	if n := len(p.pool.idle); n > 0 {
		pc = p.pool.idle[n-1]
		p.pool.idle[n-1] = nil
		p.pool.idle = p.pool.idle[:n-1]
	} else if len(p.pool.all) >= maxPoolConns {
		return nil, 0, 0, false
	}
	// Nothing is queued and nobody is writing: every packet put on the
	// stream so far is written, and frames counts them.
	return pc, c.tcp.id, c.tcp.frames.Load(), true
}

// putBack returns a connection to the pool of session, or closes it when
// the session ended or the pool has enough idle ones.
func (p *peer) putBack(pc *poolConn, session uint64) {
	p.mu.Lock()
	pool := p.pool
	if pool != nil && pool.session == session && p.isOpen(session) && len(pool.idle) < maxPoolConns/2 {
		if _, ok := pool.all[pc]; ok {
			pool.idle = append(pool.idle, pc)
			p.mu.Unlock()
			return
		}
	}
	if pool != nil {
		delete(pool.all, pc)
	}
	p.mu.Unlock()
	_ = pc.conn.Close()
}

// discard closes a connection of the pool that broke or timed out.
func (p *peer) discard(pc *poolConn) {
	p.mu.Lock()
	if p.pool != nil {
		delete(p.pool.all, pc)
	}
	p.mu.Unlock()
	_ = pc.conn.Close()
}

// dialPool opens a call connection for session, at most until deadline,
// and adds it to the pool; nil if it cannot (the call goes on the stream).
func (p *peer) dialPool(session uint64, deadline time.Time) *poolConn {
	t := p.t
	ctx, cancel := context.WithDeadline(t.life, deadline)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, t.cfg.connectTimeout)
	defer cancel2()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil
	}
	pc := &poolConn{t: t, conn: conn, r: bufio.NewReaderSize(conn, 4<<10)}
	pc.rc = rawConnOf(conn)
	pc.out = append(pc.out, poolMagic[:]...)
	p.mu.Lock()
	if p.pool == nil || p.pool.session != session || !p.isOpen(session) {
		p.mu.Unlock()
		_ = conn.Close()
		return nil
	}
	p.pool.all[pc] = struct{}{}
	p.mu.Unlock()
	return pc
}

// callPooled makes a call on a connection of p's pool. ok is false when
// the call was not made there (nothing was sent): it goes on the stream.
func (t *transport) callPooled(ctx context.Context, p *peer, env *clusterpb.Envelope, timeout time.Duration) (v any, err error, ok bool) {
	deadline := time.Now().Add(timeout)
	p.mu.Lock()
	pc, stream, fence, ok := p.takePoolLocked()
	session, out := p.in, p.out
	p.mu.Unlock()
	if !ok {
		return nil, nil, false
	}
	if pc == nil {
		if pc = p.dialPool(session, deadline); pc == nil {
			return nil, nil, false
		}
	}
	env.Session = out
	id := env.GetCallRequest().GetCallId()
	t.pooledCalls.Add(1)
	n, err := pc.writeRequest(env, stream, fence, deadline)
	p.bytesOut.Add(uint64(n))
	if err != nil {
		p.discard(pc)
		if errors.Is(err, errEncode) {
			return nil, err, true
		}
		return nil, t.poolErr(ctx, err), true
	}
	var stop func() bool
	if _, isProc := ctx.(*actor.Context); !isProc && ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { _ = pc.conn.SetReadDeadline(time.Unix(1, 0)) })
	}
	if t.cfg.callSpin > 0 && p.spinning.CompareAndSwap(false, true) {
		pc.spin(t.cfg.callSpin)
		p.spinning.Store(false)
	}
	res, rstream, rfence, err := pc.readReply(id, session)
	if err == nil {
		t.received.Add(1)
		p.bytesIn.Add(uint64(pc.last))
	}
	if stop != nil && !stop() {
		// ctx ended: whatever was read, the caller gave up.
		if err == nil {
			err = os.ErrDeadlineExceeded
		}
	}
	if err != nil {
		p.discard(pc)
		return nil, t.poolErr(ctx, err), true
	}
	p.putBack(pc, session)
	// The reply is returned only after what the peer sent this node
	// before it.
	if err := t.awaitFence(ctx, rstream, rfence, deadline); err != nil {
		return nil, err, true
	}
	return res.value, res.err, true
}

// poolErr is what a pooled call fails with when its connection did:
// ctx's error or DeadlineExceeded at the deadline, NoConnection otherwise.
func (t *transport) poolErr(ctx context.Context, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if e := ctx.Err(); e != nil {
			return e
		}
		return context.DeadlineExceeded
	}
	t.log.Debug().Err(err).Msg("call connection broke")
	return actor.NoConnection
}

// writeRequest writes a request frame, at most until deadline, and
// returns the size of its packet.
func (pc *poolConn) writeRequest(env *clusterpb.Envelope, stream, fence uint64, deadline time.Time) (int, error) {
	b, n, err := pc.enc.appendFrame(pc.out, env, stream, fence)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errEncode, err)
	}
	if err := pc.conn.SetDeadline(deadline); err != nil {
		return 0, err
	}
	_, err = pc.conn.Write(b)
	if cap(b) > 64<<10 {
		pc.out = nil
	} else {
		pc.out = b[:0]
	}
	return n, err
}

// appendFrame appends the frame of env, fenced behind stream and fence,
// to b, and returns the packet's size: encoded by hand when env is a
// call's request or reply (hotwire.go), else by the generated encoder
// (into e's Packet, which it leaves empty).
func (e *frameEncoder) appendFrame(b []byte, env *clusterpb.Envelope, stream, fence uint64) ([]byte, int, error) {
	if n, sizes, ok := sizeHotEnvelope(env); ok {
		b = binary.BigEndian.AppendUint32(b, uint32(poolFrameHead+n))
		b = binary.BigEndian.AppendUint64(b, stream)
		b = binary.BigEndian.AppendUint64(b, fence)
		return appendHotEnvelope(b, env, sizes), n, nil
	}
	e.body.Envelope = env
	e.pkt.Body = &e.body
	defer func() { e.body.Envelope = nil }()
	n := proto.Size(&e.pkt)
	b = binary.BigEndian.AppendUint32(b, uint32(poolFrameHead+n))
	b = binary.BigEndian.AppendUint64(b, stream)
	b = binary.BigEndian.AppendUint64(b, fence)
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, &e.pkt)
	return b, n, err
}

// readReply reads the reply to call id of session (this node's id, which
// the peer stamps on what it sends), and the stream and fence it is
// fenced behind. A reply that is not a CallReply of that call and session
// breaks the connection (an error).
func (pc *poolConn) readReply(id, session uint64) (res callResult, stream, fence uint64, err error) {
	b, err := readPoolFrame(pc.r, &pc.in, poolFrameHead+maxPacketBytes)
	if err != nil {
		return callResult{}, 0, 0, err
	}
	if pc.t != nil && len(b) > poolFrameHead {
		// The reply decoded by hand (hotwire.go), or else by the
		// generated decoder, which judges what the hand one gives up on.
		var f hotFields
		if parseHotPacket(b[poolFrameHead:], &f) && f.body == fieldEnvCallReply && f.callID == id && f.session == session {
			pc.last = len(b) - poolFrameHead
			res = pc.t.hotReplyResult(&f)
			stream, fence = binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])
			if cap(pc.in) > 64<<10 {
				pc.in = nil
			}
			return res, stream, fence, nil
		}
	}
	stream, fence, pkt, err := parsePoolFrame(b)
	if err != nil {
		return callResult{}, 0, 0, err
	}
	pc.last = len(b) - poolFrameHead
	env := pkt.GetEnvelope()
	r := env.GetCallReply()
	if r == nil || r.GetCallId() != id || env.GetSession() != session {
		return callResult{}, 0, 0, fmt.Errorf("%w: not the reply to call %d", ErrMalformed, id)
	}
	if cap(pc.in) > 64<<10 {
		pc.in = nil
	}
	return replyResult(r), stream, fence, nil
}

// parsePoolFrame splits a frame of a call connection into the stream
// and fence it is fenced behind and its packet.
func parsePoolFrame(b []byte) (stream, fence uint64, pkt *clusterpb.Packet, err error) {
	if len(b) <= poolFrameHead {
		return 0, 0, nil, fmt.Errorf("%w: a %d-byte frame on a call connection", ErrMalformed, len(b))
	}
	pkt, err = decodePacket(b[poolFrameHead:])
	if err != nil {
		return 0, 0, nil, err
	}
	return binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:]), pkt, nil
}

// awaitFence waits until the reader of the stream with the dialer's id
// stream handled fence packets, at most until deadline or ctx's end.
func (t *transport) awaitFence(ctx context.Context, stream, fence uint64, deadline time.Time) error {
	if fence == 0 {
		return nil
	}
	f := t.fenceOf(stream)
	if f.handled.Load() >= fence {
		return nil
	}
	ch := make(chan bool, 1)
	f.await(fence, time.Until(deadline), func(ok bool) { ch <- ok }, func() { t.forgetFence(stream, f) })
	var done <-chan struct{}
	if _, isProc := ctx.(*actor.Context); !isProc {
		done = ctx.Done()
	}
	select {
	case ok := <-ch:
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			return context.DeadlineExceeded
		}
		return actor.NoConnection
	case <-done:
		return ctx.Err()
	}
}

// replyResult is what a call's reply gives the caller.
func replyResult(r *clusterpb.CallReply) callResult {
	var res callResult
	switch x := r.GetResult().(type) {
	case *clusterpb.CallReply_Payload:
		var m proto.Message
		m, res.err = decodePayload(x.Payload)
		if res.err == nil {
			res.value = m
		}
	case *clusterpb.CallReply_Error:
		res.err = decodeReason(x.Error)
	default:
		res.err = ErrMalformed
	}
	return res
}

// readPoolFrame reads one frame of a call connection into *buf (grown as
// needed), refusing one over limit bytes or empty.
func readPoolFrame(r *bufio.Reader, buf *[]byte, limit int) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n == 0 || n > uint32(limit) {
		return nil, fmt.Errorf("%w: a %d-byte frame on a call connection", ErrMalformed, n)
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// closePool closes every connection of a pool (its session ended): the
// calls on them fail at once.
func (pool *callPool) close() {
	if pool == nil {
		return
	}
	for pc := range pool.all {
		_ = pc.conn.Close()
	}
}

// The callee's side.

// streamFence counts the packets an accepted stream's reader handled, and
// holds the pooled requests waiting for a count.
type streamFence struct {
	handled atomic.Uint64
	waiting atomic.Bool
	mu      sync.Mutex
	waiters []*fenceWaiter
	ended   bool
	read    bool // a reader counts for it (acceptTCP)
}

type fenceWaiter struct {
	at   uint64
	once sync.Once
	run  func(ok bool)
}

func (w *fenceWaiter) fire(ok bool) { w.once.Do(func() { w.run(ok) }) }

// note counts a packet handled, releasing the requests waiting for it.
func (f *streamFence) note() {
	n := f.handled.Add(1)
	if f.waiting.Load() {
		f.release(n)
	}
}

// release runs the requests waiting for at most n packets.
func (f *streamFence) release(n uint64) {
	f.mu.Lock()
	var ready []*fenceWaiter
	keep := f.waiters[:0]
	for _, w := range f.waiters {
		if w.at <= n {
			ready = append(ready, w)
		} else {
			keep = append(keep, w)
		}
	}
	clear(f.waiters[len(keep):])
	f.waiters = keep
	f.waiting.Store(len(keep) > 0)
	f.mu.Unlock()
	for _, w := range ready {
		w.fire(true)
	}
}

// await runs run(true) once the stream handled at packets, or run(false)
// if the stream ends first or wait passes; expired runs then, too.
func (f *streamFence) await(at uint64, wait time.Duration, run func(ok bool), expired func()) {
	if f.handled.Load() >= at {
		run(true)
		return
	}
	w := &fenceWaiter{at: at, run: run}
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		run(false)
		return
	}
	f.waiters = append(f.waiters, w)
	f.waiting.Store(true)
	f.mu.Unlock()
	// The count may have reached at before the waiter was added (its
	// reader saw no one waiting).
	if n := f.handled.Load(); n >= at {
		f.release(n)
	}
	time.AfterFunc(wait, func() {
		f.remove(w)
		w.fire(false)
		expired()
	})
}

// remove takes a waiter whose time passed off the list.
func (f *streamFence) remove(w *fenceWaiter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.Index(f.waiters, w); i >= 0 {
		f.waiters = slices.Delete(f.waiters, i, i+1)
	}
	f.waiting.Store(len(f.waiters) > 0)
}

// end fails the requests still waiting: the stream ended short of them.
func (f *streamFence) end() {
	f.mu.Lock()
	f.ended = true
	ws := f.waiters
	f.waiters = nil
	f.waiting.Store(false)
	f.mu.Unlock()
	for _, w := range ws {
		w.fire(false)
	}
}

// fenceOf returns the fence of the stream with the dialer's id, made if
// new (by its reader, or by a request that came before the stream was
// accepted).
func (t *transport) fenceOf(id uint64) *streamFence {
	if v, ok := t.fences.Load(id); ok {
		return v.(*streamFence)
	}
	v, _ := t.fences.LoadOrStore(id, &streamFence{})
	return v.(*streamFence)
}

// readFence is fenceOf for the stream's reader.
func (t *transport) readFence(id uint64) *streamFence {
	f := t.fenceOf(id)
	f.mu.Lock()
	f.read = true
	f.mu.Unlock()
	return f
}

// forgetFence drops the fence a request made for a stream that never
// came (no reader counts for it), once the request expired.
func (t *transport) forgetFence(id uint64, f *streamFence) {
	f.mu.Lock()
	unread := !f.read && len(f.waiters) == 0
	f.mu.Unlock()
	if unread {
		t.fences.CompareAndDelete(id, f)
	}
}

// endFence ends a stream's fence once its reader ended.
func (t *transport) endFence(id uint64, f *streamFence) {
	t.fences.CompareAndDelete(id, f)
	f.end()
}

// acceptPool serves a call connection that the gRPC server's listener
// accepted: its requests are read on a goroutine of its own until it
// ends, breaks, carries what is not a request of the session it is bound
// to, or that session ends.
func (t *transport) acceptPool(conn net.Conn) {
	if !t.track() {
		_ = conn.Close()
		return
	}
	t.keepConn(conn)
	go func() {
		s := &poolServer{t: t, conn: conn}
		defer func() {
			if !s.untracked {
				t.conns.Done()
			}
		}()
		if err := s.serve(); !errors.Is(err, io.EOF) {
			t.log.Debug().Err(err).Msg("call connection ended")
		}
		s.unbind()
		t.dropConn(conn)
	}()
}

// poolServer is the callee's end of a call connection.
type poolServer struct {
	t      *transport
	conn   net.Conn
	bindMu sync.Mutex
	closed bool // serve ended: nothing binds any more
	// untracked: the transport stopped while a handler ran on serve's
	// goroutine (lend), which is no longer counted in its conns.
	untracked bool
	p         *peer  // the peer of the session the connection is bound to (set once, under bindMu)
	session   uint64 // this node's id of it
	out       uint64 // the peer's id, stamped on replies
	writeMu   sync.Mutex
	buf       []byte
	enc       frameEncoder // under writeMu
}

// serve reads and serves requests until the connection ends.
func (s *poolServer) serve() error {
	t := s.t
	r := bufio.NewReaderSize(s.conn, 4<<10)
	var in []byte
	// Until the first request binds it, the connection may stay silent
	// only as long as a stream may without a session.
	_ = s.conn.SetReadDeadline(time.Now().Add(2 * t.cfg.heartbeatTimeout))
	for {
		b, err := readPoolFrame(r, &in, poolFrameHead+maxPacketBytes)
		if err != nil {
			return err
		}
		t.received.Add(1)
		if len(b) > poolFrameHead {
			// A request of the session the connection is bound to, at
			// its fence, decoded by hand (hotwire.go) and served at once.
			// Anything else, and a request that waits for its fence (the
			// fields alias the buffer that the next read reuses), takes
			// the generated decoder, which judges what to drop.
			var f hotFields
			stream, fence := binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])
			if (fence == 0 || t.fenceOf(stream).handled.Load() >= fence) &&
				parseHotPacket(b[poolFrameHead:], &f) && f.body == fieldEnvCallRequest {
				served := false
				if !s.lend(func() { served = s.serveHot(&f, uint64(len(b)-poolFrameHead)) }) {
					return ErrStopped
				}
				if served {
					continue
				}
			}
		}
		stream, fence, pkt, err := parsePoolFrame(b)
		if err != nil {
			t.drop(nil, err)
			return err
		}
		env := pkt.GetEnvelope()
		req := env.GetCallRequest()
		if err := checkEnvelope(env); err != nil || req == nil {
			if err == nil {
				err = errors.New("not a call request on a call connection")
			}
			t.drop(env, err)
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		size := uint64(len(b) - poolFrameHead)
		wait := time.Duration(max(req.GetTimeoutMs(), 1)) * time.Millisecond
		// The request is checked against the session only at its fence:
		// what came before it on the stream may be what opens the session
		// on this node (the caller's answering Hello).
		run := func(ok bool, inline bool) {
			if !ok {
				// The stream ended short of the fence: the session ends.
				_ = s.conn.Close()
				return
			}
			if err := s.bind(env); err != nil {
				t.drop(env, err)
				_ = s.conn.Close()
				return
			}
			s.p.touch()
			s.p.bytesIn.Add(size)
			t.serveRequest(s.p, env, req, s, inline)
		}
		var f *streamFence
		if fence != 0 {
			f = t.fenceOf(stream)
		}
		if f == nil || f.handled.Load() >= fence {
			// At its fence already, on this goroutine: it may run the
			// callee's activation (ADR 0011's amendment).
			if !s.lend(func() { run(true, true) }) {
				return ErrStopped
			}
			continue
		}
		// Later, on the stream's reader or a timer: it posts.
		f.await(fence, wait, func(ok bool) { run(ok, false) }, func() { t.forgetFence(stream, f) })
	}
}

// lend runs serve, which may run a callee's activation on the
// connection's goroutine (actor's PostRun), with the goroutine uncounted
// in the transport's: while it runs a handler it is the process's, as a
// worker of the node would be, and the transport's stop must not wait
// for a handler (a process that outlives Cluster.Stop's ctx is the
// node's to report, and a handler may itself stop the cluster). It
// reports false if the transport stopped meanwhile: the goroutine is
// then no longer counted and must end.
func (s *poolServer) lend(serve func()) bool {
	s.t.conns.Done()
	serve()
	if !s.t.track() {
		s.untracked = true
		return false
	}
	return true
}

// serveHot serves a request decoded by hand, at its fence, if it is of
// the open session the connection is bound to, from its peer; it reports
// false, having done nothing, for any other (the first request, which
// binds the connection, or one to refuse).
func (s *poolServer) serveHot(f *hotFields, size uint64) bool {
	if f.version != protocolVersion || f.fromCreation == 0 {
		return false
	}
	s.bindMu.Lock()
	p := s.p
	ok := !s.closed && p != nil && f.session == s.session && string(f.fromName) == p.name && p.isOpen(s.session)
	s.bindMu.Unlock()
	if !ok {
		return false
	}
	p.touch()
	p.bytesIn.Add(size)
	s.t.onCallRequestHot(p, f, s, true)
	return true
}

// bind ties the connection to the open session env is stamped with, on
// its first request; a later request must be of the same session.
func (s *poolServer) bind(env *clusterpb.Envelope) error {
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	if s.closed {
		return errors.New("call connection closed")
	}
	if s.p != nil {
		if env.GetSession() != s.session || !s.p.isOpen(s.session) {
			return errors.New("not of the session the call connection carries")
		}
		return nil
	}
	p := s.t.sessionPeer(env.GetSession())
	if p == nil || p.name != env.GetFrom().GetName() {
		return errors.New("not from an open session")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.isOpen(env.GetSession()) {
		return errors.New("from a session that ended")
	}
	if len(p.poolIn) >= maxPoolIn {
		return errors.New("too many call connections from the peer")
	}
	if p.poolIn == nil {
		p.poolIn = make(map[net.Conn]struct{})
	}
	p.poolIn[s.conn] = struct{}{}
	s.p, s.session, s.out = p, env.GetSession(), p.out
	_ = s.conn.SetReadDeadline(time.Time{})
	return nil
}

// unbind forgets the connection in its session.
func (s *poolServer) unbind() {
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	s.closed = true
	if s.p == nil {
		return
	}
	s.p.mu.Lock()
	delete(s.p.poolIn, s.conn)
	s.p.mu.Unlock()
}

// answer sends the answer to call id on the connection (reply).
func (s *poolServer) answer(id uint64, v any, err error) { s.reply(&newReplyOut(id, v, err).reply) }

// reply sends a reply on the connection, fenced behind what this node
// put on its stream to the caller's node before it: at once when that
// stream is idle (the fence is its packet count), or once the stream's
// writer has put on it everything queued before the reply.
func (s *poolServer) reply(r *clusterpb.CallReply) {
	p := s.p
	p.mu.Lock()
	if !p.isOpen(s.session) {
		p.mu.Unlock()
		return
	}
	c := p.conn
	if c == nil || c.tcp == nil || c.tcp.id == 0 {
		p.mu.Unlock()
		s.write(r, 0, 0)
		return
	}
	stream := c.tcp.id
	if !p.writing && len(p.queue) == 0 && len(p.users) == 0 {
		fence := c.tcp.frames.Load()
		p.mu.Unlock()
		s.write(r, stream, fence)
		return
	}
	p.queue = append(p.queue, queued{at: len(p.users), after: func(fence uint64) {
		// On the stream's writer: the reply's write must not hold it.
		if !s.t.track() {
			return
		}
		go func() {
			defer s.t.conns.Done()
			s.write(r, stream, fence)
		}()
	}})
	p.kickLocked()
	p.mu.Unlock()
}

// write writes a reply frame. It blocks until the socket takes it: the
// caller reads it at once, or its connection closes (the caller gave up,
// or the session ended).
func (s *poolServer) write(r *clusterpb.CallReply, stream, fence uint64) {
	env := s.t.envelope(&clusterpb.Envelope{Session: s.out, Body: &clusterpb.Envelope_CallReply{CallReply: r}})
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	b, n, err := s.enc.appendFrame(s.buf[:0], env, stream, fence)
	if err != nil {
		s.t.drop(env, err)
		_ = s.conn.Close()
		return
	}
	if _, err := s.conn.Write(b); err != nil {
		_ = s.conn.Close()
	} else {
		s.p.bytesOut.Add(uint64(n))
	}
	if cap(b) <= 64<<10 {
		s.buf = b[:0]
	} else {
		s.buf = nil
	}
}

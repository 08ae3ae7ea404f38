package cluster

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/seam"
)

// linkKey is a link between a local process and a process of the peer.
type linkKey struct {
	local, remote actor.PID
}

// remoteMonitor is a monitor a local process holds on a process of the peer.
type remoteMonitor struct {
	watcher, target actor.PID
}

type callResult struct {
	value any
	err   error
}

// peer is the session with one other node. Its session's decisions are
// step's (session.go, which also gives the lock order); the fields after
// mu are guarded by mu, and every step happens under it, so the order of
// sends, NodeUp and NodeDown is the order of the steps.
type peer struct {
	t    *transport
	name string
	addr string

	lastSeen atomic.Int64 // unix nanos of the last envelope received
	// Packet bytes written to the peer and read from it, for the
	// arbor.cluster.bytes metrics (telemetry.go): counted per packet.
	bytesOut, bytesIn atomic.Uint64
	// dropped counts the envelopes from or to the peer that were dropped
	// (also counted in transport.dropped), for arbor.cluster.envelopes.dropped.
	dropped atomic.Uint64
	// spinning is set while a pooled caller polls for its reply (spin):
	// one at a time per peer.
	spinning atomic.Bool
	// open is the id this node gave the open session (in), or 0 when
	// there is none: the stream readers check it without taking mu.
	open atomic.Uint64

	mu sync.Mutex
	// deliverMu orders the delivery of a signal from the peer (onSignal)
	// with the delivery of what its session's end leaves (lost.deliver).
	// It is taken before mu, never under it.
	deliverMu sync.Mutex
	session
	conn      *peerConn // the stream to the peer, nil until dialed
	dialing   bool      // a dial for connGen is under way
	connGen   uint64    // counts the ends of sessions: a dial of an earlier one is discarded
	pending   []any     // Envelopes and userRecords waiting for the session
	users     []byte    // user messages waiting for the writer, length-prefixed
	spare     []byte    // a users buffer the writer gave back
	userCount int       // how many messages users holds
	queue     []queued  // envelopes waiting for the writer
	drained   []queued  // a queue the writing gave back, emptied, for reuse
	writing   bool      // the writer was woken and has not found the queues empty yet
	links     map[linkKey]struct{}
	monitors  map[actor.Ref]remoteMonitor
	calls     map[uint64]chan callResult
	goodbye   chan struct{}         // closed when the peer acknowledges our Goodbye
	pool      *callPool             // this node's call connections to the peer (callpool.go)
	poolIn    map[net.Conn]struct{} // the peer's call connections bound to the open session
}

// isOpen reports whether session is the id of the open session; a caller
// holding mu knows it stays open until mu is released.
func (p *peer) isOpen(session uint64) bool { return session != 0 && p.open.Load() == session }

func (p *peer) touch() { p.lastSeen.Store(time.Now().UnixNano()) }

// userRecord is one encoded UserMessage, as it goes into a UserBatch.
type userRecord []byte

// queued is an envelope waiting for the writer, behind the user messages
// queued before it: those in users[:at].
type queued struct {
	at  int
	env *clusterpb.Envelope
	// after, with no env, is run once everything queued before it is
	// put on the stream, with the count of the stream's packets then
	// (a pooled call's reply, fenced behind them: callpool.go).
	after func(frames uint64)
}

// sendLocked hands an envelope or a userRecord to the session, queueing it
// while the session opens and starting a connection if there is none. It
// returns ErrQueueFull when too many wait.
func (p *peer) sendLocked(m any) error {
	switch p.state {
	case peerUp:
		if len(p.pending) == 0 {
			p.writeAnyLocked(m)
			return nil
		}
	case peerDown:
		p.stepLocked(evConnect{})
	}
	if len(p.pending) >= p.t.cfg.maxPending {
		p.t.dropped.Add(1)
		p.dropped.Add(1)
		return ErrQueueFull
	}
	p.pending = append(p.pending, m)
	return nil
}

// sendUserLocked hands a user message to the session as sendLocked hands
// it a userRecord. While the session is open with nothing pending, the
// record is encoded straight into the users buffer the writer sends
// (behind its length), with no buffer of its own; otherwise it is encoded
// into one that waits in pending. It returns the encoding's error, or
// sendLocked's.
func (p *peer) sendUserLocked(u *userMessage) error {
	if p.state != peerUp || len(p.pending) > 0 {
		rec, err := u.append(make([]byte, 0, u.size))
		if err != nil {
			return err
		}
		return p.sendLocked(userRecord(rec))
	}
	b, err := u.append(protowire.AppendVarint(p.users, uint64(u.size)))
	if err != nil {
		return err // p.users holds what it held
	}
	p.users = b
	p.userCount++
	p.kickLocked()
	return nil
}

func (p *peer) writeAnyLocked(m any) {
	switch x := m.(type) {
	case userRecord:
		p.writeUserLocked(x)
	case *clusterpb.Envelope:
		p.writeLocked(x)
	}
}

// maxBatchBytes bounds the bytes of one UserBatch (a larger message goes
// alone in its batch).
const maxBatchBytes = 32 << 10

// maxSpareBytes bounds the users buffer the writer keeps for reuse once
// it sent it: a larger one (a burst the writer fell behind on) is left to
// the collector. A writer of a busy peer lags its senders by hundreds of
// KiB at times (a registry scope's replication while the node is loaded):
// a smaller bound had each such burst grow a new buffer from nothing.
const maxSpareBytes = 1 << 20

// writeLocked queues an envelope for the peer's writer, behind everything
// queued before it.
func (p *peer) writeLocked(env *clusterpb.Envelope) {
	p.queue = append(p.queue, queued{at: len(p.users), env: env})
	p.kickLocked()
}

// writeUserLocked queues a user message for the peer's writer goroutine,
// which sends the user messages queued together as one UserBatch.
func (p *peer) writeUserLocked(rec userRecord) {
	p.users = protowire.AppendBytes(p.users, rec)
	p.userCount++
	p.kickLocked()
}

// kickLocked makes sure the writer drains the queues: it wakes the writer
// if the stream is open, and dials the peer if there is no stream.
func (p *peer) kickLocked() {
	if p.conn == nil {
		p.dialLocked()
		return
	}
	if !p.writing {
		p.writing = true
		select {
		case p.conn.kick <- struct{}{}:
		default:
		}
	}
}

// writeNowLocked queues an envelope as writeLocked does, but when the
// stream is idle (no writer at work, nothing queued) it claims the
// writing instead of waking the writer: it returns the stream, which the
// caller drains inline (p.drain(c, true)) once it released mu. It
// returns nil when the envelope is left to the writer.
func (p *peer) writeNowLocked(env *clusterpb.Envelope) *peerConn {
	c := p.conn
	if c == nil || p.writing || !c.canInline() {
		p.writeLocked(env)
		return nil
	}
	p.queue = append(p.queue, queued{at: len(p.users), env: env})
	p.writing = true
	return c
}

// sendNowLocked hands an envelope to the session as sendLocked does, and
// claims the writing as writeNowLocked does when the session is open and
// its stream idle.
func (p *peer) sendNowLocked(env *clusterpb.Envelope) (*peerConn, error) {
	if p.state == peerUp && len(p.pending) == 0 {
		return p.writeNowLocked(env), nil
	}
	return nil, p.sendLocked(env)
}

// writeLoop is the writer of stream c: woken by kickLocked, it drains the
// queues onto the stream until it finds them empty, and ends with the
// stream. (One goroutine for the stream's life rather than one per burst:
// it keeps the stack grown by gRPC's write path.)
func (p *peer) writeLoop(c *peerConn) {
	defer p.t.conns.Done()
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		p.drain(c, false)
	}
}

// drain writes what the queues hold onto c until they are empty; it is
// run by whoever holds the writing (p.writing): the writer, or inline by
// a sender that claimed an idle stream (writeNowLocked). Everything
// queued belongs to the open session (ending a session empties the
// queues), so the session id read with them is theirs. A stream that
// fails ends the session. An inline drain never blocks: what the socket
// does not take at once it leaves to the writer, which it wakes, handing
// it the writing.
func (p *peer) drain(c *peerConn, inline bool) {
	if !inline {
		// What an inline drain left.
		if _, err := c.flush(false); err != nil {
			p.lostConn(c, err)
			return
		}
	}
	var queue []queued
	for {
		p.mu.Lock()
		if queue == nil {
			// The queue the last drain gave back, for p.queue to fill
			// while this one is written.
			queue, p.drained = p.drained, nil
		}
		if p.conn != c {
			p.mu.Unlock()
			return
		}
		if len(p.users) == 0 && len(p.queue) == 0 {
			p.writing = false
			p.drained = queue[:0]
			p.mu.Unlock()
			return
		}
		// The users buffer is taken only when it holds messages; one left
		// to the senders (users is then empty, but aliases p.users) must
		// not go back as the spare below, or senders would fill the
		// buffer of a later drain while it is sent.
		users := p.users
		taken := len(users) > 0
		if taken {
			p.users, p.spare = p.spare[:0], nil
			p.userCount = 0
		}
		queue, p.queue = p.queue, queue[:0]
		session := p.out
		p.mu.Unlock()
		err := p.flush(c, session, users, queue, inline)
		clear(queue)
		all := true
		if err == nil {
			all, err = c.flush(inline)
		}
		if err != nil {
			p.lostConn(c, err)
			return
		}
		if taken && cap(users) <= maxSpareBytes {
			p.mu.Lock()
			if p.spare == nil {
				p.spare = users[:0]
			}
			p.mu.Unlock()
		}
		if !all {
			select {
			case c.kick <- struct{}{}:
			default:
			}
			return
		}
	}
}

// flush writes the user messages and envelopes drained from the queues, in
// the order they were queued.
func (p *peer) flush(c *peerConn, session uint64, users []byte, queue []queued, inline bool) error {
	prev := 0
	for _, q := range queue {
		if err := p.sendUsers(c, users[prev:q.at], session, inline); err != nil {
			return err
		}
		prev = q.at
		if q.env == nil {
			var frames uint64
			if c.tcp != nil {
				frames = c.tcp.frames.Load()
			}
			q.after(frames)
			continue
		}
		q.env.Session = session
		n, err := c.sendEnvelope(q.env, inline)
		if errors.Is(err, errEncode) {
			p.t.drop(q.env, err)
			continue
		}
		if err != nil {
			return err
		}
		p.bytesOut.Add(uint64(n))
	}
	return p.sendUsers(c, users[prev:], session, inline)
}

// sendUsers sends length-prefixed user messages as UserBatches of at most
// maxBatchBytes (or one message, if it is larger).
func (p *peer) sendUsers(c *peerConn, b []byte, session uint64, inline bool) error {
	for len(b) > 0 {
		cut := len(b)
		if cut > maxBatchBytes {
			cut = 0
			for cut < len(b) {
				_, n := protowire.ConsumeBytes(b[cut:])
				if n < 0 || (cut > 0 && cut+n > maxBatchBytes) {
					break
				}
				cut += n
			}
			if cut == 0 {
				cut = len(b)
			}
		}
		n, err := c.sendUsers(session, b[:cut], inline)
		if err != nil {
			return err
		}
		p.bytesOut.Add(uint64(n))
		b = b[cut:]
	}
	return nil
}

// dialLocked starts opening a stream to the peer, unless one is open or
// being opened. When it opens, the writer sends what waits; when it fails,
// the session ends.
func (p *peer) dialLocked() {
	if p.dialing || p.conn != nil || !p.t.track() {
		return
	}
	p.dialing = true
	gen := p.connGen
	go func() {
		defer p.t.conns.Done()
		c, err := p.t.dialer(p.addr)
		p.mu.Lock()
		if gen != p.connGen {
			// The session this dial was for has ended.
			p.mu.Unlock()
			if c != nil {
				c.close()
			}
			return
		}
		p.dialing = false
		if err != nil {
			var l lost
			if p.state != peerDown {
				l = p.stepLocked(evEnd{reason: errors.Join(ErrConnectFailed, err)})
			}
			p.mu.Unlock()
			l.deliver(p.t.node)
			return
		}
		if !p.t.trackN(2) { // the stream's reader and writer
			p.mu.Unlock()
			c.close()
			return
		}
		p.conn = c
		go p.watchConn(c)
		go p.writeLoop(c)
		p.writing = false
		if len(p.queue) > 0 || len(p.users) > 0 {
			p.kickLocked()
		}
		p.mu.Unlock()
	}()
}

// watchConn waits for the stream to end (the peer never sends on it) and
// ends the session if the stream was still the session's.
func (p *peer) watchConn(c *peerConn) {
	defer p.t.conns.Done()
	var b []byte
	err := c.stream.RecvMsg(&b)
	close(c.ended)
	p.lostConn(c, err)
}

// lostConn ends the session whose stream c failed with err; it does
// nothing if c is no longer the peer's stream.
func (p *peer) lostConn(c *peerConn, err error) {
	p.mu.Lock()
	if p.conn != c {
		p.mu.Unlock()
		return
	}
	p.t.log.Debug().Str("peer", p.name).Err(err).Msg("stream to peer ended")
	l := p.stepLocked(evStreamLost{})
	p.mu.Unlock()
	l.deliver(p.t.node)
}

// streamLost ends the session this node gave the id session, if it is
// still open, because a stream from the peer that carried it broke.
func (p *peer) streamLost(session uint64) {
	p.mu.Lock()
	l := p.stepLocked(evStreamLost{session: session})
	p.mu.Unlock()
	l.deliver(p.t.node)
}

// stepLocked steps the session with event ev and carries out the actions
// step decides, in order. It returns what an ended session leaves behind,
// for the caller to deliver once mu is released.
func (p *peer) stepLocked(ev any) lost {
	next, acts := step(p.session, ev, time.Now(), p.t.timing)
	p.session = next
	var l lost
	for _, a := range acts {
		switch a := a.(type) {
		case actHello:
			p.helloLocked(a.answers)
		case actOpen:
			p.openLocked()
		case actEnd:
			l = p.endLocked(a)
		case actHeartbeat:
			p.writeLocked(p.t.envelope(&clusterpb.Envelope{Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}))
		case actTellClosed:
			p.writeLocked(p.t.envelope(&clusterpb.Envelope{Body: &clusterpb.Envelope_SessionClosed{
				SessionClosed: &clusterpb.SessionClosed{Session: a.session},
			}}))
		case actRefuse:
			p.refuseLocked(a) // misnamed.go
		case actMismatch:
			p.mismatchLocked(a) // misnamed.go
		case actTimeout:
			p.t.log.Info().Str("peer", p.name).Dur("peer_heartbeat_interval", a.interval).
				Dur("configured_timeout", p.t.timing.heartbeatTimeout).Dur("timeout", a.timeout).
				Msg("peer heartbeats less often than this node's heartbeat timeout allows: its session waits longer for it")
		case actSeen:
			seen := p.lastSeen.Load()
			if at := a.at.UnixNano(); at > seen {
				p.lastSeen.CompareAndSwap(seen, at)
			}
		case actDrop:
			p.t.drop(nil, errors.New(a.why))
		}
	}
	return l
}

// helloLocked sends a Hello to the peer, giving the session an id first if
// it has none. answers is the peer's id of the Hello it answers, 0 for a
// Hello that opens a session.
func (p *peer) helloLocked(answers uint64) {
	if p.in == 0 {
		p.in = p.t.newSession(p)
	}
	p.writeLocked(p.t.envelope(&clusterpb.Envelope{Body: &clusterpb.Envelope_Hello{
		Hello: &clusterpb.Hello{Epoch: p.epoch, Ack: answers != 0, Session: p.in, Answers: answers, To: p.name,
			HeartbeatIntervalMs: p.t.helloInterval},
	}}))
}

// openLocked carries out actOpen: the session step opened gets an id if
// it has none, the stream readers accept what is stamped with it, and
// what waited for it is flushed.
func (p *peer) openLocked() {
	p.touch()
	if p.in == 0 {
		p.in = p.t.newSession(p)
	}
	p.open.Store(p.in)
	for i, m := range p.pending {
		p.writeAnyLocked(m)
		p.pending[i] = nil
	}
	p.pending = p.pending[:0]
	p.t.log.Info().Str("peer", p.name).Uint32("creation", p.creation).Msg("node up")
	p.t.publish(NodeUp{Node: p.name})
}

// lost is what a session leaves behind when it ends.
type lost struct {
	links    map[linkKey]struct{}
	monitors map[actor.Ref]remoteMonitor
	calls    map[uint64]chan callResult
	dropped  int
	conn     *peerConn   // the session's stream, closed by deliver
	pool     *callPool   // the session's call connections, closed by deliver
	poolIn   []net.Conn  // the peer's call connections of the session, closed by deliver
	order    *sync.Mutex // the peer's deliverMu, held while delivering
	callErr  error       // what pending calls fail with
}

// downLocked ends the session (or the attempt to open one) and returns what
// its watchers must be told, which the caller does with deliver once mu is
// released.
func (p *peer) downLocked(reason error) lost { return p.stepLocked(evEnd{reason: reason}) }

// endLocked carries out actEnd: it empties the queues, lets the stream go
// and returns what the session's watchers must be told.
func (p *peer) endLocked(a actEnd) lost {
	l := lost{links: p.links, monitors: p.monitors, calls: p.calls, dropped: len(p.pending) + p.userCount, callErr: actor.NoConnection, order: &p.deliverMu}
	for _, q := range p.queue {
		if q.env != nil {
			l.dropped++
		}
	}
	if errors.Is(a.reason, ErrNameMismatch) {
		l.callErr = fmt.Errorf("%w: %w", actor.NoConnection, a.reason)
	}
	p.links, p.monitors, p.calls = nil, nil, nil
	l.conn = p.detachConnLocked()
	l.pool, p.pool = p.pool, nil
	for c := range p.poolIn {
		l.poolIn = append(l.poolIn, c)
	}
	p.poolIn = nil
	clear(p.pending)
	p.pending = p.pending[:0]
	clear(p.queue)
	p.queue = p.queue[:0]
	p.users, p.userCount = nil, 0
	p.open.Store(0)
	if a.in != 0 {
		p.t.sessions.Delete(a.in)
	}
	p.t.dropped.Add(uint64(l.dropped))
	p.dropped.Add(uint64(l.dropped))
	if p.goodbye != nil {
		close(p.goodbye)
		p.goodbye = nil
	}
	if a.wasUp {
		p.t.log.Warn().Str("peer", p.name).Err(a.reason).Msg("node down")
		p.t.publish(NodeDown{Node: p.name, Reason: a.reason})
	} else {
		p.t.log.Debug().Str("peer", p.name).Err(a.reason).Msg("connect failed")
	}
	return l
}

// deliver closes the lost session's stream and tells every watcher of its
// processes: links get an exit signal and monitors a Down with reason
// NoConnection; calls fail with NoConnection (joined with
// the NameMismatchError when that ended the attempt).
func (l lost) deliver(n *actor.Node) {
	if l.order != nil {
		l.order.Lock()
		defer l.order.Unlock()
	}
	if l.conn != nil {
		l.conn.close()
	}
	l.pool.close()
	for _, c := range l.poolIn {
		_ = c.Close()
	}
	for k := range l.links {
		rt.DeliverSignal(n, k.local, signal{Kind: seam.SignalLinkExit, From: k.remote, Reason: actor.NoConnection})
	}
	for ref, m := range l.monitors {
		rt.DeliverSignal(n, m.watcher, signal{Kind: seam.SignalDown, From: m.target, Ref: ref, Reason: actor.NoConnection})
	}
	for _, ch := range l.calls {
		ch <- callResult{err: l.callErr}
	}
}

// detachConnLocked takes the peer's stream away (the caller closes it)
// and makes a dial under way discard its result; it returns the stream,
// nil if there is none.
func (p *peer) detachConnLocked() *peerConn {
	c := p.conn
	p.conn, p.dialing = nil, false
	p.connGen++
	return c
}

// closeConn closes a stream to the peer that no session holds (one opened
// to send a SessionClosed while the peer was down).
func (p *peer) closeConn() {
	p.mu.Lock()
	c := p.detachConnLocked()
	p.mu.Unlock()
	if c != nil {
		c.close()
	}
}

// down ends the session from outside the lock.
func (p *peer) down(reason error, wantState ...peerState) {
	p.mu.Lock()
	if p.state == peerDown {
		p.mu.Unlock()
		return
	}
	if len(wantState) > 0 && p.state != wantState[0] {
		p.mu.Unlock()
		return
	}
	l := p.stepLocked(evEnd{reason: reason})
	p.mu.Unlock()
	l.deliver(p.t.node)
}

// recordSignalLocked keeps the links and monitors between local processes
// and the peer's, so that a lost session can be reported to them.
func (p *peer) recordSignalLocked(outbound bool, local, remote actor.PID, s signal) {
	k := linkKey{local: local, remote: remote}
	switch s.Kind {
	case seam.SignalLink:
		if p.links == nil {
			p.links = make(map[linkKey]struct{})
		}
		p.links[k] = struct{}{}
	case seam.SignalUnlink, seam.SignalLinkExit:
		delete(p.links, k)
	case seam.SignalMonitor:
		if outbound {
			if p.monitors == nil {
				p.monitors = make(map[actor.Ref]remoteMonitor)
			}
			p.monitors[s.Ref] = remoteMonitor{watcher: local, target: remote}
		}
	case seam.SignalDemonitor:
		if outbound {
			delete(p.monitors, s.Ref)
		}
	case seam.SignalDown:
		if !outbound {
			delete(p.monitors, s.Ref)
		}
	}
}

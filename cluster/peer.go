package cluster

import (
	"sync"
	"sync/atomic"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
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

// peer is the session with one other node. Its fields after mu are guarded
// by mu; every transition of state happens under it, so the order of
// sends, NodeUp and NodeDown is the order of the transitions.
type peer struct {
	t    *transport
	name string
	addr string
	gw   *pa.PID

	lastSeen atomic.Int64 // unix nanos of the last envelope received
	// open is the id this node gave the open session (in), or 0 when
	// there is none: the gateway checks it without taking mu.
	open atomic.Uint64

	mu        sync.Mutex
	state     peerState
	creation  uint32 // the peer's incarnation in the open session
	epoch     uint64 // times this node declared the peer down
	peerEpoch uint64 // the peer's epoch for this node in the open session
	in        uint64 // this node's id for the session, sent in its Hello
	out       uint64 // the peer's id for the session, stamped on what is sent
	since     time.Time
	nextProbe time.Time
	probing   bool
	member    bool
	pending   []proto.Message // Envelopes and UserMessages waiting for the session
	queue     []proto.Message // what waits for the writer in the open session
	writing   bool            // a writer goroutine is draining queue
	links     map[linkKey]struct{}
	monitors  map[actor.Ref]remoteMonitor
	calls     map[uint64]chan callResult
	goodbye   chan struct{} // closed when the peer acknowledges our Goodbye
}

func (p *peer) touch() { p.lastSeen.Store(time.Now().UnixNano()) }

// stamp sets the session id on an Envelope or a UserMessage.
func stamp(m proto.Message, session uint64) {
	switch x := m.(type) {
	case *clusterpb.Envelope:
		x.Session = session
	case *clusterpb.UserMessage:
		x.Session = session
	}
}

// sendLocked hands an envelope to the session, queueing it while the
// session opens and starting a connection if there is none. It returns
// ErrQueueFull when too many envelopes wait.
func (p *peer) sendLocked(env proto.Message) error {
	switch p.state {
	case peerUp:
		if len(p.pending) == 0 {
			p.writeLocked(env)
			return nil
		}
	case peerDown:
		p.connectLocked()
	}
	if len(p.pending) >= p.t.cfg.maxPending {
		p.t.dropped.Add(1)
		return ErrQueueFull
	}
	p.pending = append(p.pending, env)
	return nil
}

// maxBatchBytes bounds the bytes of one UserBatch. protoactor's endpoint
// writer sends up to endpointWriterBatchSize of them in one gRPC message,
// which must stay under gRPC's default 4 MiB limit.
const maxBatchBytes = 32 << 10

// writeLocked hands a message to the open session in order. An envelope is
// sent at once when nothing waits for the writer; user messages, and
// everything sent while some wait, are queued for the peer's writer
// goroutine, which sends the user messages queued together as one
// UserBatch.
func (p *peer) writeLocked(m proto.Message) {
	if _, user := m.(*clusterpb.UserMessage); !user && !p.writing && len(p.queue) == 0 {
		stamp(m, p.out)
		p.t.root.Send(p.gw, m)
		return
	}
	p.queue = append(p.queue, m)
	if !p.writing {
		p.writing = true
		go p.write()
	}
}

// write is the peer's writer goroutine: it drains the queue until it finds
// it empty. Everything in the queue belongs to the open session (ending a
// session empties it), so the session id read with the queue is theirs.
func (p *peer) write() {
	var batch []proto.Message
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.writing = false
			p.mu.Unlock()
			return
		}
		batch, p.queue = p.queue, batch[:0]
		session := p.out
		p.mu.Unlock()
		p.sendBatch(batch, session)
		clear(batch)
	}
}

// sendBatch sends queued messages in order: each run of user messages as
// UserBatches, each envelope on its own.
func (p *peer) sendBatch(msgs []proto.Message, session uint64) {
	var (
		ub    *clusterpb.UserBatch
		bytes int
	)
	flush := func() {
		if ub != nil {
			p.t.root.Send(p.gw, ub)
			ub, bytes = nil, 0
		}
	}
	for i, m := range msgs {
		um, ok := m.(*clusterpb.UserMessage)
		if !ok {
			flush()
			stamp(m, session)
			p.t.root.Send(p.gw, m)
			continue
		}
		size := len(um.Payload) + len(um.Type) + len(um.ToName) + 24
		if ub != nil && bytes+size > maxBatchBytes {
			flush()
		}
		if ub == nil {
			ub = &clusterpb.UserBatch{Version: protocolVersion, Session: session, Messages: make([]*clusterpb.UserMessage, 0, min(len(msgs)-i, 256))}
		}
		ub.Messages = append(ub.Messages, um)
		bytes += size
	}
	flush()
}

// connectLocked starts opening a session: a probe of the peer's address,
// then a Hello.
func (p *peer) connectLocked() {
	if p.state != peerDown {
		return
	}
	p.state = peerConnecting
	p.since = time.Now()
	p.t.startProbe(p)
}

// helloLocked sends a Hello (or its answer) straight to the peer, giving
// the session an id first if it has none.
func (p *peer) helloLocked(ack bool) {
	if p.in == 0 {
		p.in = p.t.newSession(p)
	}
	p.t.root.Send(p.gw, p.t.envelope(&clusterpb.Envelope{Body: &clusterpb.Envelope_Hello{
		Hello: &clusterpb.Hello{Epoch: p.epoch, Ack: ack, Session: p.in},
	}}))
}

// upLocked opens the session, whose id at the peer is session, and flushes
// what waited for it.
func (p *peer) upLocked(creation uint32, epoch, session uint64, answer bool) {
	p.state = peerUp
	p.creation = creation
	p.peerEpoch = epoch
	p.out = session
	p.since = time.Now()
	p.touch()
	if p.in == 0 {
		p.in = p.t.newSession(p)
	}
	p.open.Store(p.in)
	if answer {
		p.helloLocked(true)
	}
	for i, env := range p.pending {
		p.writeLocked(env)
		p.pending[i] = nil
	}
	p.pending = p.pending[:0]
	p.t.log.Info().Str("peer", p.name).Uint32("creation", creation).Msg("node up")
	p.t.publish(NodeUp{Node: p.name})
}

// lost is what a session leaves behind when it ends.
type lost struct {
	links    map[linkKey]struct{}
	monitors map[actor.Ref]remoteMonitor
	calls    map[uint64]chan callResult
	dropped  int
}

// downLocked ends the session (or the attempt to open one) and returns what
// its watchers must be told, which the caller does with deliver once mu is
// released.
func (p *peer) downLocked(reason error) lost {
	wasUp := p.state == peerUp
	l := lost{links: p.links, monitors: p.monitors, calls: p.calls, dropped: len(p.pending) + len(p.queue)}
	p.links, p.monitors, p.calls = nil, nil, nil
	clear(p.pending)
	p.pending = p.pending[:0]
	clear(p.queue)
	p.queue = p.queue[:0]
	p.state = peerDown
	p.creation = 0
	p.open.Store(0)
	if p.in != 0 {
		p.t.sessions.Delete(p.in)
		p.in = 0
	}
	p.out = 0
	p.epoch++
	p.nextProbe = time.Now().Add(p.t.cfg.reconnectInterval)
	p.t.dropped.Add(uint64(l.dropped))
	if p.goodbye != nil {
		close(p.goodbye)
		p.goodbye = nil
	}
	if wasUp {
		p.t.log.Warn().Str("peer", p.name).Err(reason).Msg("node down")
		p.t.publish(NodeDown{Node: p.name, Reason: reason})
	} else {
		p.t.log.Debug().Str("peer", p.name).Err(reason).Msg("connect failed")
	}
	return l
}

// deliver tells every watcher of the lost session's processes: links get an
// exit signal and monitors a Down with reason NoConnection; calls fail with
// NoConnection.
func (l lost) deliver(n *actor.Node) {
	for k := range l.links {
		n.DeliverRemoteSignal(k.local, actor.RemoteSignal{Kind: actor.SignalLinkExit, From: k.remote, Reason: actor.NoConnection})
	}
	for ref, m := range l.monitors {
		n.DeliverRemoteSignal(m.watcher, actor.RemoteSignal{Kind: actor.SignalDown, From: m.target, Ref: ref, Reason: actor.NoConnection})
	}
	for _, ch := range l.calls {
		ch <- callResult{err: actor.NoConnection}
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
	l := p.downLocked(reason)
	p.mu.Unlock()
	l.deliver(p.t.node)
}

// recordSignalLocked keeps the links and monitors between local processes
// and the peer's, so that a lost session can be reported to them.
func (p *peer) recordSignalLocked(outbound bool, local, remote actor.PID, s actor.RemoteSignal) {
	k := linkKey{local: local, remote: remote}
	switch s.Kind {
	case actor.SignalLink:
		if p.links == nil {
			p.links = make(map[linkKey]struct{})
		}
		p.links[k] = struct{}{}
	case actor.SignalUnlink, actor.SignalLinkExit:
		delete(p.links, k)
	case actor.SignalMonitor:
		if outbound {
			if p.monitors == nil {
				p.monitors = make(map[actor.Ref]remoteMonitor)
			}
			p.monitors[s.Ref] = remoteMonitor{watcher: local, target: remote}
		}
	case actor.SignalDemonitor:
		if outbound {
			delete(p.monitors, s.Ref)
		}
	case actor.SignalDown:
		if !outbound {
			delete(p.monitors, s.Ref)
		}
	}
}

package cluster

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/seam"
)

// transport carries Arbor envelopes between nodes on Arbor's streams,
// served by protoactor remote's gRPC server (stream.go). It is the node's
// seam.Transport.
type transport struct {
	node     *actor.Node
	selfName string
	self     *clusterpb.NodeID
	remote   *remote.Remote
	cfg      config
	timing   timing // cfg's, as step takes it
	log      zerolog.Logger
	life     context.Context // ends when the transport stops
	endLife  context.CancelFunc
	dialer   func(addr string) (*peerConn, error)
	stopNet  func() // stops the memory network's listener; nil on the real network

	// helloInterval is the heartbeat interval every Hello announces, in
	// milliseconds (helloMillis).
	helloInterval uint32

	tcpMu    sync.Mutex
	tcpConns map[net.Conn]struct{} // the accepted TCP streams (tcp.go)

	callSeq     atomic.Uint64
	pooledCalls atomic.Uint64                          // calls made on a pool's call connection (callpool.go)
	fences      sync.Map                               // the dialer's id of an accepted stream -> *streamFence (callpool.go)
	waiters     sync.Pool                              // of *callWaiter (call)
	sessionSeq  atomic.Uint64                          // the last session id given, from a random start
	sessions    sync.Map                               // session id (this node's) -> *peer
	types       atomic.Pointer[map[string]payloadType] // copy on write
	dropped     atomic.Uint64
	received    atomic.Uint64
	leaving     atomic.Bool // set by leave: Hellos are refused

	mu      sync.Mutex
	peers   map[string]*peer // by node name
	subs    map[actor.PID]struct{}
	stopped bool

	wg    sync.WaitGroup // the loop
	conns sync.WaitGroup // dials, writers and the readers of streams
}

// newTransport makes the transport of a cluster node.
func newTransport(node *actor.Node, cfg config, log zerolog.Logger) *transport {
	t := &transport{
		node:     node,
		selfName: node.Name(),
		self:     &clusterpb.NodeID{Name: node.Name(), Creation: node.Creation()},
		cfg:      cfg,
		timing:   cfg.timing(),
		log:      log,
		peers:    make(map[string]*peer),
		subs:     make(map[actor.PID]struct{}),
	}
	t.life, t.endLife = context.WithCancel(context.Background())
	t.dialer = t.dialTCP
	t.helloInterval = helloMillis(cfg.heartbeatInterval)
	// Session ids start at random, so that ids of this boot are unlikely
	// to match those of an earlier one.
	t.sessionSeq.Store(rand.Uint64() >> 1)
	return t
}

// helloMillis is a heartbeat interval as a Hello announces it: in
// milliseconds, rounded up, at least 1 (0 means none announced).
func helloMillis(d time.Duration) uint32 {
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	return uint32(min(max(ms, 1), math.MaxUint32))
}

func (t *transport) envelope(env *clusterpb.Envelope) *clusterpb.Envelope {
	env.Version = protocolVersion
	env.From = t.self
	return env
}

// newSession gives a new session with p an id, unique during this boot.
func (t *transport) newSession(p *peer) uint64 {
	id := t.sessionSeq.Add(1)
	if id == 0 {
		id = t.sessionSeq.Add(1)
	}
	t.sessions.Store(id, p)
	return id
}

// sessionPeer returns the peer whose open session this node gave the id
// session, or nil if no open session has it.
func (t *transport) sessionPeer(session uint64) *peer {
	if session == 0 {
		return nil
	}
	v, ok := t.sessions.Load(session)
	if !ok {
		return nil
	}
	p := v.(*peer)
	if p.open.Load() != session {
		return nil
	}
	return p
}

// peerFor returns the session with a node, creating it when new. It returns
// ErrBadNodeName for a name that is not name@host:port and ErrStopped after
// stop.
func (t *transport) peerFor(name string) (*peer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return nil, ErrStopped
	}
	if p, ok := t.peers[name]; ok {
		return p, nil
	}
	_, addr, err := splitNodeName(name)
	if err != nil {
		return nil, err
	}
	if a, ok := t.cfg.peerAddrs[name]; ok {
		addr = a // WithPeerAddr
	}
	p := &peer{t: t, name: name, addr: addr}
	t.peers[name] = p
	return p, nil
}

func (t *transport) lookupPeer(name string) *peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peers[name]
}

// Send implements seam.Transport. It returns ErrNotProtoMessage (wrapped)
// for a message that is not a proto.Message, ErrTooLarge (wrapped) for one
// over MaxMessageBytes, NoProc for a PID of an earlier boot of this node,
// ErrQueueFull, ErrBadNodeName or ErrStopped. A
// nil error means the message is on its way; it is dropped if the session
// fails before it is delivered, as in Erlang.
func (t *transport) Send(_, to actor.PID, msg any) error {
	return t.sendMessage(to, "", to.NodeName(), msg, false)
}

// Cast implements seam.Transport: it sends msg as Send does, flagged as a
// cast, so that the receiving node delivers it as one (a GenServer's
// HandleCast). Its errors are Send's.
func (t *transport) Cast(_, to actor.PID, msg any) error {
	return t.sendMessage(to, "", to.NodeName(), msg, true)
}

// sendMessage sends a user message (a cast if cast is set) to a PID of
// node, or to the name toName there, encoded once as a UserMessage that
// goes into the peer's next UserBatch.
func (t *transport) sendMessage(to actor.PID, toName, node string, msg any, cast bool) error {
	return t.sendUser(to, toName, node, msg, cast, "", "")
}

// sendUser is sendMessage with the sender's span in W3C form (traceparent
// and tracestate, SendTraced), carried in the UserMessage when set.
func (t *transport) sendUser(to actor.PID, toName, node string, msg any, cast bool, traceParent, traceState string) error {
	pm, ok := msg.(proto.Message)
	if !ok || pm == nil {
		return fmt.Errorf("%w: %T", ErrNotProtoMessage, msg)
	}
	if node == t.selfName {
		return actor.NoProc
	}
	p, err := t.peerFor(node)
	if err != nil {
		return err
	}
	u := makeUserMessage(to, toName, pm, cast, traceParent, traceState)
	if u.size > MaxMessageBytes {
		return fmt.Errorf("%w: %T is %d bytes with its address", ErrTooLarge, msg, u.size)
	}
	if u.size > maxBatchBytes {
		// A message that goes alone in its batch is encoded before the
		// lock is taken, so that senders to the peer do not wait for it.
		rec, err := u.append(make([]byte, 0, u.size))
		if err != nil {
			return err
		}
		p.mu.Lock()
		err = p.sendLocked(userRecord(rec))
		p.mu.Unlock()
		return err
	}
	p.mu.Lock()
	err = p.sendUserLocked(&u)
	p.mu.Unlock()
	return err
}

// Signal implements seam.Transport. Link and monitor signals open a
// session if there is none; the others are dropped when there is no session
// (the peer's processes already saw NoConnection). It returns
// ErrBadNodeName, ErrQueueFull or ErrStopped.
func (t *transport) Signal(to actor.PID, s signal) error {
	if to.NodeName() == t.selfName {
		// A process of an earlier boot of this node: it is gone.
		t.refuse(to, s)
		return nil
	}
	p, err := t.peerFor(to.NodeName())
	if err != nil {
		return err
	}
	env := t.envelope(&clusterpb.Envelope{Body: &clusterpb.Envelope_Signal{Signal: &clusterpb.Signal{
		Kind: encodeSignalKind(s.Kind), From: encodePID(s.From), To: encodePID(to),
		Ref: encodeRef(s.Ref), Reason: encodeReason(s.Reason),
	}}})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == peerDown && s.Kind != seam.SignalLink && s.Kind != seam.SignalMonitor {
		return nil
	}
	p.recordSignalLocked(true, s.From, to, s)
	return p.sendLocked(env)
}

// refuse answers a link or monitor on a process that cannot exist, as a
// dead local process would.
func (t *transport) refuse(dead actor.PID, s signal) {
	switch s.Kind {
	case seam.SignalLink:
		rt.DeliverSignal(t.node, s.From, signal{Kind: seam.SignalLinkExit, From: dead, Reason: actor.NoProc})
	case seam.SignalMonitor:
		rt.DeliverSignal(t.node, s.From, signal{Kind: seam.SignalDown, From: dead, Ref: s.Ref, Reason: actor.NoProc})
	}
}

// Call implements seam.Transport. Errors are *actor.CallError values
// wrapping ErrNotProtoMessage, ErrTooLarge, the callee's exit reason, NoProc,
// NoConnection if the session fails first, or the context's error.
func (t *transport) Call(ctx context.Context, from, to actor.PID, msg any) (any, error) {
	v, err := t.call(ctx, from, to, "", to.NodeName(), msg)
	if err != nil {
		return nil, &actor.CallError{PID: to, Reason: err}
	}
	return v, nil
}

func (t *transport) call(ctx context.Context, from, to actor.PID, toName, node string, msg any) (any, error) {
	out := &callRequestOut{}
	if err := encodeAny(&out.payload, msg); err != nil {
		return nil, err
	}
	if len(toName) > MaxMessageBytes-len(out.payload.GetValue()) {
		return nil, fmt.Errorf("%w: a %d-byte name", ErrTooLarge, len(toName))
	}
	if node == t.selfName {
		return nil, actor.NoProc
	}
	p, err := t.peerFor(node)
	if err != nil {
		return nil, err
	}
	timeout := actor.DefaultCallTimeout
	d, hasDeadline := actor.CallerDeadline(ctx)
	if hasDeadline {
		timeout = time.Until(d)
	}
	id := t.callSeq.Add(1)
	traceParent, traceState := rt.TraceParent(t.node, ctx)
	env := t.envelope(out.envelope(id, from, to, toName, max(timeout.Milliseconds(), 1), !hasDeadline, traceParent, traceState))
	if from.IsZero() {
		// A caller outside any process (ADR 0011: calls from processes
		// stay on the stream for now).
		if v, err, ok := t.callPooled(ctx, p, env, timeout); ok {
			return v, err
		}
	}
	w, _ := t.waiters.Get().(*callWaiter)
	if w == nil {
		w = &callWaiter{ch: make(chan callResult, 1)}
	}
	ch := w.ch
	p.mu.Lock()
	if p.calls == nil {
		p.calls = make(map[uint64]chan callResult)
	}
	p.calls[id] = ch
	c, err := p.sendNowLocked(env)
	if err != nil {
		delete(p.calls, id)
		p.mu.Unlock()
		t.waiters.Put(w)
		return nil, err
	}
	p.mu.Unlock()
	if c != nil {
		p.drain(c, true) // the stream was idle: no writer to wake
	}

	if w.t == nil {
		w.t = time.NewTimer(timeout)
	} else {
		w.t.Reset(timeout)
	}
	// A process's *actor.Context (or a handler's view of it) ends only at
	// its deadline, which the timer waits for: asking its Done would arm
	// a timer of the view's as well.
	var done <-chan struct{}
	if _, isProc := ctx.(*actor.Context); !isProc {
		done = ctx.Done()
	}
	var res callResult
	select {
	case res = <-ch:
	case <-done:
		res = t.abandon(p, id, ch, ctx.Err())
	case <-w.t.C:
		res = t.abandon(p, id, ch, context.DeadlineExceeded)
	}
	// Nothing more is sent on ch: its one answer was taken (by the select
	// or abandon), or it left p.calls unanswered.
	w.t.Stop()
	t.waiters.Put(w)
	return res.value, res.err
}

// callWaiter is what a remote call waits with: its answer's channel and
// its timer, pooled per transport (as package actor pools a local call's
// per node, and so within one synctest bubble), so that a call allocates
// neither.
type callWaiter struct {
	ch chan callResult
	t  *time.Timer
}

// abandon forgets a call unless its answer already came.
func (t *transport) abandon(p *peer, id uint64, ch chan callResult, reason error) callResult {
	p.mu.Lock()
	_, waiting := p.calls[id]
	delete(p.calls, id)
	p.mu.Unlock()
	if waiting {
		return callResult{err: reason}
	}
	return <-ch
}

// publish sends a node event to every subscriber, dropping those that died.
func (t *transport) publish(ev any) {
	t.mu.Lock()
	subs := make([]actor.PID, 0, len(t.subs))
	for pid := range t.subs {
		subs = append(subs, pid)
	}
	t.mu.Unlock()
	for _, pid := range subs {
		if err := t.node.Send(pid, ev); err != nil {
			t.mu.Lock()
			delete(t.subs, pid)
			t.mu.Unlock()
		}
	}
}

// loop sends heartbeats, detects silent peers and reconnects to members.
func (t *transport) loop() {
	defer t.wg.Done()
	tick := time.NewTicker(t.cfg.heartbeatInterval)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-t.life.Done():
			return
		case <-tick.C:
		}
		t.mu.Lock()
		peers := make([]*peer, 0, len(t.peers))
		for _, p := range t.peers {
			peers = append(peers, p)
		}
		t.mu.Unlock()
		now := time.Now()
		away := away(last, now, t.timing)
		if away > 0 {
			t.log.Info().Dur("away", away).Msg("this node was not running; peers keep their sessions for a heartbeat timeout")
		}
		last = now
		for _, p := range peers {
			p.mu.Lock()
			l := p.stepLocked(evTick{lastSeen: time.Unix(0, p.lastSeen.Load()), away: away, dialing: p.dialing})
			p.mu.Unlock()
			l.deliver(t.node)
		}
	}
}

// setMembers marks which peers the membership provider lists; the loop
// keeps trying to connect to those.
func (t *transport) setMembers(names []string) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		if n == t.selfName {
			continue
		}
		if _, err := t.peerFor(n); err != nil {
			t.log.Warn().Str("peer", n).Err(err).Msg("ignoring member with a bad name")
			continue
		}
		want[n] = true
	}
	t.mu.Lock()
	peers := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		peers = append(peers, p)
	}
	t.mu.Unlock()
	for _, p := range peers {
		p.mu.Lock()
		p.stepLocked(evMember{member: want[p.name]})
		p.mu.Unlock()
	}
}

// nodes returns the peers with an open session.
func (t *transport) nodes() []string {
	t.mu.Lock()
	peers := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		peers = append(peers, p)
	}
	t.mu.Unlock()
	var out []string
	for _, p := range peers {
		p.mu.Lock()
		if p.state == peerUp {
			out = append(out, p.name)
		}
		p.mu.Unlock()
	}
	return out
}

// leave sends a Goodbye to every peer with an open session and waits until
// each acknowledges it (or its session ends), at most until ctx ends or the
// heartbeat timeout passes. Called once the node's processes have exited,
// it makes sure their exit signals reached the peers before the
// connections close. From then on the node refuses new sessions.
func (t *transport) leave(ctx context.Context) {
	t.leaving.Store(true)
	t.mu.Lock()
	peers := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		peers = append(peers, p)
	}
	t.mu.Unlock()
	var acks []chan struct{}
	for _, p := range peers {
		p.mu.Lock()
		if p.state == peerUp {
			if p.goodbye == nil {
				p.goodbye = make(chan struct{})
				// After everything queued before it: the exit signals
				// of this node's processes.
				p.writeLocked(t.envelope(&clusterpb.Envelope{Body: &clusterpb.Envelope_Goodbye{Goodbye: &clusterpb.Goodbye{}}}))
			}
			acks = append(acks, p.goodbye)
		}
		p.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.heartbeatTimeout)
	defer cancel()
	for _, ch := range acks {
		select {
		case <-ch:
		case <-ctx.Done():
			t.log.Warn().Err(ctx.Err()).Msg("leaving without every peer's acknowledgement")
			return
		}
	}
}

// stop ends every session and the loop, and waits for the goroutines of
// the streams to end.
func (t *transport) stop() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.stopped = true
	t.endLife()
	peers := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		peers = append(peers, p)
	}
	t.mu.Unlock()
	t.wg.Wait()
	for _, p := range peers {
		p.down(ErrStopped)
		p.closeConn()
	}
	t.closeTCP()
	if t.stopNet != nil {
		// Ends the readers of the streams it accepted, once no session
		// is open: they end none.
		t.stopNet()
	}
	t.conns.Wait()
}

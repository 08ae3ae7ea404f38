package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/seam"
)

// handleUserBatch delivers the user messages of a batch from a peer with
// an open session, in order; it drops (and counts) them otherwise. A
// message that does not parse ends the batch: what follows it cannot be
// found. It returns the peer of the batch's session and the session's id,
// nil and 0 if there is none.
//
// The batch is delivered under the peer's mu, checked once more against
// the open session: a session that ended meanwhile (its NodeDown is
// published under mu) gets nothing delivered after it. Delivery only
// enqueues, and one lock is taken per batch, not per message.
func (t *transport) handleUserBatch(b *clusterpb.UserBatch) (*peer, uint64) {
	return t.handleUsers(b.GetVersion(), b.GetSession(), b.GetMessages())
}

// handleUsers is handleUserBatch on a batch's fields: its protocol
// version, session and length-prefixed messages, which may alias the
// stream's packet buffer (parseUsersPacket): each message's fields are
// copied or decoded into values of their own before it returns.
func (t *transport) handleUsers(version uint32, session uint64, data []byte) (*peer, uint64) {
	stamped := session
	var (
		reason error
		p      *peer
		from   *peer // the peer of the session, open or not: drops are counted on it
	)
	drop := func() {
		t.dropped.Add(1)
		if from != nil {
			from.dropped.Add(1)
		}
	}
	if version != protocolVersion {
		reason = fmt.Errorf("%w: %d", ErrVersion, version)
	} else if p = t.sessionPeer(session); p == nil {
		reason = errors.New("not from an open session")
	} else {
		p.touch()
		p.mu.Lock()
		defer p.mu.Unlock()
		from = p
		if !p.isOpen(session) {
			reason, p = errors.New("from a session that ended"), nil
		}
	}
	if p == nil {
		session = 0
	}
	for len(data) > 0 {
		t.received.Add(1)
		rec, n := protowire.ConsumeBytes(data)
		if n < 0 {
			drop()
			t.log.Debug().Uint64("session", stamped).Err(ErrMalformed).Msg("dropped the rest of a batch from peer")
			return p, session
		}
		data = data[n:]
		if reason != nil {
			drop()
			continue
		}
		f, err := parseUserMessage(rec)
		if err != nil {
			drop()
			t.log.Debug().Uint64("session", stamped).Err(err).Msg("dropped the rest of a batch from peer")
			return p, session
		}
		if !t.deliverFields(f) {
			from.dropped.Add(1)
		}
	}
	if reason != nil {
		t.log.Debug().Uint64("session", stamped).Err(reason).Msg("dropped a batch from peer")
	}
	return p, session
}

// deliverFields delivers a user message of an open session to its local
// target, as a cast if it was sent as one; a message to a dead process or
// an unknown name is dropped, as in Erlang. It returns false for a
// message it dropped as malformed (counted in t.dropped).
func (t *transport) deliverFields(f userFields) bool {
	var to actor.PID
	if len(f.toName) > 0 {
		pid, ok := t.node.WhereIs(string(f.toName))
		if !ok {
			return true
		}
		to = pid
	} else {
		to = rt.NewPID(t.selfName, f.toCreation, f.toIndex, f.toSerial)
		if !t.node.IsLocal(to) {
			return true // a message to a dead process is dropped, as in Erlang
		}
	}
	pt, err := t.payloadType(f.typ)
	if err == nil {
		var (
			m      any
			direct bool
		)
		if pt.fast != nil {
			m, direct = pt.fast.DecodeArborPayloadFast(f.payload)
		}
		if !direct {
			m = pt.mt.New().Interface()
			if d, ok := m.(payloadDecoder); ok {
				m, err = d.DecodeArborPayload(f.payload)
			} else {
				err = proto.Unmarshal(f.payload, m.(proto.Message))
			}
		}
		if err == nil {
			if len(f.traceParent) > 0 {
				_ = rt.DeliverTraced(t.node, to, m, f.cast, string(f.traceParent), string(f.traceState))
				return true
			}
			_ = rt.DeliverLocal(t.node, to, m, f.cast)
			return true
		}
		err = fmt.Errorf("%w: payload %s: %v", ErrMalformed, f.typ, err)
	}
	t.dropped.Add(1)
	t.log.Debug().Err(err).Msg("dropped message from peer")
	return false
}

// payloadDecoder is a message type of Arbor's own that decodes its
// payloads itself (package registry's replication messages), into the
// value to deliver: the message or a form of it its receiver accepts.
type payloadDecoder interface {
	DecodeArborPayload(payload []byte) (any, error)
}

// payloadFastDecoder is a message type of Arbor's own that decodes most
// of its payloads without a message of its own (package registry's
// replication messages): DecodeArborPayloadFast returns the value to
// deliver, or false to leave the payload to payloadDecoder or the
// generic decoder. It is called on the type's zero message
// (MessageType.Zero), so it must not use its receiver; a message type
// that has it saves a new message per payload it decodes.
type payloadFastDecoder interface {
	DecodeArborPayloadFast(payload []byte) (any, bool)
}

// payloadType is a message type found by name, with its fast decoder if
// it has one.
type payloadType struct {
	mt   protoreflect.MessageType
	fast payloadFastDecoder
}

// messageType finds a message type by its full name (payloadType).
func (t *transport) messageType(name []byte) (protoreflect.MessageType, error) {
	pt, err := t.payloadType(name)
	return pt.mt, err
}

// payloadType finds a message type by its full name, through a cache of
// the types found so far (the cache only holds types linked into this
// binary, so it stays bounded). It returns ErrMalformed for an unknown
// type.
func (t *transport) payloadType(name []byte) (payloadType, error) {
	cache := t.types.Load()
	if cache != nil {
		if pt, ok := (*cache)[string(name)]; ok {
			return pt, nil
		}
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	if err != nil {
		return payloadType{}, fmt.Errorf("%w: payload type %q: %v", ErrMalformed, name, err)
	}
	pt := payloadType{mt: mt}
	pt.fast, _ = mt.Zero().Interface().(payloadFastDecoder)
	for {
		next := make(map[string]payloadType, 1)
		if cache != nil {
			maps.Copy(next, *cache)
		}
		next[string(name)] = pt
		if t.types.CompareAndSwap(cache, &next) {
			return pt, nil
		}
		cache = t.types.Load()
	}
}

// drop counts and logs an envelope that cannot be handled, on the peer
// it names as its sender too if that is a known peer.
func (t *transport) drop(env *clusterpb.Envelope, reason error) {
	t.dropped.Add(1)
	if name := env.GetFrom().GetName(); name != "" && name != t.selfName {
		if p := t.lookupPeer(name); p != nil {
			p.dropped.Add(1)
		}
	}
	t.log.Debug().Str("from", env.GetFrom().GetName()).Err(reason).Msg("dropped envelope from peer")
}

// handle acts on one envelope from a peer and returns the peer whose
// open session it was stamped with and that session's id, which it
// checked (nil and 0 if none; a Hello, HelloRefused or SessionClosed
// carries no session of this node's, so its session is 0). Nothing in it may block: it runs on
// the reader of the peer's stream.
func (t *transport) handle(env *clusterpb.Envelope) (*peer, uint64) {
	t.received.Add(1)
	if err := checkEnvelope(env); err != nil {
		t.drop(env, err)
		return nil, 0
	}
	from := env.GetFrom()
	if from.GetName() == t.selfName {
		t.drop(env, errors.New("envelope from this node's own name"))
		return nil, 0
	}
	if h, ok := env.GetBody().(*clusterpb.Envelope_Hello); ok {
		p, err := t.peerFor(from.GetName())
		if err != nil {
			t.drop(env, err)
			return nil, 0
		}
		if h.Hello.GetTo() != t.selfName {
			t.refuseHello(p, h.Hello) // misnamed.go
			return nil, 0
		}
		t.onHello(p, from.GetCreation(), h.Hello)
		return p, 0
	}
	if r, ok := env.GetBody().(*clusterpb.Envelope_HelloRefused); ok {
		t.onHelloRefused(from.GetName(), r.HelloRefused) // misnamed.go
		return nil, 0
	}
	if sc, ok := env.GetBody().(*clusterpb.Envelope_SessionClosed); ok {
		p := t.lookupPeer(from.GetName())
		if p == nil {
			t.drop(env, errors.New("session closed by an unknown node"))
			return nil, 0
		}
		t.onSessionClosed(p, sc.SessionClosed)
		return p, 0
	}
	p := t.sessionPeer(env.GetSession())
	if p == nil {
		t.drop(env, errors.New("not from an open session"))
		t.tellClosed(from.GetName(), env.GetSession())
		return nil, 0
	}
	if p.name != from.GetName() {
		t.drop(env, errors.New("stamped with the session of another node"))
		return nil, 0
	}
	p.touch()
	switch b := env.GetBody().(type) {
	case *clusterpb.Envelope_Heartbeat:
	case *clusterpb.Envelope_Message:
		t.onMessage(p, env, b.Message)
	case *clusterpb.Envelope_Signal:
		t.onSignal(p, env, b.Signal)
	case *clusterpb.Envelope_CallRequest:
		t.onCallRequest(p, env, b.CallRequest)
	case *clusterpb.Envelope_CallReply:
		t.onCallReply(p, b.CallReply)
	case *clusterpb.Envelope_Goodbye:
		t.onGoodbye(p, env, b.Goodbye)
	default:
		t.drop(env, errors.New("unknown body"))
	}
	return p, env.GetSession()
}

// onHello opens a session, or reopens it when the peer restarted or
// declared this node down since the session opened.
func (t *transport) onHello(p *peer, creation uint32, h *clusterpb.Hello) {
	p.mu.Lock()
	l := p.stepLocked(evHello{
		creation: creation, epoch: h.GetEpoch(), session: h.GetSession(),
		ack: h.GetAck(), answers: h.GetAnswers(), leaving: t.leaving.Load(),
		interval: time.Duration(h.GetHeartbeatIntervalMs()) * time.Millisecond,
	})
	p.mu.Unlock()
	l.deliver(t.node)
}

// tellClosed tells the node named name that session, an id this node
// gave, is not open here (at most once per heartbeat interval). Only a
// node this node knows is told.
func (t *transport) tellClosed(name string, session uint64) {
	p := t.lookupPeer(name)
	if p == nil {
		return
	}
	p.mu.Lock()
	p.stepLocked(evStale{session: session, leaving: t.leaving.Load()})
	p.mu.Unlock()
}

// onSessionClosed ends the session with p if the peer no longer has it
// open: the session this node stamps with the id the peer closed.
func (t *transport) onSessionClosed(p *peer, sc *clusterpb.SessionClosed) {
	p.mu.Lock()
	l := p.stepLocked(evSessionClosed{session: sc.GetSession()})
	p.mu.Unlock()
	l.deliver(t.node)
}

// localTarget resolves the target of a message or call: a PID of this
// node's current boot, or a registered name. ok is false if there is none.
func (t *transport) localTarget(pid *clusterpb.PID, name string) (actor.PID, bool) {
	if name != "" {
		return t.node.WhereIs(name)
	}
	to := decodePID(pid)
	return to, t.node.IsLocal(to)
}

// onMessage delivers a message of the open session env was stamped with,
// under p.mu and only if that session is still open: nothing of a session
// is delivered after its NodeDown (published under mu).
func (t *transport) onMessage(p *peer, env *clusterpb.Envelope, m *clusterpb.Message) {
	to, ok := t.localTarget(m.GetTo(), m.GetToName())
	if !ok {
		return // a message to a dead process is dropped, as in Erlang
	}
	msg, err := decodePayload(m.GetPayload())
	if err != nil {
		t.drop(env, err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.isOpen(env.GetSession()) {
		t.drop(env, errors.New("from a session that ended"))
		return
	}
	_ = rt.DeliverLocal(t.node, to, msg, m.GetCast()) // only enqueues
}

func (t *transport) onSignal(p *peer, env *clusterpb.Envelope, s *clusterpb.Signal) {
	kind, ok := decodeSignalKind(s.GetKind())
	from := decodePID(s.GetFrom())
	// Only an exit signal may come from no process (Node.Exit): the zero
	// PID names no node. Any other sender must be of the sending node.
	if !ok || (from.IsZero() && kind != seam.SignalExit) || (!from.IsZero() && from.NodeName() != p.name) {
		t.drop(env, errors.New("bad signal"))
		return
	}
	to := decodePID(s.GetTo())
	sig := signal{Kind: kind, From: from, Ref: decodeRef(s.GetRef()), Reason: decodeReason(s.GetReason())}
	if !t.node.IsLocal(to) {
		// A process of an earlier boot of this node, or of no node.
		t.refuse(to, sig)
		return
	}
	// The signal is recorded and delivered only while its session is
	// open, and before what the session's end tells the watchers: a Link
	// recorded after the end would never get its NoConnection, and one
	// delivered after the NoConnection would stay. It cannot be delivered
	// under mu (a dead target answers through Signal, which takes mu):
	// deliverMu orders it with lost.deliver instead.
	p.deliverMu.Lock()
	defer p.deliverMu.Unlock()
	p.mu.Lock()
	if !p.isOpen(env.GetSession()) {
		p.mu.Unlock()
		t.drop(env, errors.New("from a session that ended"))
		return
	}
	p.recordSignalLocked(false, to, from, sig)
	p.mu.Unlock()
	rt.DeliverSignal(t.node, to, sig)
}

func (t *transport) onCallRequest(p *peer, env *clusterpb.Envelope, c *clusterpb.CallRequest) {
	t.serveRequest(p, env, c, nil, false)
}

// serveRequest serves a call request of p's open session decoded by
// proto: its reply goes into the session's stream, or, for a request that
// came on a call connection (callpool.go), onto conn; inline is serveCall's.
func (t *transport) serveRequest(p *peer, env *clusterpb.Envelope, c *clusterpb.CallRequest, conn *poolServer, inline bool) {
	id, session := c.GetCallId(), env.GetSession()
	to, ok := t.localTarget(c.GetTo(), c.GetToName())
	if !ok {
		t.answerOn(conn, p, id, session, nil, actor.NoProc)
		return
	}
	msg, err := decodePayload(c.GetPayload())
	if err != nil {
		t.drop(env, err)
		t.answerOn(conn, p, id, session, nil, err)
		return
	}
	t.serveCall(p, id, session, decodePID(c.GetFrom()), to, msg, c.GetTimeoutMs(), c.GetDefaultTimeout(), c.GetTraceParent(), c.GetTraceState(), conn, inline)
}

// serveCall posts a call request from p to its local target. The request
// expires at the caller's deadline (its remaining time from now), with no
// timer: once the caller gave up, a late answer is dropped. The answer
// goes into p's stream, or onto conn, the call connection the request
// came on; inline (set only on conn's own goroutine, ADR 0011's
// amendment) lends the goroutine to the target if it is idle.
func (t *transport) serveCall(p *peer, id, session uint64, from, to actor.PID, msg proto.Message, timeoutMs int64, defaultTimeout bool, traceParent, traceState string, conn *poolServer, inline bool) {
	var req *actor.Request
	if conn == nil {
		req = rt.NewRequest(from, msg, func(v any, err error) { t.answerCall(p, id, session, v, err) })
	} else {
		req = rt.NewRequest(from, msg, func(v any, err error) { conn.answer(id, v, err) })
	}
	rt.SetRequestTrace(t.node, req, traceParent, traceState)
	if timeoutMs > 0 {
		rt.SetRequestDeadline(req, time.Now().Add(time.Duration(timeoutMs)*time.Millisecond), !defaultTimeout)
	}
	post := rt.Post
	if inline {
		post = rt.PostRun
	}
	if err := post(t.node, to, req); err != nil {
		t.answerOn(conn, p, id, session, nil, actor.NoProc)
	}
}

// answerOn is answerCall, or conn's answer for a request that came on a
// call connection.
func (t *transport) answerOn(conn *poolServer, p *peer, id, session uint64, v any, err error) {
	if conn != nil {
		conn.answer(id, v, err)
		return
	}
	t.answerCall(p, id, session, v, err)
}

// answerCall sends the answer to call id of p's session: only into that
// session, the one the call came in.
func (t *transport) answerCall(p *peer, id, session uint64, v any, err error) {
	o := newReplyOut(id, v, err)
	o.body.CallReply = &o.reply
	o.env.Body = &o.body
	out := t.envelope(&o.env)
	var c *peerConn
	p.mu.Lock()
	if p.open.Load() == session {
		c = p.writeNowLocked(out)
	}
	p.mu.Unlock()
	if c != nil {
		p.drain(c, true) // the stream was idle: no writer to wake
	}
}

// newReplyOut builds the reply to call id: v, or err (or v's encoding's).
func newReplyOut(id uint64, v any, err error) *callReplyOut {
	o := &callReplyOut{}
	o.reply.CallId = id
	if err == nil {
		err = encodeAny(&o.value, v)
	}
	if err != nil {
		o.failed.Error = encodeReason(err)
		o.reply.Result = &o.failed
	} else {
		o.payload.Payload = &o.value
		o.reply.Result = &o.payload
	}
	return o
}

// onCallRequestHot is onCallRequest for a request decoded by hand; conn
// and inline are serveRequest's (nil and false for the stream's).
func (t *transport) onCallRequestHot(p *peer, f *hotFields, conn *poolServer, inline bool) {
	var (
		to actor.PID
		ok bool
	)
	if len(f.toName) > 0 {
		to, ok = t.node.WhereIs(string(f.toName))
	} else {
		to = t.hotPID(p, &f.to)
		ok = t.node.IsLocal(to)
	}
	if !ok {
		t.answerOn(conn, p, f.callID, f.session, nil, actor.NoProc)
		return
	}
	msg, err := t.decodeHotPayload(&f.payload)
	if err != nil {
		t.dropFrom(p, err)
		t.answerOn(conn, p, f.callID, f.session, nil, err)
		return
	}
	var traceParent, traceState string
	if len(f.traceParent) > 0 {
		traceParent, traceState = string(f.traceParent), string(f.traceState)
	}
	t.serveCall(p, f.callID, f.session, t.hotPID(p, &f.from), to, msg, f.timeoutMs, f.defaultTimeout, traceParent, traceState, conn, inline)
}

// hotPID is decodePID for a PID decoded by hand, in an envelope from p: a
// PID of this node or of p takes no string of its own.
func (t *transport) hotPID(p *peer, f *pidFields) actor.PID {
	if !f.set || len(f.node) == 0 {
		return actor.PID{}
	}
	var node string
	switch string(f.node) {
	case t.selfName:
		node = t.selfName
	case p.name:
		node = p.name
	default:
		node = string(f.node)
	}
	return rt.NewPID(node, f.creation, f.index, f.serial)
}

// decodeHotPayload is decodePayload for an Any decoded by hand: its type
// is found in the transport's cache. Any failure is decodePayload's, with
// its error.
func (t *transport) decodeHotPayload(a *anyFields) (proto.Message, error) {
	if a.set {
		name := a.url
		if i := bytes.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		if mt, err := t.messageType(name); err == nil {
			m := mt.New().Interface()
			if proto.Unmarshal(a.value, m) == nil {
				return m, nil
			}
		}
		return decodePayload(&anypb.Any{TypeUrl: string(a.url), Value: a.value})
	}
	return decodePayload(nil)
}

// onCallReplyHot is onCallReply for a reply decoded by hand.
func (t *transport) onCallReplyHot(p *peer, f *hotFields) {
	p.mu.Lock()
	ch, ok := p.calls[f.callID]
	delete(p.calls, f.callID)
	p.mu.Unlock()
	if !ok {
		return // the caller gave up
	}
	ch <- t.hotReplyResult(f)
}

// hotReplyResult is replyResult for a reply decoded by hand.
func (t *transport) hotReplyResult(f *hotFields) callResult {
	var res callResult
	switch f.result {
	case fieldReplyPayload:
		var m proto.Message
		m, res.err = t.decodeHotPayload(&f.payload)
		if res.err == nil {
			res.value = m
		}
	case fieldReplyError:
		res.err = decodeReason(&clusterpb.Reason{Kind: clusterpb.ReasonKind(f.reasonKind), Text: string(f.reasonText)})
	default:
		res.err = ErrMalformed
	}
	return res
}

// dropFrom is drop for an envelope from p decoded by hand.
func (t *transport) dropFrom(p *peer, reason error) {
	t.dropped.Add(1)
	p.dropped.Add(1)
	t.log.Debug().Str("from", p.name).Err(reason).Msg("dropped envelope from peer")
}

// handleHot acts on a hot envelope decoded by hand as handle acts on its
// generated form, for the envelope of an open session from its peer. It
// reports false, having done nothing, for any other (a drop to count and
// log, a session to tell closed), which handle then judges.
func (t *transport) handleHot(f *hotFields) (*peer, bool) {
	if f.version != protocolVersion || f.fromCreation == 0 || len(f.fromName) == 0 {
		return nil, false
	}
	p := t.sessionPeer(f.session)
	// A peer's name is a valid node name (peerFor), never this node's.
	if p == nil || p.name != string(f.fromName) || p.name == t.selfName {
		return nil, false
	}
	t.received.Add(1)
	p.touch()
	if f.body == fieldEnvCallRequest {
		t.onCallRequestHot(p, f, nil, false)
	} else {
		t.onCallReplyHot(p, f)
	}
	return p, true
}

func (t *transport) onCallReply(p *peer, r *clusterpb.CallReply) {
	p.mu.Lock()
	ch, ok := p.calls[r.GetCallId()]
	delete(p.calls, r.GetCallId())
	p.mu.Unlock()
	if !ok {
		return // the caller gave up
	}
	ch <- replyResult(r)
}

// onGoodbye ends the session with a peer that leaves the cluster, after
// acknowledging its Goodbye; or, for an acknowledgement, tells leave that
// the peer has everything this node sent.
func (t *transport) onGoodbye(p *peer, env *clusterpb.Envelope, g *clusterpb.Goodbye) {
	p.mu.Lock()
	if !p.isOpen(env.GetSession()) {
		// A Goodbye of a session that ended meanwhile: it must not end
		// (or acknowledge) a newer one.
		p.mu.Unlock()
		t.drop(env, errors.New("from a session that ended"))
		return
	}
	if g.GetAck() {
		if p.goodbye != nil {
			close(p.goodbye)
			p.goodbye = nil
		}
		p.mu.Unlock()
		return
	}
	// The acknowledgement goes last on the stream, which is then closed
	// gracefully rather than with the session.
	ack := t.envelope(&clusterpb.Envelope{Session: p.out, Body: &clusterpb.Envelope_Goodbye{Goodbye: &clusterpb.Goodbye{Ack: true}}})
	c := p.detachConnLocked()
	l := p.downLocked(ErrNodeLeft)
	p.mu.Unlock()
	if c != nil {
		if pkt, err := envelopePacket(ack); err == nil {
			c.finish(t, pkt)
		} else {
			c.close()
		}
	}
	l.deliver(t.node)
}

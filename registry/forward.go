package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// maxUpdateRetries bounds the retries of an Update or UpdateMember of a
// remote entry that keeps changing under it.
const maxUpdateRetries = 8

// forward sends a write about a process of node owner to its scope
// process and waits until this node has applied the owner's announcement
// of it (docs/registry.md, "Forwarded writes").
func (s *Scope) forward(ctx context.Context, owner string, w *registrypb.Write) (*registrypb.WriteResult, error) {
	w.Version, w.Scope, w.Requester = protocolVersion, s.name, cluster.MarshalPID(s.PID())
	if asks := s.asks.Load(); asks != nil {
		w.Session = (*asks)[owner]
	}
	v, err := s.cl.CallNamed(ctx, owner, ScopeProcessName(s.name), w)
	if err != nil {
		return nil, fmt.Errorf("forward to node %s: %w", owner, err)
	}
	res, ok := v.(*registrypb.WriteResult)
	if !ok {
		return nil, fmt.Errorf("forward to node %s: reply %T", owner, v)
	}
	if res.GetCode() == registrypb.WriteResult_OK || res.GetSession() != 0 {
		v, err := s.call(ctx, awaitReq{node: owner, session: res.GetSession(), seq: res.GetSeq()})
		if err != nil {
			return nil, err
		}
		if err, ok := v.(error); ok && err != nil {
			return nil, fmt.Errorf("forward to node %s: %w", owner, err)
		}
	}
	return res, nil
}

// resultErr turns a forwarded write's result into the error the same
// local write returns.
func (s *Scope) resultErr(res *registrypb.WriteResult, name string) error {
	holder := func() actor.PID {
		pid, _ := cluster.UnmarshalPID(res.GetHolder())
		return pid
	}
	switch res.GetCode() {
	case registrypb.WriteResult_OK:
		return nil
	case registrypb.WriteResult_TAKEN:
		return &NameError{Scope: s.name, Name: name, Holder: holder(), Err: ErrTaken}
	case registrypb.WriteResult_NOT_OWNER:
		return &NameError{Scope: s.name, Name: name, Holder: holder(), Err: ErrNotOwner}
	case registrypb.WriteResult_NOT_REGISTERED:
		return ErrNotRegistered
	case registrypb.WriteResult_NOT_IN_GROUP:
		return ErrNotInGroup
	case registrypb.WriteResult_NOT_ALIVE:
		return ErrNotAlive
	case registrypb.WriteResult_NOT_MEMBER:
		return ErrNotLocal
	}
	return fmt.Errorf("%w: %s", errBadMessage, res.GetDetail())
}

// forwardWrite is forward for a write whose reply is only an error.
func (s *Scope) forwardWrite(ctx context.Context, owner, name string, w *registrypb.Write) error {
	res, err := s.forward(ctx, owner, w)
	if err != nil {
		return err
	}
	return s.resultErr(res, name)
}

func (s *Scope) forwardRegister(ctx context.Context, name string, pid actor.PID, meta any) error {
	m, err := encodeMeta(meta)
	if err != nil {
		return err
	}
	return s.forwardWrite(ctx, pid.NodeName(), name, &registrypb.Write{Op: &registrypb.Write_Register{
		Register: &registrypb.Name{Name: name, Pid: cluster.MarshalPID(pid), Meta: m}}})
}

func (s *Scope) forwardUnregister(ctx context.Context, name string, pid actor.PID) error {
	return s.forwardWrite(ctx, pid.NodeName(), name, &registrypb.Write{Op: &registrypb.Write_Unregister{
		Unregister: &registrypb.Unregister{Name: name, Pid: cluster.MarshalPID(pid)}}})
}

func (s *Scope) forwardJoin(ctx context.Context, group string, pid actor.PID, meta any) error {
	m, err := encodeMeta(meta)
	if err != nil {
		return err
	}
	return s.forwardWrite(ctx, pid.NodeName(), group, &registrypb.Write{Op: &registrypb.Write_Join{
		Join: &registrypb.Member{Group: group, Pid: cluster.MarshalPID(pid), Meta: m}}})
}

func (s *Scope) forwardLeave(ctx context.Context, group string, pid actor.PID) error {
	return s.forwardWrite(ctx, pid.NodeName(), group, &registrypb.Write{Op: &registrypb.Write_Leave{
		Leave: &registrypb.Unregister{Name: group, Pid: cluster.MarshalPID(pid)}}})
}

// forwardUpdate runs fn on the metadata this node sees and asks the owner
// to store the result if the entry has not changed meanwhile, retrying
// with the newer entry otherwise.
func (s *Scope) forwardUpdate(ctx context.Context, name string, fn func(actor.PID, any) any) (actor.PID, any, error) {
	for range maxUpdateRetries {
		it := s.names.load(name)
		if it == nil {
			return actor.PID{}, nil, ErrNotRegistered
		}
		e := it.val
		if s.node.IsLocal(e.pid) {
			return actor.PID{}, nil, errRetryLocal
		}
		meta, err := safeUpdate(func() any { return fn(e.pid, metaValue(e.meta)) })
		if err == nil {
			err = checkMeta(meta)
		}
		if err != nil {
			return actor.PID{}, nil, err
		}
		m, _ := encodeMeta(meta)
		res, err := s.forward(ctx, e.pid.NodeName(), &registrypb.Write{Op: &registrypb.Write_Update{
			Update: &registrypb.UpdateIf{Name: name, Time: e.time, Meta: m}}})
		if err != nil {
			return actor.PID{}, nil, err
		}
		if res.GetCode() == registrypb.WriteResult_CHANGED {
			continue
		}
		return e.pid, meta, s.resultErr(res, name)
	}
	return actor.PID{}, nil, ErrUpdateContended
}

// forwardUpdateMember is forwardUpdate for a membership.
func (s *Scope) forwardUpdateMember(ctx context.Context, group string, pid actor.PID, fn func(any) any) (any, error) {
	for range maxUpdateRetries {
		it := s.members.load(memberKey{group, pid})
		if it == nil {
			return nil, ErrNotInGroup
		}
		meta, err := safeUpdate(func() any { return fn(metaValue(it.val.meta)) })
		if err == nil {
			err = checkMeta(meta)
		}
		if err != nil {
			return nil, err
		}
		m, _ := encodeMeta(meta)
		res, err := s.forward(ctx, pid.NodeName(), &registrypb.Write{Op: &registrypb.Write_UpdateMember{
			UpdateMember: &registrypb.UpdateMemberIf{Group: group, Pid: cluster.MarshalPID(pid), Time: it.val.time, Meta: m}}})
		if err != nil {
			return nil, err
		}
		if res.GetCode() == registrypb.WriteResult_CHANGED {
			continue
		}
		return meta, s.resultErr(res, group)
	}
	return nil, ErrUpdateContended
}

// errRetryLocal tells Update that the name moved to a local process.
var errRetryLocal = errors.New("registry: entry is local")

// forwarded makes a write that another node of the scope forwarded.
func (p *scopeProc) forwarded(ctx *actor.Context, w *registrypb.Write) *registrypb.WriteResult {
	bad := func(err error) *registrypb.WriteResult {
		p.drop(ctx, "bad forwarded write", err)
		return &registrypb.WriteResult{Code: registrypb.WriteResult_BAD_REQUEST, Detail: err.Error()}
	}
	if p.repl == nil || w.GetVersion() != protocolVersion || w.GetScope() != p.s.name {
		return bad(fmt.Errorf("%w: version %d scope %q", errBadMessage, w.GetVersion(), w.GetScope()))
	}
	req, err := decodePID(w.GetRequester(), "")
	if err != nil {
		return bad(err)
	}
	// The requester is only what the call claims: it must be the scope
	// process whose Discover opened the out stream, and carry the ask of
	// that Discover (or of one of its last few), which only it and this
	// process know.
	l := p.repl.peers[req.NodeName()]
	if l == nil || l.out != req || l.outAsk == 0 || !slices.Contains(l.outAsks, w.GetSession()) {
		p.s.forged.Add(1)
		p.drop(ctx, "forwarded write not from a scope process of the scope", nil)
		ctx.Logger().Warn().Str("scope", p.s.name).Str("requester", req.String()).Msg("registry forwarded write refused: not from a peer of the scope")
		return &registrypb.WriteResult{Code: registrypb.WriteResult_NOT_MEMBER}
	}
	self := p.repl.self
	var res any
	switch op := w.GetOp().(type) {
	case *registrypb.Write_Register:
		pid, err := decodePID(op.Register.GetPid(), self)
		if err != nil || op.Register.GetName() == "" {
			return bad(fmt.Errorf("%w: register %v", errBadMessage, err))
		}
		res = p.register(ctx, newRegisterReq(op.Register.GetName(), pid, decodeMeta(op.Register.GetMeta()), false))
	case *registrypb.Write_Unregister:
		pid, err := decodePID(op.Unregister.GetPid(), self)
		if err != nil {
			return bad(err)
		}
		res = p.unregister(ctx, unregisterReq{name: op.Unregister.GetName(), pid: pid})
	case *registrypb.Write_Join:
		pid, err := decodePID(op.Join.GetPid(), self)
		if err != nil || op.Join.GetGroup() == "" {
			return bad(fmt.Errorf("%w: join %v", errBadMessage, err))
		}
		res = p.join(ctx, joinReq{group: op.Join.GetGroup(), pid: pid, meta: decodeMeta(op.Join.GetMeta())})
	case *registrypb.Write_Leave:
		pid, err := decodePID(op.Leave.GetPid(), self)
		if err != nil {
			return bad(err)
		}
		res = p.leave(ctx, leaveReq{group: op.Leave.GetName(), pid: pid})
	case *registrypb.Write_Update:
		u := op.Update
		it := p.s.names.load(u.GetName())
		if it == nil || !p.s.node.IsLocal(it.val.pid) {
			res = ErrNotRegistered
			break
		}
		if it.val.time != u.GetTime() {
			return p.result(l, &registrypb.WriteResult{Code: registrypb.WriteResult_CHANGED})
		}
		meta := decodeMeta(u.GetMeta())
		res = p.update(ctx, updateReq{name: u.GetName(), fn: func(actor.PID, any) any { return meta }}).err
	case *registrypb.Write_UpdateMember:
		u := op.UpdateMember
		pid, err := decodePID(u.GetPid(), self)
		if err != nil {
			return bad(err)
		}
		it := p.s.members.load(memberKey{u.GetGroup(), pid})
		if it == nil {
			res = ErrNotInGroup
			break
		}
		if it.val.time != u.GetTime() {
			return p.result(l, &registrypb.WriteResult{Code: registrypb.WriteResult_CHANGED})
		}
		meta := decodeMeta(u.GetMeta())
		res = p.updateMember(ctx, updateMemberReq{group: u.GetGroup(), pid: pid, fn: func(any) any { return meta }}).err
	default:
		return bad(fmt.Errorf("%w: no op", errBadMessage))
	}
	out := &registrypb.WriteResult{}
	if err, _ := res.(error); err != nil {
		var ne *NameError
		switch {
		case errors.As(err, &ne) && errors.Is(err, ErrTaken):
			out.Code, out.Holder = registrypb.WriteResult_TAKEN, cluster.MarshalPID(ne.Holder)
		case errors.As(err, &ne):
			out.Code, out.Holder = registrypb.WriteResult_NOT_OWNER, cluster.MarshalPID(ne.Holder)
		case errors.Is(err, ErrNotRegistered):
			out.Code = registrypb.WriteResult_NOT_REGISTERED
		case errors.Is(err, ErrNotInGroup):
			out.Code = registrypb.WriteResult_NOT_IN_GROUP
		case errors.Is(err, ErrNotAlive):
			out.Code = registrypb.WriteResult_NOT_ALIVE
		default:
			out.Code, out.Detail = registrypb.WriteResult_BAD_REQUEST, err.Error()
		}
		return out
	}
	return p.result(l, out)
}

// result stamps a forwarded write's result with where its announcement
// stands on the stream to the requester's node.
func (p *scopeProc) result(l *peerLink, res *registrypb.WriteResult) *registrypb.WriteResult {
	if !l.out.IsZero() {
		res.Session, res.Seq = l.outAsk, l.outSeq
		if l.queued {
			res.Seq++ // the queued changes go out as the next message
		}
	}
	return res
}

// await answers r's request once this node applied the message it names.
func (p *scopeProc) await(m *actor.Request, r awaitReq) {
	if p.repl == nil {
		m.Reply(nil)
		return
	}
	l := p.repl.peers[r.node]
	if l == nil {
		m.Reply(ErrSessionEnded)
		return
	}
	r.req = m
	if done, err := r.settled(l); done {
		m.Reply(err)
		return
	}
	l.waiters = append(l.waiters, r)
}

// settled reports whether the wait r on l is over, and with which error:
// nil once this node applied the announcement r names, or a snapshot of
// the owner taken after it; ErrSessionEnded once l's node is purged (the
// write was made there, but this node will see it only with its next
// sync).
func (r awaitReq) settled(l *peerLink) (bool, error) {
	switch {
	case l.ask == 0:
		return true, ErrSessionEnded
	case r.session == l.ask:
		return r.seq <= l.seq, nil
	default:
		// The owner stamped an older ask (or none): it applied the write
		// before it got the Discover of l.ask, which travels the same
		// ordered way as the write, so the snapshot answering l.ask has
		// the write.
		return l.synced, nil
	}
}

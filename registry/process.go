package registry

import (
	"fmt"
	"sync/atomic"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// Requests from the API to the scope process. Each is an actor.Call; the
// reply is an error (nil on success) or an updateResult.
type (
	// registerReq is sent as a pointer: it holds the item the names
	// table shows for the registration (the name and the nameEntry,
	// whose time the scope process sets before it shows it), so that a
	// write and the entry it makes are one allocation, not two. The
	// item is shown at most once, and the request is not touched again
	// once shown.
	registerReq struct {
		it      item[string, nameEntry]
		checked bool // meta passed checkMeta in the caller (Scope.Register)
	}
	unregisterReq struct {
		name string
		pid  actor.PID
	}
	updateReq struct {
		name string
		fn   func(actor.PID, any) any
	}
	joinReq struct {
		group string
		pid   actor.PID
		meta  any
	}
	leaveReq struct {
		group string
		pid   actor.PID
	}
	updateMemberReq struct {
		group string
		pid   actor.PID
		fn    func(any) any
	}
	// syncReq answers once every message queued before it is handled.
	syncReq struct{}
)

// newRegisterReq builds the request of a Register of name by pid with
// metadata meta.
func newRegisterReq(name string, pid actor.PID, meta any, checked bool) *registerReq {
	return &registerReq{it: item[string, nameEntry]{key: name, val: nameEntry{pid: pid, meta: meta}}, checked: checked}
}

type updateResult struct {
	pid  actor.PID
	meta any
	err  error
}

// procState is what the scope process knows of one local process: its
// monitor and the names and groups it holds.
type procState struct {
	pid    actor.PID
	ref    actor.Ref
	names  []string // usually one or two: a slice is cheaper than a map
	groups []string
	// dead is set when the process was found dead before its Down arrived:
	// its entries are already gone from the read side, and its callbacks
	// were queued without a reason, which the Down will supply.
	dead bool
	// inline backs names and groups while they are short, saving their
	// allocations for the common process with one name or one group.
	inline [2]string
}

// groupState is the writer side of a group. A member's slot in the view
// is in its entry (memberMeta.slot), found through the members table.
type groupState struct {
	read *groupRead
}

// scopeProc is the scope process. It alone writes the scope's read side;
// its state is touched only from its own goroutine.
type scopeProc struct {
	s      *Scope
	cfg    scopeConfig
	mask   handlerMask
	events actor.PID // the event process, zero without a handler

	procs  procIndex
	groups map[string]*groupState
	repl   *repl // nil for a scope that is not replicated
	// restarted is set on a scope process that replaces one that died:
	// it rebuilds its state from the scope's tables.
	restarted bool
}

func newScopeProc(s *Scope, cfg scopeConfig) *scopeProc {
	p := &scopeProc{
		s:      s,
		cfg:    cfg,
		mask:   maskOf(cfg.handler),
		groups: make(map[string]*groupState),
	}
	if s.cl != nil {
		if s.repl == nil {
			s.repl = &repl{cl: s.cl, peers: make(map[string]*peerLink)}
		}
		p.repl = s.repl
	}
	return p
}

// Init starts the event process, linked, if the handler has callbacks,
// and, for a replicated scope, asks the nodes already up for their
// entries.
func (p *scopeProc) Init(ctx *actor.Context) error {
	wanted := false
	for _, b := range p.mask {
		wanted = wanted || b
	}
	if wanted {
		ep := &eventProc{scope: p.s.name, handler: p.cfg.handler}
		if prev := p.s.events.Load(); prev != nil {
			ep.prev = *prev // the dead scope process's, maybe still in a callback
		}
		pid, err := ctx.SpawnLink(ep)
		if err != nil {
			return fmt.Errorf("start event process of scope %s: %w", p.s.name, err)
		}
		p.events = pid
		p.s.events.Store(&pid)
	}
	if p.restarted {
		p.reload(ctx)
	}
	if p.repl != nil {
		if err := p.initRepl(ctx); err != nil {
			return fmt.Errorf("start replication of scope %s: %w", p.s.name, err)
		}
	}
	return nil
}

// Receive handles writes, the Down of monitored processes and, for a
// replicated scope, node events and the other nodes' messages.
func (p *scopeProc) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case *actor.Request:
		switch r := m.Message().(type) {
		case awaitReq:
			p.await(m, r)
		case *registrypb.Write:
			m.Reply(p.forwarded(ctx, r))
		default:
			m.Reply(p.handle(ctx, r))
		}
	case actor.Down:
		if !p.remoteDown(ctx, m) {
			p.down(ctx, m)
		}
	case *registrypb.ScopeMessage:
		p.wire(ctx, m)
	case *fastChanges:
		p.wire(ctx, m)
		m.release() // applied: nothing of the scope process refers to it
	case rediscoverMsg:
		if p.repl != nil {
			p.onRediscover(ctx, m)
		}
	case reaskMsg:
		if p.repl != nil {
			if l := p.repl.peers[m.node]; l != nil && l.ask != 0 {
				p.discover(ctx, m.node, l.in, false)
			}
		}
	case flushChanges:
		if p.repl != nil && !p.holdFlush(ctx) {
			p.flush(ctx)
		}
	case cluster.NodeUp, cluster.NodeDown:
		if p.repl != nil {
			p.nodeEvent(ctx, m)
		}
	}
	return nil
}

func (p *scopeProc) handle(ctx *actor.Context, req any) any {
	switch r := req.(type) {
	case *registerReq:
		return p.register(ctx, r)
	case unregisterReq:
		return p.unregister(ctx, r)
	case updateReq:
		return p.update(ctx, r)
	case joinReq:
		return p.join(ctx, r)
	case leaveReq:
		return p.leave(ctx, r)
	case updateMemberReq:
		return p.updateMember(ctx, r)
	case syncReq:
		done := make(chan struct{})
		if p.events.IsZero() || ctx.Send(p.events, flushMsg{done}) != nil {
			close(done)
		}
		return done
	}
	return fmt.Errorf("registry: unknown request %T", req)
}

func (p *scopeProc) now() int64 { return p.cfg.now().UnixNano() }

// emit hands an event to the event process if the handler wants it.
func (p *scopeProc) emit(ctx *actor.Context, ev event) {
	if !p.mask[ev.kind] {
		return
	}
	if r, ok := ev.reason.(ProcessExit); ok && r.Err == errExitUnknown && (ev.kind == evUnregistered || ev.kind == evLeft) {
		ev.awaitExit = true // an early removal: the reason comes with the Down, or the owner's Exited
	}
	_ = ctx.Send(p.events, ev)
}

// alive checks pid and, if it is a local process that is dead but still on
// record (its Down is on the way), purges its entries at once. Their
// callbacks are queued now, to keep the order per name, and wait in the
// event process for the exit reason that the Down brings.
func (p *scopeProc) alive(ctx *actor.Context, pid actor.PID) bool {
	if p.s.node.IsAlive(pid) || !p.s.node.IsLocal(pid) {
		return true
	}
	if ps := p.procs.get(pid); ps != nil && !ps.dead {
		ps.dead = true
		evs := p.purge(pid, ps, nil)
		for _, ev := range evs {
			ev.awaitExit = true
			p.emit(ctx, ev)
		}
		// Peers learn of the removal now, to keep the order per name;
		// the exit reason is not known yet.
		p.announceEvents(ctx, evs, ProcessExit{Err: errExitUnknown})
	}
	return false
}

// track returns the record of a live local process, monitoring it first.
func (p *scopeProc) track(ctx *actor.Context, pid actor.PID) *procState {
	if ps := p.procs.get(pid); ps != nil {
		return ps
	}
	return p.trackNew(ctx, pid)
}

// trackNew monitors a live local process that has no record yet.
func (p *scopeProc) trackNew(ctx *actor.Context, pid actor.PID) *procState {
	ps := p.procs.add(pid)
	ps.ref = ctx.Monitor(pid)
	ps.names = ps.inline[:0:1]
	ps.groups = ps.inline[1:1:2]
	return ps
}

// untrack drops the monitor of a process that holds nothing any more.
func (p *scopeProc) untrack(ctx *actor.Context, pid actor.PID, ps *procState) {
	if len(ps.names) == 0 && len(ps.groups) == 0 && !ps.dead {
		ctx.Demonitor(ps.ref)
		p.procs.remove(pid)
	}
}

func (p *scopeProc) register(ctx *actor.Context, r *registerReq) error {
	name, pid, meta := r.it.key, r.it.val.pid, r.it.val.meta
	if p.repl != nil && !r.checked {
		if err := checkMeta(meta); err != nil { // a forwarded write's
			return err
		}
	}
	s := p.s
	h := hashString(name)
	// The name's slot in a big table and the process's record are a
	// cache miss each: fetched together, not one after the other (the
	// record is read again below, by alive and the monitor).
	s.names.touch(h)
	_ = s.node.IsAlive(pid)
	var prev *nameEntry
	if it := s.names.loadHashed(name, h); it != nil {
		prev = &it.val
		if prev.pid != pid && p.alive(ctx, prev.pid) {
			return &NameError{Scope: s.name, Name: name, Holder: prev.pid, Err: ErrTaken}
		}
		if prev.pid != pid {
			prev = nil // purged just now
		}
	}
	if !p.alive(ctx, pid) {
		return ErrNotAlive
	}
	r.it.val.time = p.now()
	e := r.it.val
	s.names.putHashed(&r.it, h)
	if prev != nil {
		p.emit(ctx, event{kind: evRegistryUpdated, key: name, pid: pid, prev: prev.meta, meta: meta, reason: Normal{}})
		p.announceName(ctx, name, e, Normal{})
		p.reresolve(ctx, name, e)
		return nil
	}
	ps := p.track(ctx, pid)
	ps.names = append(ps.names, name)
	s.nameCount.Add(1)
	s.localNames.Add(1)
	p.emit(ctx, event{kind: evRegistered, key: name, pid: pid, meta: meta, reason: Normal{}})
	p.announceName(ctx, name, e, Normal{})
	return nil
}

func (p *scopeProc) unregister(ctx *actor.Context, r unregisterReq) error {
	s := p.s
	it := s.names.load(r.name)
	if it == nil {
		return ErrNotRegistered
	}
	e := &it.val
	if !p.alive(ctx, e.pid) {
		return ErrNotRegistered
	}
	if e.pid != r.pid {
		return &NameError{Scope: s.name, Name: r.name, Holder: e.pid, Err: ErrNotOwner}
	}
	ps := p.procs.get(r.pid)
	p.removeName(r.name)
	ps.names = without(ps.names, r.name)
	p.untrack(ctx, r.pid, ps)
	p.emit(ctx, event{kind: evUnregistered, key: r.name, pid: r.pid, meta: e.meta, reason: Normal{}})
	p.announceUnregistered(ctx, r.name, r.pid, Normal{})
	return nil
}

// without removes s from list, not keeping the order.
func without(list []string, s string) []string {
	for i, v := range list {
		if v == s {
			last := len(list) - 1
			list[i] = list[last]
			list[last] = ""
			return list[:last]
		}
	}
	return list
}

// removeName removes a local registration of name; the claims it beat
// stay hidden, no longer beaten by anything (reresolve, which only a
// custom resolver needs: a scope without one skips the peers' claims).
func (p *scopeProc) removeName(name string) {
	p.s.names.remove(name)
	p.s.nameCount.Add(-1)
	p.s.localNames.Add(-1)
	if _, custom := p.cfg.handler.(ConflictResolver); custom && p.repl != nil && len(p.repl.peers) > 0 {
		h := hashString(name)
		for _, l := range p.repl.peers {
			if c := l.names.get(name, h); c != nil {
				c.beaten = false
			}
		}
	}
}

func (p *scopeProc) update(ctx *actor.Context, r updateReq) updateResult {
	s := p.s
	it := s.names.load(r.name)
	if it == nil {
		return updateResult{err: ErrNotRegistered}
	}
	e := &it.val
	if !s.node.IsLocal(e.pid) {
		return updateResult{err: ErrNotLocal}
	}
	if !p.alive(ctx, e.pid) {
		return updateResult{err: ErrNotRegistered}
	}
	meta, err := safeUpdate(func() any { return r.fn(e.pid, e.meta) })
	if err == nil && p.repl != nil {
		err = checkMeta(meta)
	}
	if err != nil {
		return updateResult{err: err}
	}
	ne := nameEntry{pid: e.pid, meta: meta, time: p.now()}
	s.names.store(r.name, ne)
	p.emit(ctx, event{kind: evRegistryUpdated, key: r.name, pid: e.pid, prev: e.meta, meta: meta, reason: Normal{}})
	p.announceName(ctx, r.name, ne, Normal{})
	p.reresolve(ctx, r.name, ne)
	return updateResult{pid: e.pid, meta: meta}
}

// safeUpdate runs a user's update function, turning a panic into
// ErrUpdatePanicked.
func safeUpdate(fn func() any) (meta any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrUpdatePanicked, r)
		}
	}()
	return fn(), nil
}

func (p *scopeProc) join(ctx *actor.Context, r joinReq) error {
	if p.repl != nil {
		if err := checkMeta(r.meta); err != nil { // a forwarded write's too
			return err
		}
	}
	if !p.alive(ctx, r.pid) {
		return ErrNotAlive
	}
	s := p.s
	m := newMember(r.group, r.pid, r.meta, p.now())
	ps := p.procs.get(r.pid)
	gs := p.groups[r.group]
	// Only a process with groups can be a member already: a first join
	// skips the lookup.
	if gs != nil && ps != nil && len(ps.groups) > 0 {
		if prev := s.members.load(m.key); prev != nil {
			m.val.slot = prev.val.slot
			gs.read.view.Load().slots[m.val.slot].Store(m)
			gs.read.republish()
			s.members.put(m)
			p.emit(ctx, event{kind: evGroupUpdated, key: r.group, pid: r.pid, prev: prev.val.meta, meta: r.meta, reason: Normal{}})
			p.announceJoined(ctx, r.group, r.pid, r.meta, m.val.time, Normal{})
			return nil
		}
	}
	if gs == nil {
		gs = p.newGroup(r.group)
	}
	p.appendMember(gs, m)
	s.members.put(m)
	if ps == nil {
		ps = p.trackNew(ctx, r.pid)
	}
	ps.groups = append(ps.groups, r.group)
	p.emit(ctx, event{kind: evJoined, key: r.group, pid: r.pid, meta: r.meta, reason: Normal{}})
	p.announceJoined(ctx, r.group, r.pid, r.meta, m.val.time, Normal{})
	return nil
}

// newGroup creates the state of a group that has no member yet.
func (p *scopeProc) newGroup(group string) *groupState {
	gs := &groupState{read: &groupRead{}}
	gs.read.view.Store(&memberView{})
	p.groups[group] = gs
	p.s.groups.Store(group, gs.read)
	p.s.groupCount.Add(1)
	return gs
}

// appendMember publishes a view with m added. When the slot array is
// full, the members move to a new one without the holes leaves left.
func (p *scopeProc) appendMember(gs *groupState, m *memberEntry) {
	v := gs.read.view.Load()
	slots, n := v.slots, v.n
	if n == len(slots) {
		slots, n = compact(v, max(4, 2*v.count+1))
	}
	slots[n].Store(m)
	local := v.local
	if p.s.node.IsLocal(m.key.pid) {
		local++
	}
	m.val.slot = n
	gs.read.view.Store(&memberView{slots: slots, n: n + 1, count: v.count + 1, local: local})
}

// compact copies the members of v into a new slot array of size, in
// order, and records their new slots.
func compact(v *memberView, size int) ([]atomic.Pointer[memberEntry], int) {
	slots := make([]atomic.Pointer[memberEntry], size)
	j := 0
	for i := 0; i < v.n; i++ {
		if m := v.slots[i].Load(); m != nil {
			m.val.slot = j
			slots[j].Store(m)
			j++
		}
	}
	return slots, j
}

// removeMember removes pid from the group's view and reports the removed
// entry. Its slot becomes a hole (readers skip holes), so a leave is O(1);
// when holes make up more than half of the slots, the members move to a
// new array.
func (p *scopeProc) removeMember(group string, gs *groupState, pid actor.PID) *memberEntry {
	old := p.s.members.load(memberKey{group, pid})
	if old == nil {
		return nil
	}
	v := gs.read.view.Load()
	v.slots[old.val.slot].Store(nil)
	local := v.local
	if p.s.node.IsLocal(pid) {
		local--
	}
	p.s.members.remove(memberKey{group, pid})
	count := v.count - 1
	if count == 0 {
		delete(p.groups, group)
		p.s.groups.Delete(group)
		p.s.groupCount.Add(-1)
		gs.read.view.Store(&memberView{})
		return old
	}
	slots, n := v.slots, v.n
	if n > 8 && 2*count < n {
		slots, n = compact(v, max(4, count+count/2))
	}
	gs.read.view.Store(&memberView{slots: slots, n: n, count: count, local: local})
	return old
}

func (p *scopeProc) leave(ctx *actor.Context, r leaveReq) error {
	gs := p.groups[r.group]
	if gs == nil {
		return ErrNotInGroup
	}
	if p.s.members.load(memberKey(r)) == nil || !p.alive(ctx, r.pid) {
		return ErrNotInGroup
	}
	old := p.removeMember(r.group, gs, r.pid)
	ps := p.procs.get(r.pid)
	ps.groups = without(ps.groups, r.group)
	p.untrack(ctx, r.pid, ps)
	p.emit(ctx, event{kind: evLeft, key: r.group, pid: r.pid, meta: old.val.meta, reason: Normal{}})
	p.announceLeft(ctx, r.group, r.pid, Normal{})
	return nil
}

func (p *scopeProc) updateMember(ctx *actor.Context, r updateMemberReq) updateResult {
	gs := p.groups[r.group]
	if gs == nil {
		return updateResult{err: ErrNotInGroup}
	}
	prev := p.s.members.load(memberKey{r.group, r.pid})
	if prev == nil || !p.alive(ctx, r.pid) {
		return updateResult{err: ErrNotInGroup}
	}
	meta, err := safeUpdate(func() any { return r.fn(prev.val.meta) })
	if err == nil && p.repl != nil {
		err = checkMeta(meta)
	}
	if err != nil {
		return updateResult{err: err}
	}
	m := newMember(r.group, r.pid, meta, p.now())
	m.val.slot = prev.val.slot
	gs.read.view.Load().slots[m.val.slot].Store(m)
	gs.read.republish()
	p.s.members.put(m)
	p.emit(ctx, event{kind: evGroupUpdated, key: r.group, pid: r.pid, prev: prev.val.meta, meta: meta, reason: Normal{}})
	p.announceJoined(ctx, r.group, r.pid, meta, m.val.time, Normal{})
	return updateResult{pid: r.pid, meta: meta}
}

// down handles the exit of a monitored process.
func (p *scopeProc) down(ctx *actor.Context, d actor.Down) {
	ps := p.procs.get(d.PID)
	if ps == nil || ps.ref != d.Ref {
		return
	}
	reason := ProcessExit{Err: d.Reason}
	dead := ps.dead
	var evs []event
	if !dead {
		evs = p.purge(d.PID, ps, nil)
	}
	p.procs.remove(d.PID) // ps is not used after
	if dead {
		if !p.events.IsZero() {
			_ = ctx.Send(p.events, exitReason{pid: d.PID, reason: reason})
		}
		p.announceExited(ctx, d.PID, reason) // the peers' removals wait for it
		return
	}
	for _, ev := range evs {
		ev.reason = reason
		p.emit(ctx, ev)
	}
	p.announceEvents(ctx, evs, reason)
}

// purge removes every entry of pid from the read side and returns the
// callbacks to run, without their reason.
func (p *scopeProc) purge(pid actor.PID, ps *procState, evs []event) []event {
	for _, name := range ps.names {
		if it := p.s.names.load(name); it != nil {
			if e := &it.val; e.pid == pid {
				p.removeName(name)
				evs = append(evs, event{kind: evUnregistered, key: name, pid: pid, meta: e.meta})
			}
		}
	}
	for _, group := range ps.groups {
		if gs := p.groups[group]; gs != nil {
			if old := p.removeMember(group, gs, pid); old != nil {
				evs = append(evs, event{kind: evLeft, key: group, pid: pid, meta: old.val.meta})
			}
		}
	}
	ps.names, ps.groups = nil, nil
	return evs
}

package registry

import (
	"context"
	"errors"
	"iter"
	"sort"
	"sync/atomic"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
)

// Member is a process in a group, with the metadata it joined with.
type Member struct {
	PID  actor.PID
	Meta any
}

// groupRead is the read side of a group: the current member view.
type groupRead struct {
	view atomic.Pointer[memberView]
}

// memberView is a published list of members: readers use slots[:n],
// skipping the nil holes. The scope process appends by storing slots[n]
// and publishing a new view with n+1 (no reader of an older view looks at
// that slot), replaces a member's entry in place with an atomic store, and
// removes a member by storing a hole and publishing a new view; when holes
// are more than half the slots, or the array is full, the members move to
// a new array. So a join and a leave cost O(1) amortised.
type memberView struct {
	slots []atomic.Pointer[memberEntry]
	n     int // slots in use, holes included
	count int // members
	local int // members on this node
	// all is the view as a []Member, built by the first reader that needs
	// it and shared by every later one. A view whose slot is replaced in
	// place is republished (replaced), so all never goes stale.
	all atomic.Pointer[[]Member]
	// alive is 1 + the node's Exits count read before a reader found
	// every local member of all alive; 0: not found yet. While Exits
	// still returns alive-1, no member has exited since (Node.Exits), and
	// readers skip the checks.
	alive atomic.Uint64
}

// liveList returns v's member list, and whether every local member in it
// was alive when the node's Exits count was exits; it checks each member
// only if a process of the node may have exited since the last check.
func (v *memberView) liveList(s *Scope) (all []Member, exits uint64, alive bool) {
	all = v.list()
	if v.local == 0 {
		return all, 0, true
	}
	exits = s.node.Exits()
	if v.alive.Load() == exits+1 {
		return all, exits, true
	}
	for i := range all {
		if !s.live(all[i].PID) {
			return all, exits, false
		}
	}
	v.alive.Store(exits + 1)
	return all, exits, true
}

// list returns the members of v, building the shared list once.
func (v *memberView) list() []Member {
	if p := v.all.Load(); p != nil {
		return *p
	}
	out := make([]Member, 0, v.count)
	for i := 0; i < v.n; i++ {
		if m := v.slots[i].Load(); m != nil {
			out = append(out, Member{PID: m.key.pid, Meta: metaValue(m.val.meta)})
		}
	}
	v.all.CompareAndSwap(nil, &out)
	return *v.all.Load()
}

// republish publishes a copy of the group's view after a slot was replaced
// in place, so that its member list is built again.
func (g *groupRead) republish() {
	v := g.view.Load()
	g.view.Store(&memberView{slots: v.slots, n: v.n, count: v.count, local: v.local})
}

func (s *Scope) view(group string) *memberView {
	v, ok := s.groups.Load(group)
	if !ok {
		return nil
	}
	return v.(*groupRead).view.Load()
}

// Members returns the live members of group (nil for an unknown or empty
// group), in no particular order. Local members that have exited are left
// out even before the scope process has handled their exit. The slice is
// shared with other callers until the group changes: do not modify it
// (slices.Clone it first), or range over MembersSeq, which hands out no
// slice.
func (s *Scope) Members(group string) []Member {
	v := s.view(group)
	if v == nil || v.count == 0 {
		return nil
	}
	all, _, alive := v.liveList(s)
	if !alive {
		return s.members0(group, false) // a copy without the dead
	}
	return all
}

// MembersSeq yields the live members of group, the ones Members returns,
// without handing out a slice: a loop over it allocates nothing and cannot
// modify what other readers share. The members are the group's when the
// loop starts; a local member that has exited by the time the loop
// reaches it is skipped.
//
//	for m := range s.MembersSeq("room/7") { ... }
func (s *Scope) MembersSeq(group string) iter.Seq[Member] {
	return func(yield func(Member) bool) { s.eachMember(group, yield) }
}

// eachMember is MembersSeq's loop (kept out of it so that MembersSeq
// inlines and its closure stays on the caller's stack).
func (s *Scope) eachMember(group string, yield func(Member) bool) {
	v := s.view(group)
	if v == nil || v.count == 0 {
		return
	}
	all, exits, alive := v.liveList(s)
	for _, m := range all {
		// Still no exit on the node since the members were seen alive:
		// m is alive; else it is checked.
		ok := alive && (v.local == 0 || s.node.Exits() == exits)
		if (ok || s.live(m.PID)) && !yield(m) {
			return
		}
	}
}

// LocalMembers returns the live members of group that run on this node.
func (s *Scope) LocalMembers(group string) []Member { return s.members0(group, true) }

func (s *Scope) members0(group string, localOnly bool) []Member {
	v := s.view(group)
	if v == nil || v.count == 0 {
		return nil
	}
	out := make([]Member, 0, v.count)
	for i := 0; i < v.n; i++ {
		m := v.slots[i].Load()
		if m == nil {
			continue
		}
		if localOnly && !s.node.IsLocal(m.key.pid) {
			continue
		}
		if !s.live(m.key.pid) {
			continue
		}
		out = append(out, Member{PID: m.key.pid, Meta: metaValue(m.val.meta)})
	}
	return out
}

// IsMember reports whether pid is a live member of group.
func (s *Scope) IsMember(group string, pid actor.PID) bool {
	return s.members.load(memberKey{group, pid}) != nil && s.live(pid)
}

// IsLocalMember reports whether pid is a live member of group running on
// this node.
func (s *Scope) IsLocalMember(group string, pid actor.PID) bool {
	return s.node.IsLocal(pid) && s.IsMember(group, pid)
}

// MemberCount returns the number of members of group. Like Count, it
// includes a local member that has exited until the scope process has
// handled its exit.
func (s *Scope) MemberCount(group string) int {
	if v := s.view(group); v != nil {
		return v.count
	}
	return 0
}

// LocalMemberCount returns the number of members of group on this node,
// with the same lag as MemberCount.
func (s *Scope) LocalMemberCount(group string) int {
	if v := s.view(group); v != nil {
		return v.local
	}
	return 0
}

// GroupNames returns the groups that have at least one member, sorted.
func (s *Scope) GroupNames() []string { return s.groupNames(false) }

// LocalGroupNames returns the groups that have at least one member on this
// node, sorted.
func (s *Scope) LocalGroupNames() []string { return s.groupNames(true) }

func (s *Scope) groupNames(localOnly bool) []string {
	var out []string
	s.groups.Range(func(k, v any) bool {
		view := v.(*groupRead).view.Load()
		if view.count > 0 && (!localOnly || view.local > 0) {
			out = append(out, k.(string))
		}
		return true
	})
	sort.Strings(out)
	return out
}

// GroupCount returns the number of groups with at least one member.
func (s *Scope) GroupCount() int { return int(s.groupCount.Load()) }

// Join adds pid to group with metadata meta; if pid is a member already,
// its metadata is replaced (OnGroupProcessUpdated fires). A process may be
// in any number of groups and leaves them all when it exits. Join returns
// when the membership is visible to readers on this node; in a replicated
// scope a PID of another node joins through its node, as Register.
// Errors: ErrBadName, ErrNotLocal, ErrMetaNotProto, ErrNotAlive,
// ErrScopeStopped, or the call's error if ctx ends first.
func (s *Scope) Join(ctx context.Context, group string, pid actor.PID, meta any) error {
	err := s.checkWriteMeta(group, pid, meta)
	switch {
	case err != nil:
	case s.remote(pid):
		err = s.forwardJoin(ctx, group, pid, meta)
	default:
		err = s.writeErr(ctx, joinReq{group: group, pid: pid, meta: meta})
	}
	return s.groupErr("join", group, pid, err)
}

// Leave removes pid from group. Errors: ErrBadName, ErrNotLocal,
// ErrNotAlive for the zero PID, ErrNotInGroup, ErrScopeStopped, or the call's error if ctx ends first.
func (s *Scope) Leave(ctx context.Context, group string, pid actor.PID) error {
	err := s.checkWrite(group, pid)
	switch {
	case err != nil:
	case s.remote(pid):
		err = s.forwardLeave(ctx, group, pid)
	default:
		err = s.writeErr(ctx, leaveReq{group: group, pid: pid})
	}
	return s.groupErr("leave", group, pid, err)
}

// UpdateMember replaces pid's metadata in group with fn(old metadata) and
// returns the new metadata. fn runs inside the scope process (on this
// node for a member of another node, as Update). Errors: ErrBadName,
// ErrNotLocal, ErrNotInGroup, ErrUpdatePanicked, ErrMetaNotProto,
// ErrUpdateContended, ErrScopeStopped, or the call's error if ctx ends
// first.
func (s *Scope) UpdateMember(ctx context.Context, group string, pid actor.PID, fn func(meta any) any) (any, error) {
	if err := s.checkWrite(group, pid); err != nil {
		return nil, s.groupErr("update member", group, pid, err)
	}
	if s.remote(pid) {
		meta, err := s.forwardUpdateMember(ctx, group, pid, fn)
		return meta, s.groupErr("update member", group, pid, err)
	}
	v, err := s.call(ctx, updateMemberReq{group: group, pid: pid, fn: fn})
	if err != nil {
		return nil, s.groupErr("update member", group, pid, err)
	}
	res := v.(updateResult)
	return res.meta, s.groupErr("update member", group, pid, res.err)
}

// Publish sends msg to every live member of group and returns how many
// members it was delivered to (queued in their mailboxes). The sender is
// the process ctx comes from, if any. A member on another node counts once
// the transport accepted the message; one it refuses (msg is not a
// proto.Message, or too large to cross) is not counted, and
// Registry.Publish returns the transport's error for it.
func (s *Scope) Publish(ctx context.Context, group string, msg any) int {
	n, _ := s.publish(ctx, group, msg, false)
	return n
}

// LocalPublish is Publish limited to the members on this node.
func (s *Scope) LocalPublish(ctx context.Context, group string, msg any) int {
	n, _ := s.publish(ctx, group, msg, true)
	return n
}

// publish sends msg to the members of group (the local ones only, if
// localOnly) and returns how many it was delivered to and, if msg itself
// could not reach some of them (not a proto.Message, or too large, for a
// member of another node), the first such error: a member that exited is
// not an error.
func (s *Scope) publish(ctx context.Context, group string, msg any, localOnly bool) (int, error) {
	v := s.view(group)
	if v == nil {
		return 0, nil
	}
	send := s.node.Send
	if c, ok := actor.FromContext(ctx); ok {
		send = c.Send
	}
	sent := 0
	var bad error
	for i := 0; i < v.n; i++ {
		m := v.slots[i].Load()
		if m == nil || localOnly && !s.node.IsLocal(m.key.pid) {
			continue
		}
		err := send(m.key.pid, msg)
		if err == nil {
			sent++
		} else if bad == nil && (errors.Is(err, cluster.ErrNotProtoMessage) || errors.Is(err, cluster.ErrTooLarge)) {
			bad = err
		}
	}
	return sent, bad
}

// Reply is a member's answer to MultiCall.
type Reply struct {
	PID   actor.PID
	Meta  any
	Value any
}

// MultiCall calls every member of group with req (each receives an
// *actor.Request, as from actor.Call; a GenServer member answers from
// HandleCall) concurrently, and waits for all answers until ctx's deadline
// (actor.DefaultCallTimeout without one). It returns the replies, and the
// members that did not answer in time, had exited, or failed the call, as
// bad. Both are in no particular order.
func (s *Scope) MultiCall(ctx context.Context, group string, req any) (replies []Reply, bad []actor.PID) {
	members := s.Members(group)
	if len(members) == 0 {
		return nil, nil
	}
	type result struct {
		i   int
		v   any
		err error
	}
	results := make(chan result, len(members))
	for i, m := range members {
		go func() {
			v, err := s.node.Call(ctx, m.PID, req) // this node's transport reaches remote members
			results <- result{i, v, err}
		}()
	}
	for range members {
		r := <-results
		m := members[r.i]
		if r.err != nil {
			bad = append(bad, m.PID)
			continue
		}
		replies = append(replies, Reply{PID: m.PID, Meta: m.Meta, Value: r.v})
	}
	return replies, bad
}

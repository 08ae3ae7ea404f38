package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/registry"
)

func pidsOf(ms []registry.Member) []actor.PID {
	out := make([]actor.PID, len(ms))
	for i, m := range ms {
		out[i] = m.PID
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func sortedPIDs(ps ...actor.PID) []actor.PID {
	out := slices.Clone(ps)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func TestJoinLeaveMembers(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	a, b, c := spawn(t, n), spawn(t, n), spawn(t, n)
	for _, p := range []actor.PID{a, b, c} {
		if err := r.Join(ctx, "s", "g", p, p.String()); err != nil {
			t.Fatalf("join: %v", err)
		}
	}
	if err := s.Join(ctx, "h", a, nil); err != nil {
		t.Fatal(err)
	}
	ms, err := r.Members("s", "g")
	if err != nil || !slices.Equal(pidsOf(ms), sortedPIDs(a, b, c)) {
		t.Fatalf("members %v %v", ms, err)
	}
	for _, m := range ms {
		if m.Meta != m.PID.String() {
			t.Fatalf("member %v meta %v", m.PID, m.Meta)
		}
	}
	if lm, _ := r.LocalMembers("s", "g"); len(lm) != 3 {
		t.Fatalf("local members %v", lm)
	}
	if ok, _ := r.IsMember("s", "g", b); !ok {
		t.Fatal("b not a member")
	}
	if ok, _ := r.IsLocalMember("s", "h", b); ok {
		t.Fatal("b a member of h")
	}
	if ok, _ := r.IsLocalMember("s", "h", a); !ok {
		t.Fatal("a not a local member of h")
	}
	if c, _ := r.MemberCount("s", "g"); c != 3 {
		t.Fatalf("member count %d", c)
	}
	if c, _ := r.LocalMemberCount("s", "g"); c != 3 {
		t.Fatalf("local member count %d", c)
	}
	if g, _ := r.GroupNames("s"); !slices.Equal(g, []string{"g", "h"}) {
		t.Fatalf("group names %v", g)
	}
	if g, _ := r.LocalGroupNames("s"); !slices.Equal(g, []string{"g", "h"}) {
		t.Fatalf("local group names %v", g)
	}
	if c, _ := r.GroupCount("s"); c != 2 {
		t.Fatalf("group count %d", c)
	}

	// Joining again updates the meta, not the count.
	if err := s.Join(ctx, "g", b, "new"); err != nil {
		t.Fatal(err)
	}
	if s.MemberCount("g") != 3 {
		t.Fatalf("count after re-join %d", s.MemberCount("g"))
	}

	if err := r.Leave(ctx, "s", "g", b); err != nil {
		t.Fatalf("leave: %v", err)
	}
	if err := s.Leave(ctx, "g", b); !errors.Is(err, registry.ErrNotInGroup) {
		t.Fatalf("leave again: %v, want ErrNotInGroup", err)
	}
	if err := s.Leave(ctx, "nogroup", b); !errors.Is(err, registry.ErrNotInGroup) {
		t.Fatalf("leave unknown group: %v, want ErrNotInGroup", err)
	}
	if !slices.Equal(pidsOf(s.Members("g")), sortedPIDs(a, c)) || s.IsMember("g", b) {
		t.Fatalf("members after leave %v", s.Members("g"))
	}
	// The last member leaving removes the group.
	if err := s.Leave(ctx, "h", a); err != nil {
		t.Fatal(err)
	}
	if g := s.GroupNames(); !slices.Equal(g, []string{"g"}) || s.GroupCount() != 1 {
		t.Fatalf("groups after h emptied %v", g)
	}
	if s.Members("h") != nil || s.MemberCount("h") != 0 {
		t.Fatal("empty group has members")
	}
}

func TestJoinErrors(t *testing.T) {
	n, _, s := newScope(t)
	ctx := ctxT(t)
	dead := spawn(t, n)
	kill(t, n, dead, actor.Normal)
	if err := s.Join(ctx, "g", dead, nil); !errors.Is(err, registry.ErrNotAlive) {
		t.Fatalf("join dead: %v, want ErrNotAlive", err)
	}
	if err := s.Join(ctx, "", spawn(t, n), nil); !errors.Is(err, registry.ErrBadName) {
		t.Fatalf("empty group: %v", err)
	}
	if err := s.Join(ctx, "g", registry.RemotePID("o@h", 3, 1, 1), nil); !errors.Is(err, registry.ErrNotLocal) {
		t.Fatalf("remote: %v", err)
	}
	if s.GroupCount() != 0 {
		t.Fatal("group created by failed joins")
	}
}

func TestUpdateMember(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	a := spawn(t, n)
	if _, err := r.UpdateMember(ctx, "s", "g", a, func(any) any { return 1 }); !errors.Is(err, registry.ErrNotInGroup) {
		t.Fatalf("update missing: %v", err)
	}
	if err := s.Join(ctx, "g", a, 1); err != nil {
		t.Fatal(err)
	}
	meta, err := s.UpdateMember(ctx, "g", a, func(m any) any { return m.(int) * 10 })
	if err != nil || meta != 10 {
		t.Fatalf("update member = %v %v", meta, err)
	}
	if ms := s.Members("g"); len(ms) != 1 || ms[0].Meta != 10 {
		t.Fatalf("members %v", ms)
	}
	if _, err := s.UpdateMember(ctx, "g", a, func(any) any { panic("x") }); !errors.Is(err, registry.ErrUpdatePanicked) {
		t.Fatalf("panicking update: %v", err)
	}
	if ms := s.Members("g"); ms[0].Meta != 10 {
		t.Fatalf("meta changed by a panicking update: %v", ms[0].Meta)
	}
}

func TestExitLeavesGroups(t *testing.T) {
	n, _, s := newScope(t)
	ctx := ctxT(t)
	a, b := spawn(t, n), spawn(t, n)
	for _, g := range []string{"g1", "g2", "g3"} {
		for _, p := range []actor.PID{a, b} {
			if err := s.Join(ctx, g, p, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	kill(t, n, a, errors.New("crash"))
	syncScope(t, s)
	for _, g := range []string{"g1", "g2", "g3"} {
		if s.MemberCount(g) != 1 || s.IsMember(g, a) || !s.IsMember(g, b) {
			t.Fatalf("%s after exit: %v", g, s.Members(g))
		}
	}
}

type ping struct{}

func TestPublish(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	var ibs []*actor.Inbox
	for range 3 {
		ib, err := n.NewInbox()
		if err != nil {
			t.Fatal(err)
		}
		ibs = append(ibs, ib)
		if err := s.Join(ctx, "g", ib.PID(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := r.Publish(ctx, "s", "g", ping{}); err != nil || got != 3 {
		t.Fatalf("publish = %d %v", got, err)
	}
	if got, err := r.LocalPublish(ctx, "s", "g", ping{}); err != nil || got != 3 {
		t.Fatalf("local publish = %d %v", got, err)
	}
	for _, ib := range ibs {
		for range 2 {
			m, err := ib.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := m.(ping); !ok {
				t.Fatalf("got %T", m)
			}
		}
	}
	if got := s.Publish(ctx, "nogroup", ping{}); got != 0 {
		t.Fatalf("publish to unknown group = %d", got)
	}
	// A member that exited is not counted, even before the scope knows.
	ibs[0].Close()
	if got := s.Publish(ctx, "g", ping{}); got != 2 {
		t.Fatalf("publish after exit = %d, want 2", got)
	}
}

// silent never answers a call.
type silent struct{}

func (silent) Receive(*actor.Context, any) error { return nil }

func TestMultiCall(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	a, b := spawn(t, n), spawn(t, n)
	crasher := spawn(t, n)
	laggard, err := n.Spawn(silent{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []actor.PID{a, b, crasher, laggard} {
		if err := s.Join(ctx, "g", p, "m"); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	// The worker echoes its request; a die request makes it exit instead.
	replies, bad, err := r.MultiCall(cctx, "s", "g", "hello")
	if err != nil {
		t.Fatal(err)
	}
	var got []actor.PID
	for _, rep := range replies {
		if rep.Value != "hello" || rep.Meta != "m" {
			t.Fatalf("reply %+v", rep)
		}
		got = append(got, rep.PID)
	}
	if !slices.Equal(sortedPIDs(got...), sortedPIDs(a, b, crasher)) {
		t.Fatalf("replies from %v", got)
	}
	if !slices.Equal(bad, []actor.PID{laggard}) {
		t.Fatalf("bad %v, want the laggard", bad)
	}

	// A member that exits during the call is bad.
	cctx2, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	replies, bad = s.MultiCall(cctx2, "g", die{errors.New("boom")})
	if len(replies) != 0 || len(bad) != 4 {
		t.Fatalf("replies %v bad %v", replies, bad)
	}
	if rs, bs := s.MultiCall(ctx, "nogroup", 1); rs != nil || bs != nil {
		t.Fatal("multicall to unknown group")
	}
}

// Members shares one list per group version: an update of a member's
// metadata, in place in the group, still shows in the next Members.
func TestMembersListFollowsUpdates(t *testing.T) {
	n, _, s := newScope(t)
	ctx := ctxT(t)
	p, q := spawn(t, n), spawn(t, n)
	for _, pid := range []actor.PID{p, q} {
		if err := s.Join(ctx, "g", pid, "m1"); err != nil {
			t.Fatal(err)
		}
	}
	meta := func() map[actor.PID]any {
		out := map[actor.PID]any{}
		for _, m := range s.Members("g") {
			out[m.PID] = m.Meta
		}
		return out
	}
	if got := meta(); got[p] != "m1" || got[q] != "m1" {
		t.Fatalf("members %v", got)
	}
	if _, err := s.UpdateMember(ctx, "g", p, func(any) any { return "m2" }); err != nil {
		t.Fatal(err)
	}
	if got := meta(); got[p] != "m2" {
		t.Fatalf("after UpdateMember: %v", got)
	}
	if err := s.Join(ctx, "g", q, "m3"); err != nil {
		t.Fatal(err)
	}
	if got := meta(); got[q] != "m3" || got[p] != "m2" {
		t.Fatalf("after a second Join: %v", got)
	}
	kill(t, n, q, errors.New("gone"))
	if got := meta(); len(got) != 1 || got[p] != "m2" {
		t.Fatalf("after q exited: %v", got)
	}
}

// MembersSeq yields what Members returns, skips a local member that
// exited after the loop started, stops when the loop breaks, and yields
// nothing for an unknown or empty group.
func TestMembersSeq(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	p, q, u := spawn(t, n), spawn(t, n), spawn(t, n)
	for _, pid := range []actor.PID{p, q, u} {
		if err := s.Join(ctx, "g", pid, "m-"+pid.String()); err != nil {
			t.Fatal(err)
		}
	}
	var got []registry.Member
	for m := range s.MembersSeq("g") {
		got = append(got, m)
	}
	if !slices.Equal(pidsOf(got), pidsOf(s.Members("g"))) || len(got) != 3 {
		t.Fatalf("MembersSeq %v, Members %v", got, s.Members("g"))
	}
	for _, m := range got {
		if m.Meta != "m-"+m.PID.String() {
			t.Fatalf("member %v with meta %v", m.PID, m.Meta)
		}
	}
	// The members come in the order they joined: p, q, u.
	var after []actor.PID
	for m := range s.MembersSeq("g") {
		if m.PID == p {
			kill(t, n, q, errors.New("gone")) // in the loop, before it reaches q
		}
		after = append(after, m.PID)
	}
	if !slices.Equal(after, []actor.PID{p, u}) {
		t.Fatalf("after q exited: %v", after)
	}
	count := 0
	for range s.MembersSeq("g") {
		count++
		break
	}
	if count != 1 {
		t.Fatalf("the loop broke after %d members", count)
	}
	for m := range s.MembersSeq("none") {
		t.Fatalf("unknown group yields %v", m)
	}
	seqR, err := r.MembersSeq("s", "g")
	if err != nil {
		t.Fatal(err)
	}
	var viaReg []registry.Member
	for m := range seqR {
		viaReg = append(viaReg, m)
	}
	if !slices.Equal(pidsOf(viaReg), sortedPIDs(p, u)) {
		t.Fatalf("Registry.MembersSeq: %v", viaReg)
	}
	if _, err := r.MembersSeq("nope", "g"); !errors.Is(err, registry.ErrUnknownScope) {
		t.Fatalf("unknown scope: %v", err)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		for m := range s.MembersSeq("g") {
			_ = m
		}
	}); allocs != 0 {
		t.Errorf("a loop over MembersSeq allocates %.0f times", allocs)
	}
}

// Leaves leave holes in a group's slots and a compaction removes them:
// through many joins and leaves, with readers running, Members holds each
// member exactly once and the counts follow.
func TestGroupHolesAndCompaction(t *testing.T) {
	n, _, s := newScope(t)
	ctx := ctxT(t)
	pids := make([]actor.PID, 200)
	for i := range pids {
		pids[i] = spawn(t, n)
	}
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		defer close(readerErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			seen := map[actor.PID]bool{}
			for _, m := range s.Members("g") {
				if seen[m.PID] {
					readerErr <- fmt.Errorf("%v listed twice", m.PID)
					return
				}
				seen[m.PID] = true
			}
		}
	}()
	want := map[actor.PID]bool{}
	check := func(step string) {
		t.Helper()
		ms := s.Members("g")
		got := map[actor.PID]bool{}
		for _, m := range ms {
			got[m.PID] = true
		}
		if len(ms) != len(want) || len(got) != len(want) || s.MemberCount("g") != len(want) || s.LocalMemberCount("g") != len(want) {
			t.Fatalf("%s: %d members (%d distinct), count %d local %d, want %d", step, len(ms), len(got), s.MemberCount("g"), s.LocalMemberCount("g"), len(want))
		}
		for pid := range want {
			if !got[pid] || !s.IsMember("g", pid) {
				t.Fatalf("%s: %v missing", step, pid)
			}
		}
	}
	for round := range 3 {
		for _, pid := range pids {
			if !want[pid] {
				if err := s.Join(ctx, "g", pid, round); err != nil {
					t.Fatal(err)
				}
				want[pid] = true
			}
		}
		check(fmt.Sprintf("round %d joined", round))
		for i, pid := range pids {
			if i%10 != round { // leave nine in ten
				if err := s.Leave(ctx, "g", pid); err != nil {
					t.Fatal(err)
				}
				delete(want, pid)
			}
		}
		check(fmt.Sprintf("round %d left", round))
	}
	for pid := range want {
		if err := s.Leave(ctx, "g", pid); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	if s.Members("g") != nil || s.GroupCount() != 0 || len(s.GroupNames()) != 0 {
		t.Fatalf("empty group still listed: %v %d %v", s.Members("g"), s.GroupCount(), s.GroupNames())
	}
}

// Members skips the liveness checks while no process of the node has
// exited since it last found every member alive: an exit of a member
// after a cached list still removes it, and an exit of another process
// keeps every member.
func TestMembersCacheFollowsExits(t *testing.T) {
	n, _, s := newScope(t)
	ctx := ctxT(t)
	p, q, other := spawn(t, n), spawn(t, n), spawn(t, n)
	for _, pid := range []actor.PID{p, q} {
		if err := s.Join(ctx, "g", pid, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // the second read is the cached one
		if got := pidsOf(s.Members("g")); !slices.Equal(got, sortedPIDs(p, q)) {
			t.Fatalf("members %v", got)
		}
	}
	kill(t, n, other, errors.New("not a member"))
	if got := pidsOf(s.Members("g")); !slices.Equal(got, sortedPIDs(p, q)) {
		t.Fatalf("after another process exited: %v", got)
	}
	_ = s.Members("g") // cached again
	kill(t, n, q, errors.New("gone"))
	if got := pidsOf(s.Members("g")); !slices.Equal(got, sortedPIDs(p)) {
		t.Fatalf("after q exited: %v", got)
	}
	var seq []registry.Member
	for m := range s.MembersSeq("g") {
		seq = append(seq, m)
	}
	if got := pidsOf(seq); !slices.Equal(got, sortedPIDs(p)) {
		t.Fatalf("MembersSeq after q exited: %v", got)
	}
}

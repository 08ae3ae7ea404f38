package registry_test

// Black-box probes of the replicated registry, written from docs/registry.md,
// the package documentation and Syn's documented semantics: what a user of
// a scope across nodes is promised.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// event is one callback as a probe records it.
type event struct {
	kind, key  string
	pid        actor.PID
	prev, meta any
	reason     registry.Reason
}

func (e event) String() string {
	return fmt.Sprintf("%s %s %v %v->%v %T(%v)", e.kind, e.key, e.pid, e.prev, e.meta, e.reason, e.reason)
}

// events records every callback of a scope, structured.
type events struct{ testkit.List[event] }

// of returns the events of kind about key.
func (h *events) of(kind, key string) []event {
	var out []event
	for _, e := range h.All() {
		if e.kind == kind && e.key == key {
			out = append(out, e)
		}
	}
	return out
}

func (h *events) OnProcessRegistered(_, name string, pid actor.PID, meta any, r registry.Reason) {
	h.Add(event{kind: "registered", key: name, pid: pid, meta: meta, reason: r})
}

func (h *events) OnProcessUnregistered(_, name string, pid actor.PID, meta any, r registry.Reason) {
	h.Add(event{kind: "unregistered", key: name, pid: pid, meta: meta, reason: r})
}

func (h *events) OnRegistryProcessUpdated(_, name string, pid actor.PID, prev, meta any, r registry.Reason) {
	h.Add(event{kind: "updated", key: name, pid: pid, prev: prev, meta: meta, reason: r})
}

func (h *events) OnProcessJoined(_, group string, pid actor.PID, meta any, r registry.Reason) {
	h.Add(event{kind: "joined", key: group, pid: pid, meta: meta, reason: r})
}

func (h *events) OnProcessLeft(_, group string, pid actor.PID, meta any, r registry.Reason) {
	h.Add(event{kind: "left", key: group, pid: pid, meta: meta, reason: r})
}

func (h *events) OnGroupProcessUpdated(_, group string, pid actor.PID, prev, meta any, r registry.Reason) {
	h.Add(event{kind: "group-updated", key: group, pid: pid, prev: prev, meta: meta, reason: r})
}

// probeCluster is n nodes on the in-memory network; every node but the
// ones named in outside adds the replicated scope "s" with an events
// handler (and opts).
type probeCluster struct {
	c    *clustertest.Cluster
	regs []*registry.Registry // nil for a node outside the scope
	hs   []*events
}

func startProbe(t *testing.T, n int, outside []int, opts ...registry.ScopeOption) *probeCluster {
	t.Helper()
	return startProbeWith(t, n, outside, nil, opts...)
}

// startProbeWith is startProbe with each node's event handler made by
// handler from the node's recorder (nil: the recorder itself).
func startProbeWith(t *testing.T, n int, outside []int, handler func(h *events, node string) any, opts ...registry.ScopeOption) *probeCluster {
	t.Helper()
	var mu sync.Mutex
	regs, hs := map[string]*registry.Registry{}, map[string]*events{}
	names := make([]string, n)
	out := map[string]bool{}
	for i := range names {
		names[i] = fmt.Sprintf("p%d", i+1)
		if slices.Contains(outside, i) {
			out[fmt.Sprintf("p%d@mem:%d", i+1, i+1)] = true
		}
	}
	c := clustertest.Start(t, n, clustertest.WithNames(names...), clustertest.WithSetup(func(node *cluster.Cluster) error {
		reg, h := registry.NewCluster(node), &events{}
		mu.Lock()
		regs[node.Name()], hs[node.Name()] = reg, h
		mu.Unlock()
		if out[node.Name()] {
			return nil
		}
		var eh any = h
		if handler != nil {
			eh = handler(h, node.Name())
		}
		return reg.AddScope("s", append([]registry.ScopeOption{registry.WithEventHandler(eh)}, opts...)...)
	}))
	p := &probeCluster{c: c}
	for _, node := range c.Nodes() {
		p.regs = append(p.regs, regs[node.Name()])
		p.hs = append(p.hs, hs[node.Name()])
	}
	var in []string
	for _, node := range c.Nodes() {
		if !out[node.Name()] {
			in = append(in, node.Name())
		}
	}
	for i, node := range c.Nodes() {
		if out[node.Name()] {
			continue
		}
		want := slices.DeleteFunc(slices.Clone(in), func(s string) bool { return s == node.Name() })
		waitScopeNodes(t, p.regs[i], c, i, want...)
	}
	return p
}

// in returns the registries of the nodes in the scope.
func (p *probeCluster) in() []*registry.Registry {
	var out []*registry.Registry
	for i, r := range p.regs {
		if _, err := r.Scope("s"); err == nil {
			out = append(out, p.regs[i])
		}
	}
	return out
}

func (p *probeCluster) scope(t *testing.T, i int) *registry.Scope {
	t.Helper()
	s, err := p.regs[i].Scope("s")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitEvents waits until node i's handler has exactly want events of kind
// about key, and returns them.
func (p *probeCluster) waitEvents(t *testing.T, i int, kind, key string, want int) []event {
	t.Helper()
	var got []event
	testkit.Eventually(t, converge, func() error {
		got = p.hs[i].of(kind, key)
		if len(got) < want {
			return fmt.Errorf("node %d: %d %s events of %s, want %d: %v", i, len(got), kind, key, want, p.hs[i].All())
		}
		return nil
	})
	// Let anything more arrive before checking "exactly": a sync of the
	// scope runs every callback queued so far.
	syncScope(t, p.scope(t, i))
	got = p.hs[i].of(kind, key)
	if len(got) != want {
		t.Fatalf("node %d: %d %s events of %s, want exactly %d: %v", i, len(got), kind, key, want, got)
	}
	return got
}

func metaString(m any) string {
	if s, ok := m.(*wrapperspb.StringValue); ok {
		return s.GetValue()
	}
	return fmt.Sprintf("%T(%v)", m, m)
}

// TestProbeNameSeenEverywhere: a name registered on one node is seen, with
// its metadata, on every node of the scope, each of which runs the
// registered callback exactly once with reason Normal; a node outside the
// scope sees nothing and cannot use it.
func TestProbeNameSeenEverywhere(t *testing.T) {
	p := startProbe(t, 4, []int{3})
	n1 := p.c.Node(0).Node()
	w := spawn(t, n1)
	if err := p.regs[0].Register(ctxT(t), "s", "a", w, wrapperspb.String("m1")); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.in(), "a", w)
	for i := range 3 {
		_, meta, err := p.regs[i].Lookup("s", "a")
		if err != nil || metaString(meta) != "m1" {
			t.Fatalf("node %d: meta %v, %v", i, meta, err)
		}
		evs := p.waitEvents(t, i, "registered", "a", 1)
		if _, ok := evs[0].reason.(registry.Normal); !ok || evs[0].pid != w || metaString(evs[0].meta) != "m1" {
			t.Fatalf("node %d: %v, want registered a %v m1 Normal", i, evs[0], w)
		}
	}
	if _, _, err := p.regs[3].Lookup("s", "a"); !errors.Is(err, registry.ErrUnknownScope) {
		t.Fatalf("outside node's Lookup: %v, want ErrUnknownScope", err)
	}
	if err := p.regs[3].Register(ctxT(t), "s", "b", w, nil); !errors.Is(err, registry.ErrUnknownScope) {
		t.Fatalf("outside node's Register: %v, want ErrUnknownScope", err)
	}
	if len(p.hs[3].All()) != 0 {
		t.Fatalf("outside node's handler ran: %v", p.hs[3].All())
	}

	// An update of the metadata: once per node, prev and new.
	if _, _, err := p.regs[1].Update(ctxT(t), "s", "a", func(actor.PID, any) any { return wrapperspb.String("m2") }); err != nil {
		t.Fatal(err)
	}
	if _, meta, _ := p.regs[1].Lookup("s", "a"); metaString(meta) != "m2" {
		t.Fatalf("the updating node reads %v after Update returned", meta)
	}
	for i := range 3 {
		evs := p.waitEvents(t, i, "updated", "a", 1)
		if _, ok := evs[0].reason.(registry.Normal); !ok || metaString(evs[0].prev) != "m1" || metaString(evs[0].meta) != "m2" {
			t.Fatalf("node %d: %v, want updated a m1->m2 Normal", i, evs[0])
		}
	}

	// An exit: unregistered once per node with the exit reason.
	boom := errors.New("boom")
	kill(t, n1, w, boom)
	waitHolder(t, p.in(), "a", actor.PID{})
	for i := range 3 {
		evs := p.waitEvents(t, i, "unregistered", "a", 1)
		pe, ok := evs[0].reason.(registry.ProcessExit)
		if !ok || pe.Err == nil || pe.Err.Error() != boom.Error() {
			t.Fatalf("node %d: %v, want unregistered a with ProcessExit{boom}", i, evs[0])
		}
	}
}

// TestProbeForwardedWritesVisibleOnReturn: a write made on one node about a
// process of another returns only once the calling node shows it.
func TestProbeForwardedWritesVisibleOnReturn(t *testing.T) {
	p := startProbe(t, 3, nil)
	n1 := p.c.Node(0).Node()
	w := spawn(t, n1)
	ctx := ctxT(t)
	for i := range 20 {
		name := fmt.Sprintf("f%d", i)
		from := p.regs[1+i%2]
		if err := from.Register(ctx, "s", name, w, wrapperspb.String(name)); err != nil {
			t.Fatal(err)
		}
		if pid, meta, err := from.Lookup("s", name); err != nil || pid != w || metaString(meta) != name {
			t.Fatalf("after a forwarded Register returned: %v %v %v", pid, meta, err)
		}
		if _, _, err := from.Update(ctx, "s", name, func(actor.PID, any) any { return wrapperspb.String("u" + name) }); err != nil {
			t.Fatal(err)
		}
		if _, meta, _ := from.Lookup("s", name); metaString(meta) != "u"+name {
			t.Fatalf("after a forwarded Update returned: %v", meta)
		}
		if err := from.Unregister(ctx, "s", name, w); err != nil {
			t.Fatal(err)
		}
		if _, _, err := from.Lookup("s", name); !errors.Is(err, registry.ErrNotRegistered) {
			t.Fatalf("after a forwarded Unregister returned: %v", err)
		}
		g := "g" + name
		if err := from.Join(ctx, "s", g, w, wrapperspb.String("j")); err != nil {
			t.Fatal(err)
		}
		if ok, _ := from.IsMember("s", g, w); !ok {
			t.Fatal("not a member after a forwarded Join returned")
		}
		if ms, _ := from.Members("s", g); len(ms) != 1 || metaString(ms[0].Meta) != "j" {
			t.Fatalf("members after a forwarded Join: %v", ms)
		}
		if _, err := from.UpdateMember(ctx, "s", g, w, func(any) any { return wrapperspb.String("k") }); err != nil {
			t.Fatal(err)
		}
		if ms, _ := from.Members("s", g); len(ms) != 1 || metaString(ms[0].Meta) != "k" {
			t.Fatalf("members after a forwarded UpdateMember: %v", ms)
		}
		if err := from.Leave(ctx, "s", g, w); err != nil {
			t.Fatal(err)
		}
		if n, _ := from.MemberCount("s", g); n != 0 {
			t.Fatalf("member count %d after a forwarded Leave", n)
		}
	}
	// The errors of a forwarded write are the owner's.
	if err := p.regs[1].Register(ctx, "s", "x", w, nil); err != nil {
		t.Fatal(err)
	}
	w2 := spawn(t, n1)
	var ne *registry.NameError
	if err := p.regs[2].Register(ctx, "s", "x", w2, nil); !errors.Is(err, registry.ErrTaken) || !errors.As(err, &ne) || ne.Holder != w {
		t.Fatalf("forwarded Register of a taken name: %v", err)
	}
	if err := p.regs[2].Unregister(ctx, "s", "x", w2); !errors.Is(err, registry.ErrNotOwner) {
		t.Fatalf("forwarded Unregister by another process: %v", err)
	}
	if err := p.regs[2].Leave(ctx, "s", "none", w2); !errors.Is(err, registry.ErrNotInGroup) {
		t.Fatalf("forwarded Leave of a group not joined: %v", err)
	}
	kill(t, n1, w2, actor.Normal)
	if err := p.regs[2].Register(ctx, "s", "y", w2, nil); !errors.Is(err, registry.ErrNotAlive) {
		t.Fatalf("forwarded Register of a dead process: %v", err)
	}
	if err := p.regs[2].Join(ctx, "s", "gy", w2, nil); !errors.Is(err, registry.ErrNotAlive) {
		t.Fatalf("forwarded Join of a dead process: %v", err)
	}
}

type notProto struct{ v int }

// TestProbeMetaNotProto: metadata that is not a proto.Message fails every
// write of a replicated scope clearly, locally and forwarded, and leaves
// nothing behind.
func TestProbeMetaNotProto(t *testing.T) {
	p := startProbe(t, 2, nil)
	ctx := ctxT(t)
	w := spawn(t, p.c.Node(0).Node())
	for i, r := range p.regs {
		if err := r.Register(ctx, "s", "a", w, notProto{1}); !errors.Is(err, registry.ErrMetaNotProto) {
			t.Fatalf("node %d: Register with a struct: %v", i, err)
		}
		if err := r.Register(ctx, "s", "a", w, "text"); !errors.Is(err, registry.ErrMetaNotProto) {
			t.Fatalf("node %d: Register with a string: %v", i, err)
		}
		if err := r.Join(ctx, "s", "g", w, 42); !errors.Is(err, registry.ErrMetaNotProto) {
			t.Fatalf("node %d: Join with an int: %v", i, err)
		}
	}
	if err := p.regs[0].Register(ctx, "s", "a", w, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.regs[0].Join(ctx, "s", "g", w, nil); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs, "a", w)
	testkit.Eventually(t, converge, func() error {
		if ok, _ := p.regs[1].IsMember("s", "g", w); !ok {
			return errors.New("not yet a member on node 2")
		}
		return nil
	})
	for i, r := range p.regs {
		if _, _, err := r.Update(ctx, "s", "a", func(actor.PID, any) any { return notProto{2} }); !errors.Is(err, registry.ErrMetaNotProto) {
			t.Fatalf("node %d: Update to a struct: %v", i, err)
		}
		if _, err := r.UpdateMember(ctx, "s", "g", w, func(any) any { return notProto{2} }); !errors.Is(err, registry.ErrMetaNotProto) {
			t.Fatalf("node %d: UpdateMember to a struct: %v", i, err)
		}
	}
	waitHolder(t, p.regs, "a", w)
	for i, r := range p.regs {
		if _, meta, _ := r.Lookup("s", "a"); meta != nil {
			t.Fatalf("node %d: meta %v after refused updates", i, meta)
		}
		if ms, _ := r.Members("s", "g"); len(ms) == 1 && ms[0].Meta != nil {
			t.Fatalf("node %d: member meta %v after refused updates", i, ms[0].Meta)
		}
	}
}

// TestMetaNilMessageRefused: metadata that is a nil pointer of a message
// type is refused with ErrMetaNotProto, locally and forwarded, for
// Register, Join, Update and UpdateMember. It was accepted: the owner kept
// the nil pointer and every other node decoded an empty message, so the
// nodes disagreed on the entry's metadata.
func TestMetaNilMessageRefused(t *testing.T) {
	p := startProbe(t, 2, nil)
	ctx := ctxT(t)
	w := spawn(t, p.c.Node(0).Node())
	var nilMsg *wrapperspb.StringValue
	for i, r := range p.regs {
		if err := r.Register(ctx, "s", "b", w, nilMsg); !errors.Is(err, registry.ErrMetaNotProto) {
			t.Fatalf("node %d: Register with a nil *StringValue: %v, want ErrMetaNotProto", i, err)
		}
		if err := r.Join(ctx, "s", "g", w, nilMsg); !errors.Is(err, registry.ErrMetaNotProto) {
			t.Fatalf("node %d: Join with a nil *StringValue: %v, want ErrMetaNotProto", i, err)
		}
	}
	if err := p.regs[0].Register(ctx, "s", "b", w, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.regs[0].Join(ctx, "s", "g", w, nil); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs, "b", w)
	testkit.Eventually(t, converge, func() error {
		if ok, _ := p.regs[1].IsMember("s", "g", w); !ok {
			return errors.New("not yet a member on node 2")
		}
		return nil
	})
	for i, r := range p.regs {
		if _, _, err := r.Update(ctx, "s", "b", func(actor.PID, any) any { return nilMsg }); !errors.Is(err, registry.ErrMetaNotProto) {
			t.Fatalf("node %d: Update to a nil *StringValue: %v, want ErrMetaNotProto", i, err)
		}
		if _, err := r.UpdateMember(ctx, "s", "g", w, func(any) any { return nilMsg }); !errors.Is(err, registry.ErrMetaNotProto) {
			t.Fatalf("node %d: UpdateMember to a nil *StringValue: %v, want ErrMetaNotProto", i, err)
		}
	}
}

// echo answers every call with its request and forwards every other
// message to a channel.
type echo struct{ got chan any }

func (e echo) Receive(_ *actor.Context, msg any) error {
	switch m := msg.(type) {
	case *actor.Request:
		m.Reply(m.Message())
	default:
		if e.got != nil {
			e.got <- msg
		}
	}
	return nil
}

// TestProbeGroupsAcrossNodes: members of every node are listed, counted,
// published to and called on every node; the callbacks of a forwarded
// write run once per node; a member of a lost node is dropped with
// RemoteScopeNodeDown, and comes back with RemoteScopeNodeUp.
func TestProbeGroupsAcrossNodes(t *testing.T) {
	p := startProbe(t, 3, nil)
	ctx := ctxT(t)
	got := make(chan any, 16)
	var ws []actor.PID
	for i := range 3 {
		w, err := p.c.Node(i).Node().Spawn(echo{got: got})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
		// Joined from the next node: forwarded.
		if err := p.regs[(i+1)%3].Join(ctx, "s", "g", w, wrapperspb.String(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, converge, func() error {
		for i, r := range p.regs {
			if n, _ := r.MemberCount("s", "g"); n != 3 {
				return fmt.Errorf("node %d: %d members", i, n)
			}
		}
		return nil
	})
	for i, r := range p.regs {
		ms, _ := r.Members("s", "g")
		if !slices.Equal(sortedPIDs(pidsOf(ms)...), sortedPIDs(ws...)) {
			t.Fatalf("node %d: members %v, want %v", i, ms, ws)
		}
		if n, _ := r.LocalMemberCount("s", "g"); n != 1 {
			t.Fatalf("node %d: %d local members", i, n)
		}
		if names, _ := r.GroupNames("s"); !slices.Equal(names, []string{"g"}) {
			t.Fatalf("node %d: groups %v", i, names)
		}
		for j := range 3 {
			if evs := p.waitEvents(t, i, "joined", "g", 3); !slices.ContainsFunc(evs, func(e event) bool { return e.pid == ws[j] }) {
				t.Fatalf("node %d: no joined of %v: %v", i, ws[j], evs)
			}
		}
	}
	n, err := p.regs[1].Publish(actor.WithNode(ctx, p.c.Node(1).Node()), "s", "g", wrapperspb.String("hello"))
	if err != nil || n != 3 {
		t.Fatalf("Publish: %d, %v", n, err)
	}
	for range 3 {
		select {
		case m := <-got:
			if metaString(m) != "hello" {
				t.Fatalf("a member got %v", m)
			}
		case <-ctx.Done():
			t.Fatal("a member did not get the publish")
		}
	}
	replies, bad, err := p.regs[2].MultiCall(ctx, "s", "g", wrapperspb.String("ping"))
	if err != nil || len(replies) != 3 || len(bad) != 0 {
		t.Fatalf("MultiCall: %v %v %v", replies, bad, err)
	}
	for _, r := range replies {
		if metaString(r.Value) != "ping" || metaString(r.Meta) == "" {
			t.Fatalf("reply %+v", r)
		}
	}

	// Lose node 3 (a crash, as kill -9): its member goes on the others
	// with RemoteScopeNodeDown.
	lost := p.c.Node(2)
	lostName := lost.Name()
	if err := p.c.Crash(ctx, lost); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		evs := p.waitEvents(t, i, "left", "g", 1)
		r, ok := evs[0].reason.(registry.RemoteScopeNodeDown)
		if !ok || r.Scope != "s" || r.Node != lostName || evs[0].pid != ws[2] {
			t.Fatalf("node %d: %v, want left g %v RemoteScopeNodeDown{s %s}", i, evs[0], ws[2], lostName)
		}
		if n, _ := p.regs[i].MemberCount("s", "g"); n != 2 {
			t.Fatalf("node %d: %d members after the crash", i, n)
		}
	}
}

// TestProbeMultiCallLostNode: a member on a node that is cut off (not yet
// declared down) is among MultiCall's bad once the deadline passes; the
// others still answer.
func TestProbeMultiCallLostNode(t *testing.T) {
	p := startProbe(t, 3, nil)
	ctx := ctxT(t)
	var ws []actor.PID
	for i := range 3 {
		w, err := p.c.Node(i).Node().Spawn(echo{})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
		if err := p.regs[i].Join(ctx, "s", "g", w, nil); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, converge, func() error {
		if n, _ := p.regs[0].MemberCount("s", "g"); n != 3 {
			return fmt.Errorf("%d members", n)
		}
		return nil
	})
	p.c.Cut(p.c.Node(0), p.c.Node(2))
	cctx, cancel := contextWithTimeout(ctx, 300)
	defer cancel()
	replies, bad, err := p.regs[0].MultiCall(cctx, "s", "g", wrapperspb.String("ping"))
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 2 || !slices.Equal(bad, []actor.PID{ws[2]}) {
		t.Fatalf("MultiCall with n3 cut: replies %v, bad %v, want bad [%v]", replies, bad, ws[2])
	}
	p.c.HealAll()
}

func contextWithTimeout(ctx context.Context, ms int) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
}

// replayNames replays node i's name callbacks into a table name → pid.
func (p *probeCluster) replayNames(i int) (map[string]actor.PID, error) {
	tab := map[string]actor.PID{}
	for _, e := range p.hs[i].All() {
		switch e.kind {
		case "registered":
			if old, ok := tab[e.key]; ok {
				return nil, fmt.Errorf("node %d: registered %s %v while %v held it", i, e.key, e.pid, old)
			}
			tab[e.key] = e.pid
		case "unregistered":
			if tab[e.key] != e.pid {
				return nil, fmt.Errorf("node %d: unregistered %s %v while %v held it", i, e.key, e.pid, tab[e.key])
			}
			delete(tab, e.key)
		}
	}
	return tab, nil
}

// waitReplay waits until every node's name callbacks replay to its table.
func (p *probeCluster) waitReplay(t *testing.T) {
	t.Helper()
	testkit.Eventually(t, converge, func() error {
		for i, r := range p.regs {
			s, err := r.Scope("s")
			if err != nil {
				continue
			}
			if err := registry.Sync(ctxT(t), s); err != nil {
				return err
			}
			tab, err := p.replayNames(i)
			if err != nil {
				return err
			}
			names := s.Names()
			if len(names) != len(tab) {
				return fmt.Errorf("node %d: table %v, callbacks replay to %v", i, names, tab)
			}
			for _, n := range names {
				if pid, _, _ := s.Lookup(n); tab[n] != pid {
					return fmt.Errorf("node %d: %s is %v, callbacks replay to %v", i, n, pid, tab[n])
				}
			}
		}
		return nil
	})
}

// TestProbeNetsplitReasons: a node cut off drops the other side's names
// with RemoteScopeNodeDown{scope, node}, once per name; the heal brings
// them back with RemoteScopeNodeUp{scope, node}, once per name; the
// callbacks replay to the tables.
func TestProbeNetsplitReasons(t *testing.T) {
	p := startProbe(t, 3, nil)
	ctx := ctxT(t)
	n3 := p.c.Node(2)
	w := spawn(t, n3.Node())
	if err := p.regs[2].Register(ctx, "s", "far", w, wrapperspb.String("m")); err != nil {
		t.Fatal(err)
	}
	if err := p.regs[2].Join(ctx, "s", "g", w, wrapperspb.String("m")); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs, "far", w)
	testkit.Eventually(t, converge, func() error {
		for i, r := range p.regs {
			if ok, _ := r.IsMember("s", "g", w); !ok {
				return fmt.Errorf("node %d: not yet a member", i)
			}
		}
		return nil
	})
	p.c.Partition([]*cluster.Cluster{p.c.Node(0), p.c.Node(1)}, []*cluster.Cluster{n3})
	for i := range 2 {
		evs := p.waitEvents(t, i, "unregistered", "far", 1)
		if r, ok := evs[0].reason.(registry.RemoteScopeNodeDown); !ok || r != (registry.RemoteScopeNodeDown{Scope: "s", Node: n3.Name()}) {
			t.Fatalf("node %d: %v, want RemoteScopeNodeDown{s %s}", i, evs[0], n3.Name())
		}
		if evs := p.waitEvents(t, i, "left", "g", 1); evs[0].reason != (registry.RemoteScopeNodeDown{Scope: "s", Node: n3.Name()}) {
			t.Fatalf("node %d: %v", i, evs[0])
		}
	}
	p.c.HealAll()
	waitHolder(t, p.regs, "far", w)
	for i := range 2 {
		evs := p.waitEvents(t, i, "registered", "far", 2)
		if evs[1].reason != (registry.RemoteScopeNodeUp{Scope: "s", Node: n3.Name()}) || metaString(evs[1].meta) != "m" {
			t.Fatalf("node %d: %v, want registered far m RemoteScopeNodeUp{s %s}", i, evs[1], n3.Name())
		}
		if evs := p.waitEvents(t, i, "joined", "g", 2); evs[1].reason != (registry.RemoteScopeNodeUp{Scope: "s", Node: n3.Name()}) {
			t.Fatalf("node %d: %v", i, evs[1])
		}
	}
	// n3 saw the others go and come back, but nothing of its own changed.
	if evs := p.hs[2].of("unregistered", "far"); len(evs) != 0 {
		t.Fatalf("n3 unregistered its own name: %v", evs)
	}
	p.waitReplay(t)
}

// TestProbeScopeRestartReplicated: a replicated scope process that is
// killed restarts; a process that died while it was down is gone on every
// node; the others keep (or get back) the live entries; every node's
// callbacks replay to its table; and the new scope process replicates its
// changes. It was killed right after a write (the Update) whose change it
// had queued for its peers: the new process inherited the flag saying a
// flush was on its way (the dead one's), never sent one again, and every
// later change stayed on its node (a forwarded write hung until its
// deadline).
func TestProbeScopeRestartReplicated(t *testing.T) {
	p := startProbe(t, 3, nil)
	ctx := ctxT(t)
	n := p.c.Node(0).Node()
	s := p.scope(t, 0)
	a, c := spawn(t, n), spawn(t, n)
	if err := s.Register(ctx, "x", a, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(ctx, "y", c, nil); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs, "y", c)
	killScopeMissingDown(t, n, s, "x", c, converge)
	waitHolder(t, p.regs, "y", actor.PID{})
	waitHolder(t, p.regs, "x", a)
	evs := p.waitEvents(t, 0, "unregistered", "y", 1)
	if _, ok := evs[0].reason.(registry.Undefined); !ok {
		t.Fatalf("owner: %v, want Undefined", evs[0])
	}
	for i := 1; i < 3; i++ {
		waitScopeNodes(t, p.regs[i], p.c, i)
	}
	p.waitReplay(t)
	// The new scope process still replicates.
	b := spawn(t, n)
	if err := p.regs[1].Register(ctx, "s", "z", b, nil); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs, "z", b)
}

// TestPublishNotProtoAcrossNodes: a Publish whose message cannot cross to
// the members of other nodes (not a proto.Message) says so with an error
// wrapping cluster.ErrNotProtoMessage, beside the count of the members it
// reached. It returned the short count and no error: the remote members
// were dropped silently.
func TestPublishNotProtoAcrossNodes(t *testing.T) {
	p := startProbe(t, 2, nil)
	ctx := ctxT(t)
	got := make(chan any, 4)
	for i := range 2 {
		w, err := p.c.Node(i).Node().Spawn(echo{got: got})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.regs[i].Join(ctx, "s", "g", w, nil); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, converge, func() error {
		if n, _ := p.regs[0].MemberCount("s", "g"); n != 2 {
			return fmt.Errorf("%d members", n)
		}
		return nil
	})
	type local struct{ v int }
	n, err := p.regs[0].Publish(ctx, "s", "g", local{1})
	var oe *registry.OpError
	if n != 1 || !errors.Is(err, cluster.ErrNotProtoMessage) || !errors.As(err, &oe) || oe.Group != "g" {
		t.Fatalf("Publish of a Go struct to a group with a remote member: %d, %v; want 1 and ErrNotProtoMessage", n, err)
	}
	if m := <-got; m != (local{1}) {
		t.Fatalf("the local member got %v", m)
	}
	if n, err := p.regs[0].LocalPublish(ctx, "s", "g", local{2}); n != 1 || err != nil {
		t.Fatalf("LocalPublish of a Go struct: %d, %v", n, err)
	}
	<-got
	if n, err := p.regs[0].Publish(ctx, "s", "g", wrapperspb.String("x")); n != 2 || err != nil {
		t.Fatalf("Publish of a proto message: %d, %v", n, err)
	}
}

// TestZeroPIDWritesNotAlive: a write about the zero PID fails with
// ErrNotAlive (it names no process), on one node and in a replicated
// scope. It failed with ErrNotLocal, "process of another node".
func TestZeroPIDWritesNotAlive(t *testing.T) {
	_, local, _ := newScope(t)
	p := startProbe(t, 2, nil)
	ctx := ctxT(t)
	for i, r := range []*registry.Registry{local, p.regs[0]} {
		for op, err := range map[string]error{
			"register":   r.Register(ctx, "s", "x", actor.PID{}, nil),
			"join":       r.Join(ctx, "s", "g", actor.PID{}, nil),
			"unregister": r.Unregister(ctx, "s", "x", actor.PID{}),
			"leave":      r.Leave(ctx, "s", "g", actor.PID{}),
		} {
			if !errors.Is(err, registry.ErrNotAlive) {
				t.Errorf("registry %d: %s of the zero PID: %v, want ErrNotAlive", i, op, err)
			}
		}
	}
}

// TestProbeRaceConflict: two nodes register the same name for their own
// processes at the same moment, with no netsplit: every node ends with
// one holder, the same everywhere; the default resolver kills the other
// with a *ConflictError; each node's callbacks replay to its table.
func TestProbeRaceConflict(t *testing.T) {
	p := startProbe(t, 3, nil)
	ctx := ctxT(t)
	for round := range 10 {
		name := fmt.Sprintf("race%d", round)
		a, b := spawn(t, p.c.Node(0).Node()), spawn(t, p.c.Node(1).Node())
		aExit, bExit := p.c.Node(0).Node().WatchExit(a), p.c.Node(1).Node().WatchExit(b)
		var aErr, bErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); aErr = p.regs[0].Register(ctx, "s", name, a, nil) }()
		go func() { defer wg.Done(); bErr = p.regs[1].Register(ctx, "s", name, b, nil) }()
		wg.Wait()
		for _, err := range []error{aErr, bErr} {
			if err != nil && !errors.Is(err, registry.ErrTaken) {
				t.Fatal(err)
			}
		}
		var holder actor.PID
		testkit.Eventually(t, converge, func() error {
			pid, _, err := p.regs[2].Lookup("s", name)
			if err != nil {
				return err
			}
			for i, r := range p.regs {
				if got, _, _ := r.Lookup("s", name); got != pid {
					return fmt.Errorf("node %d: %v, node 3: %v", i, got, pid)
				}
			}
			holder = pid
			return nil
		})
		exited, loserErr := bExit, bErr
		if holder == b {
			exited, loserErr = aExit, aErr
		}
		if loserErr != nil {
			continue // refused at once: it never held the name, and lives on
		}
		select {
		case err := <-exited:
			var ce *registry.ConflictError
			if !errors.As(err, &ce) || ce.Name != name {
				t.Fatalf("round %d: the loser exited with %v", round, err)
			}
		case <-ctx.Done():
			t.Fatal("no exit")
		}
	}
	p.waitReplay(t)
}

// TestProbeLateScope: a node that adds the scope after the others have
// names gets them all (with RemoteScopeNodeUp), and its own names reach
// the others.
func TestProbeLateScope(t *testing.T) {
	p := startProbe(t, 3, []int{2})
	ctx := ctxT(t)
	w := spawn(t, p.c.Node(0).Node())
	if err := p.regs[0].Register(ctx, "s", "early", w, wrapperspb.String("e")); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs[:2], "early", w)
	late := &events{}
	p.hs[2] = late
	if err := p.regs[2].AddScope("s", registry.WithEventHandler(late)); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs, "early", w)
	evs := p.waitEvents(t, 2, "registered", "early", 1)
	if evs[0].reason != (registry.RemoteScopeNodeUp{Scope: "s", Node: p.c.Node(0).Name()}) || metaString(evs[0].meta) != "e" {
		t.Fatalf("late node: %v", evs[0])
	}
	w3 := spawn(t, p.c.Node(2).Node())
	if err := p.regs[2].Register(ctx, "s", "late", w3, nil); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs, "late", w3)
	p.waitReplay(t)
}

// TestProbeViaAcrossNodes: a process started with Via on one node is
// reached by name with registry.Call, Cast and Send from another node.
func TestProbeViaAcrossNodes(t *testing.T) {
	p := startProbe(t, 2, nil)
	got := make(chan any, 4)
	pid, err := p.c.Node(0).Node().Spawn(echo{got: got}, registry.Via("s", "svc"))
	if err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs, "svc", pid)
	ctx := actor.WithNode(ctxT(t), p.c.Node(1).Node())
	v, err := registry.Call(ctx, "s", "svc", wrapperspb.String("c"))
	if err != nil || metaString(v) != "c" {
		t.Fatalf("Call by name from the other node: %v, %v", v, err)
	}
	if err := registry.Cast(ctx, "s", "svc", wrapperspb.String("cast")); err != nil {
		t.Fatal(err)
	}
	if err := registry.Send(ctx, "s", "svc", wrapperspb.String("send")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cast", "send"} {
		select {
		case m := <-got:
			if metaString(m) != want {
				t.Fatalf("got %v, want %s", m, want)
			}
		case <-ctx.Done():
			t.Fatalf("%s did not arrive", want)
		}
	}
	if _, err := registry.Call(ctx, "s", "nobody", wrapperspb.String("c")); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("Call of a free name: %v", err)
	}
}

// splitConflictOnX cuts p's first node off from the other two, registers
// x on the first and on the second, and heals the cut: a conflict on x
// for the scope's resolver. It returns the two claimants.
func splitConflictOnX(t *testing.T, p *probeCluster) (a, b actor.PID) {
	t.Helper()
	c := p.c
	n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
	c.Partition([]*cluster.Cluster{n1}, []*cluster.Cluster{n2, n3})
	waitScopeNodes(t, p.regs[0], c, 0, []string{}...)
	waitScopeNodes(t, p.regs[1], c, 1, n3.Name())
	ctx := ctxT(t)
	a, b = spawn(t, n1.Node()), spawn(t, n2.Node())
	if err := p.regs[0].Register(ctx, "s", "x", a, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.regs[1].Register(ctx, "s", "x", b, nil); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs[2:], "x", b)
	c.HealAll()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return a, b
}

type keepNeither struct{ *events }

func (keepNeither) ResolveRegistryConflict(string, string, registry.Registration, registry.Registration) actor.PID {
	return actor.PID{}
}

// TestProbeResolverNeither: a resolver that keeps neither claim frees the
// name on every node after the heal, kills neither process, and every
// node that showed a claim reports its removal with ConflictResolution.
func TestProbeResolverNeither(t *testing.T) {
	p := startProbeWith(t, 3, nil, func(h *events, _ string) any { return keepNeither{h} })
	a, b := splitConflictOnX(t, p)
	n1, n2 := p.c.Node(0), p.c.Node(1)
	waitHolder(t, p.regs, "x", actor.PID{})
	if !n1.Node().IsAlive(a) || !n2.Node().IsAlive(b) {
		t.Fatal("a resolver that keeps neither killed a process")
	}
	for i := range 3 {
		syncScope(t, p.scope(t, i))
		evs := p.hs[i].of("unregistered", "x")
		if len(evs) == 0 {
			t.Fatalf("node %d: no unregistered x", i)
		}
		if _, ok := evs[len(evs)-1].reason.(registry.ConflictResolution); !ok {
			t.Fatalf("node %d: last removal %v, want ConflictResolution", i, evs[len(evs)-1])
		}
	}
	p.waitReplay(t)
}

type panickingResolver struct{ *events }

func (panickingResolver) ResolveRegistryConflict(string, string, registry.Registration, registry.Registration) actor.PID {
	panic("resolver bug")
}

// TestProbeResolverPanics: Syn's promise for a resolver that crashes: none
// of the two processes is killed and the name is freed, on every node.
func TestProbeResolverPanics(t *testing.T) {
	p := startProbeWith(t, 2, nil, func(h *events, _ string) any { return panickingResolver{h} })
	c := p.c
	n1, n2 := c.Node(0), c.Node(1)
	c.Partition([]*cluster.Cluster{n1}, []*cluster.Cluster{n2})
	waitScopeNodes(t, p.regs[0], c, 0, []string{}...)
	waitScopeNodes(t, p.regs[1], c, 1, []string{}...)
	ctx := ctxT(t)
	a, b := spawn(t, n1.Node()), spawn(t, n2.Node())
	if err := p.regs[0].Register(ctx, "s", "x", a, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.regs[1].Register(ctx, "s", "x", b, nil); err != nil {
		t.Fatal(err)
	}
	c.HealAll()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, p.regs, "x", actor.PID{})
	if !n1.Node().IsAlive(a) || !n2.Node().IsAlive(b) {
		t.Fatal("a resolver that panicked killed a process")
	}
}

// countingResolver keeps the claim of node p1 and counts its calls.
type countingResolver struct {
	*events
	calls *atomic.Int32
}

func (r countingResolver) ResolveRegistryConflict(_, _ string, a, b registry.Registration) actor.PID {
	r.calls.Add(1)
	if strings.HasPrefix(a.PID.NodeName(), "p1@") {
		return a.PID
	}
	return b.PID
}

// TestProbeResolverOnTheOwnersOnly: Syn calls a custom resolver on the two
// nodes of the conflicting processes only (a third node takes their
// outcome), keeps the chosen one everywhere and kills neither.
func TestProbeResolverOnTheOwnersOnly(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]*atomic.Int32{}
	p := startProbeWith(t, 3, nil, func(h *events, node string) any {
		n := &atomic.Int32{}
		mu.Lock()
		calls[node] = n
		mu.Unlock()
		return countingResolver{h, n}
	})
	a, b := splitConflictOnX(t, p)
	n1, n2, n3 := p.c.Node(0), p.c.Node(1), p.c.Node(2)
	waitHolder(t, p.regs, "x", a)
	if !n2.Node().IsAlive(b) {
		t.Error("a custom resolver's loser was killed")
	}
	for i := range 3 {
		syncScope(t, p.scope(t, i))
	}
	if calls[n1.Name()].Load() == 0 || calls[n2.Name()].Load() == 0 {
		t.Errorf("resolver calls: n1 %d, n2 %d; want both owners to call it", calls[n1.Name()].Load(), calls[n2.Name()].Load())
	}
	if k := calls[n3.Name()].Load(); k != 0 {
		t.Errorf("the resolver ran %d times on n3, which owns neither process", k)
	}
}

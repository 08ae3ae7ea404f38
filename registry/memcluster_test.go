package registry_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// memScopes starts n clustered nodes in this process (clustertest's
// in-memory network), each with a replicated registry scope "s" whose
// callbacks a recorder of its own records, and returns the cluster, the
// registries and the recorders, by node. opts are the scope's options
// beside the recorder.
func memScopes(t *testing.T, n int, opts ...registry.ScopeOption) (*clustertest.Cluster, []*registry.Registry, []*recorder) {
	t.Helper()
	regs := map[string]*registry.Registry{}
	recs := map[string]*recorder{}
	c := clustertest.Start(t, n, clustertest.WithSetup(func(node *cluster.Cluster) error {
		reg, rec := registry.NewCluster(node), &recorder{}
		regs[node.Name()], recs[node.Name()] = reg, rec
		return reg.AddScope("s", append([]registry.ScopeOption{registry.WithEventHandler(rec)}, opts...)...)
	}))
	var rs []*registry.Registry
	var hs []*recorder
	for _, node := range c.Nodes() {
		rs, hs = append(rs, regs[node.Name()]), append(hs, recs[node.Name()])
	}
	// The scopes know each other once each lists every other node.
	for i, r := range rs {
		waitScopeNodes(t, r, c, i)
	}
	return c, rs, hs
}

// waitScopeNodes waits until node i's scope s is synced with exactly the
// nodes want (every other node of c when want is nil).
func waitScopeNodes(t *testing.T, r *registry.Registry, c *clustertest.Cluster, i int, want ...string) {
	t.Helper()
	if want == nil {
		for j, n := range c.Nodes() {
			if j != i {
				want = append(want, n.Name())
			}
		}
	}
	slices.Sort(want)
	s, err := r.Scope("s")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, converge, func() error {
		got := s.Nodes()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s: scope synced with %v, want %v", c.Node(i).Name(), got, want)
		}
		return nil
	})
}

// waitHolder waits until name has holder want (none for the zero PID) on
// every registry of rs.
func waitHolder(t *testing.T, rs []*registry.Registry, name string, want actor.PID) {
	t.Helper()
	testkit.Eventually(t, converge, func() error {
		for i, r := range rs {
			pid, _, err := r.Lookup("s", name)
			if want.IsZero() && !errors.Is(err, registry.ErrNotRegistered) {
				return fmt.Errorf("node %d: %s held by %v (%v), want none", i, name, pid, err)
			}
			if !want.IsZero() && pid != want {
				return fmt.Errorf("node %d: %s held by %v (%v), want %v", i, name, pid, err, want)
			}
		}
		return nil
	})
}

// TestMemNetsplitConflict: three clustered nodes in one test process. A
// netsplit puts n1 apart from n2 and n3; each side registers name x for a
// process of its own; once healed the conflict is resolved alike on every
// node: the later registration (n2's) keeps x, n1's process is killed
// with a ConflictError, its owner's callbacks say conflict resolution,
// and what each side registered alone is learnt by the other. It is the
// in-memory counterpart of TestConflictAfterNetsplit, quick enough to
// run 50 times in a row under -race (-count=50). TestMemNetsplitConflict
// runs it in real time, TestMemNetsplitConflictSynctest inside a
// testing/synctest bubble, where the heartbeat timeouts pass in fake time.
func TestMemNetsplitConflict(t *testing.T) { memNetsplitConflict(t) }

func TestMemNetsplitConflictSynctest(t *testing.T) { synctest.Test(t, memNetsplitConflict) }

func memNetsplitConflict(t *testing.T) {
	c, rs, recs := memScopes(t, 3)
	n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
	c.Partition([]*cluster.Cluster{n1}, []*cluster.Cluster{n2, n3})
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	waitScopeNodes(t, rs[0], c, 0, []string{}...)
	waitScopeNodes(t, rs[1], c, 1, n3.Name())
	waitScopeNodes(t, rs[2], c, 2, n2.Name())

	wa, wb := spawn(t, n1.Node()), spawn(t, n2.Node())
	aExit := n1.Node().WatchExit(wa)
	if err := rs[0].Register(ctxT(t), "s", "x", wa, wrapperspb.String("ma")); err != nil {
		t.Fatal(err)
	}
	if err := rs[1].Register(ctxT(t), "s", "x", wb, wrapperspb.String("mb")); err != nil { // later: the default keeps it
		t.Fatal(err)
	}
	wy := spawn(t, n3.Node())
	if err := rs[2].Register(ctxT(t), "s", "y", wy, wrapperspb.String("my")); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, rs[:1], "x", wa)
	waitHolder(t, rs[1:], "x", wb)
	waitHolder(t, rs[:1], "y", actor.PID{})
	recs[0].Take()

	c.HealAll()
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, rs, "x", wb)
	waitHolder(t, rs, "y", wy)
	select {
	case err := <-aExit:
		var ce *registry.ConflictError
		if !errors.As(err, &ce) || ce.Scope != "s" || ce.Name != "x" {
			t.Fatalf("n1's loser exited with %v, want a ConflictError on s/x", err)
		}
	case <-ctxT(t).Done():
		t.Fatal("n1's loser was not killed")
	}
	if !n2.Node().IsAlive(wb) {
		t.Fatal("the winner is dead")
	}
	s1, _ := rs[0].Scope("s")
	syncScope(t, s1)
	evs := recs[0].Take()
	for _, want := range []string{
		fmt.Sprintf("unregistered s x %v value:\"ma\" conflict resolution", wa),
		fmt.Sprintf("registered s x %v value:\"mb\" conflict resolution", wb),
	} {
		if !slices.Contains(evs, want) {
			t.Errorf("n1's callbacks %q lack %q", evs, want)
		}
	}
}

// twoFaced is a recorder whose resolver answers differently by node: on
// the node named lower it keeps the registration whose metadata sorts
// first, elsewhere always this node's own. It breaks the rule that a
// resolver is deterministic on purpose, to leave both owners holding
// their own registration after a heal, each with the other's claim
// hidden.
type twoFaced struct {
	recorder
	node, lower string
}

func (h *twoFaced) ResolveRegistryConflict(_, _ string, a, b registry.Registration) actor.PID {
	if h.node != h.lower {
		if a.PID.NodeName() == h.node {
			return a.PID
		}
		return b.PID
	}
	if metaText(a.Meta) < metaText(b.Meta) {
		return a.PID
	}
	return b.PID
}

// twoFacedSplit starts two clustered nodes whose resolver is twoFaced
// (n1's keeps the lower metadata, n2's its own), registers x on each
// side of a netsplit (a new process of n1 with metadata m1, one of n2
// with m2) and heals it, so that n1 asks about m1 and m2 and each owner
// ends holding its own x with the other's claim hidden. It returns the
// two nodes' registries, n1's handler (its callbacks taken) and the two
// processes.
func twoFacedSplit(t *testing.T, m1, m2 string) (c *clustertest.Cluster, r1, r2 *registry.Registry, h1 *twoFaced, p1, p2 actor.PID) {
	t.Helper()
	var regs []*registry.Registry
	var hs []*twoFaced
	c = clustertest.Start(t, 2, clustertest.WithSetup(func(node *cluster.Cluster) error {
		h := &twoFaced{node: node.Name()}
		reg := registry.NewCluster(node)
		regs, hs = append(regs, reg), append(hs, h)
		return reg.AddScope("s", registry.WithEventHandler(h))
	}))
	n1, n2 := c.Node(0), c.Node(1)
	for i, h := range hs {
		h.lower = n1.Name()
		switch h.node {
		case n1.Name():
			r1, h1 = regs[i], h
		case n2.Name():
			r2 = regs[i]
		}
	}
	rs := []*registry.Registry{r1, r2}
	c.Partition([]*cluster.Cluster{n1}, []*cluster.Cluster{n2})
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	p1, p2 = spawn(t, n1.Node()), spawn(t, n2.Node())
	if err := r1.Register(ctxT(t), "s", "x", p1, wrapperspb.String(m1)); err != nil {
		t.Fatal(err)
	}
	if err := r2.Register(ctxT(t), "s", "x", p2, wrapperspb.String(m2)); err != nil {
		t.Fatal(err)
	}
	c.HealAll()
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		waitScopeNodes(t, r, c, i)
	}
	waitHolder(t, rs[:1], "x", p1)
	waitHolder(t, rs[1:], "x", p2)
	s1, _ := r1.Scope("s")
	syncScope(t, s1)
	h1.Take()
	return c, r1, r2, h1, p1, p2
}

// TestUpdateAsksTheResolverAgain: a local Update of a registration that
// won a conflict asks the custom resolver again about the claim it beat,
// with the new metadata; when the answer changes, the local registration
// is removed (ConflictResolution, its process alive) and the other shown.
// Without it, the owner whose metadata changed kept its old answer while
// the other owner, asked about the new metadata, could keep its own: two
// holders of one name for good.
func TestUpdateAsksTheResolverAgain(t *testing.T) {
	// Both owners keep their own: n1 asked about m5 and m7, n2 keeps its
	// own whatever it is asked.
	c, r1, r2, h1, wa, wb := twoFacedSplit(t, "m5", "m7")

	// n1's metadata now sorts after n2's: asked again, n1 gives x up.
	if _, _, err := r1.Update(ctxT(t), "s", "x", func(actor.PID, any) any { return wrapperspb.String("m9") }); err != nil {
		t.Fatal(err)
	}
	waitHolder(t, []*registry.Registry{r1, r2}, "x", wb)
	if !c.Node(0).Node().IsAlive(wa) {
		t.Fatal("a custom resolver's loser was killed")
	}
	s1, _ := r1.Scope("s")
	syncScope(t, s1)
	want := fmt.Sprintf("unregistered s x %v value:\"m9\" conflict resolution", wa)
	if evs := h1.Take(); !slices.Contains(evs, want) {
		t.Errorf("n1's callbacks %q lack %q", evs, want)
	}
}

// TestUpdateDoesNotAskAboutAClaimItDidNotBeat: a claim hidden because it
// lost to an earlier registration of the name (whose owner has given it
// up, its withdrawal on the way) is not asked about again when a later
// registration of the name is updated: the later one never met it, and
// asking would drop it for a claim that is being withdrawn. Here n2's
// resolver keeps its own claim (twoFaced), so that the claim n1 beat
// stays for the test to see.
func TestUpdateDoesNotAskAboutAClaimItDidNotBeat(t *testing.T) {
	c, r1, _, h1, p0, _ := twoFacedSplit(t, "m1", "m5") // n1 beat n2's claim (m1 before m5) and hides it
	p2 := spawn(t, c.Node(0).Node())
	if err := r1.Unregister(ctxT(t), "s", "x", p0); err != nil {
		t.Fatal(err)
	}
	if err := r1.Register(ctxT(t), "s", "x", p2, wrapperspb.String("m2")); err != nil {
		t.Fatal(err)
	}
	h1.Take()
	// m9 sorts after the hidden claim's m5: asked about it, n1 would drop p2.
	if _, _, err := r1.Update(ctxT(t), "s", "x", func(actor.PID, any) any { return wrapperspb.String("m9") }); err != nil {
		t.Fatal(err)
	}
	s1, _ := r1.Scope("s")
	syncScope(t, s1)
	if pid, _, err := r1.Lookup("s", "x"); pid != p2 {
		t.Fatalf("after p2's Update n1 shows x held by %v (%v), want p2 %v", pid, err, p2)
	}
	for _, e := range h1.Take() {
		if strings.Contains(e, "conflict resolution") {
			t.Errorf("n1 resolved again after p2's Update: %q", e)
		}
	}
}

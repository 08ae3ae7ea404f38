package registry_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// converge is how long a change may take to reach every node in these
// tests, under -race and beside other load.
const converge = 30 * time.Second

// addr returns a free loopback address.
func addr(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t)) }

// eventually waits until n's reply to cmd is want.
func eventually(t *testing.T, n *node, want, format string, args ...any) {
	t.Helper()
	testkit.Eventually(t, converge, func() error {
		if got := n.ok(format, args...); got != want {
			return fmt.Errorf("node %s: %q is %q, want %q", n.label, fmt.Sprintf(format, args...), got, want)
		}
		return nil
	})
}

// eventuallyEvent waits until n printed an event with every one of parts.
func eventuallyEvent(t *testing.T, n *node, parts ...string) {
	t.Helper()
	testkit.Eventually(t, converge, func() error {
		if !n.hasEvent(parts...) {
			return fmt.Errorf("node %s: no event with %q", n.label, parts)
		}
		return nil
	})
}

// spawnOn spawns a worker W on n and returns its PID's text and its
// base64 wire form.
func spawnOn(t *testing.T, n *node, w string) (pid, wire string) {
	t.Helper()
	pid, wire, _ = strings.Cut(n.ok("spawn %s", w), " ")
	return pid, wire
}

// Three nodes share scope s and a fourth runs none. A name registered on
// a reaches b and c with its metadata and reason normal; the fourth node
// sees nothing and its forged writes are dropped and counted; a write
// about a's process made on c is visible on c when it returns; the
// process's death removes its names everywhere with its exit reason;
// kill -9 of b purges b's entries on a and c with RemoteScopeNodeDown;
// b restarted on its address learns a's entries with RemoteScopeNodeUp and
// its new entries reach the others. It runs on both networks (forNets),
// kill -9 a crash in memory.
func TestReplicatedScopeThreeNodes(t *testing.T) { forNets(t, replicatedScopeThreeNodes) }

func replicatedScopeThreeNodes(t *testing.T, mode netMode) {
	nn := startNet(t, mode, "", []string{"d"}, nil, "a", "b", "c", "d")
	names := map[string]string{}
	for l := range nn.nodes {
		names[l] = nn.name(l)
	}
	a, b, c, d := nn.nodes["a"], nn.nodes["b"], nn.nodes["c"], nn.nodes["d"]
	eventually(t, a, names["b"]+","+names["c"], "nodes")
	eventually(t, b, names["a"]+","+names["c"], "nodes")
	eventually(t, c, names["a"]+","+names["b"], "nodes")

	// A registration reaches every node of the scope.
	w1, w1wire := spawnOn(t, a, "w1")
	a.ok("register n1 w1 m1")
	for _, n := range []*node{b, c} {
		eventually(t, n, w1+" m1", "lookup n1")
		eventuallyEvent(t, n, "registered n1 "+w1+" m1 normal")
	}

	// Nothing of the scope on d, and what d forges into it is refused.
	if r := d.do("lookup n1"); !strings.Contains(r, "unknown scope") {
		t.Errorf("d: lookup n1: %s, want an unknown scope error", r)
	}
	dropped := a.ok("dropped")
	if r := d.ok("forge %s s", names["a"]); r != "NOT_MEMBER" {
		t.Errorf("forged write: %s, want NOT_MEMBER", r)
	}
	testkit.Eventually(t, converge, func() error {
		if got := a.ok("dropped"); got == dropped || got == "" {
			return fmt.Errorf("a dropped %s, was %s", got, dropped)
		}
		return nil
	})
	if r := a.ok("lookup forged"); r != "none" {
		t.Errorf("a: forged name is %s", r)
	}

	// A write about a's process made on c: visible on c when it returns.
	c.ok("register n2 %s m2", w1wire)
	if r := c.ok("lookup n2"); r != w1+" m2" {
		t.Errorf("c: lookup n2 right after register: %s", r)
	}
	eventually(t, a, w1+" m2", "lookup n2")
	eventually(t, b, w1+" m2", "lookup n2")
	if r := c.ok("update n2 m2b"); r != "m2b" {
		t.Errorf("c: update of a's n2: %s", r)
	}
	if r := c.ok("lookup n2"); r != w1+" m2b" {
		t.Errorf("c: lookup n2 right after update: %s", r)
	}
	eventually(t, a, w1+" m2b", "lookup n2")
	eventuallyEvent(t, b, "updated n2 "+w1+" m2b normal")
	c.ok("register n7 %s m7", w1wire)
	c.ok("unregister n7 %s", w1wire)
	if r := c.ok("lookup n7"); r != "none" {
		t.Errorf("c: lookup n7 right after unregister: %s", r)
	}
	eventually(t, a, "none", "lookup n7")

	// Groups.
	w2, _ := spawnOn(t, b, "w2")
	b.ok("join g w2 mg")
	eventually(t, a, w2+":mg", "members g")
	eventually(t, c, w2+":mg", "members g")
	wa, _ := spawnOn(t, a, "wa")
	a.ok("join g wa ma")
	eventually(t, c, strings.Join(sortedPair(w2+":mg", wa+":ma"), ","), "members g")
	if r := c.ok("multicall g"); r != "2 0" {
		t.Errorf("c: multicall g: %s, want 2 replies and no bad member", r)
	}
	if r := c.ok("publish g"); r != "2" {
		t.Errorf("c: publish g reached %s members, want 2", r)
	}
	if r := c.ok("updatemember g %s ma2", wireOf(t, a, "wa")); r != "ma2" {
		t.Errorf("c: update of a's membership: %s", r)
	}
	eventually(t, a, strings.Join(sortedPair(w2+":mg", wa+":ma2"), ","), "members g")
	c.ok("leave g %s", wireOf(t, a, "wa"))
	if r := c.ok("members g"); r != w2+":mg" {
		t.Errorf("c: members g right after leave: %s", r)
	}
	eventually(t, a, w2+":mg", "members g")

	// The process's death removes its names everywhere, with its reason.
	a.ok("exit w1 boom")
	for _, n := range []*node{b, c} {
		eventually(t, n, "none", "lookup n1")
		eventually(t, n, "none", "lookup n2")
		eventuallyEvent(t, n, "unregistered n1 "+w1+" m1 exit: boom")
	}

	// kill -9 of b purges its entries on a and c.
	b.ok("register n3 w2 m3")
	eventually(t, a, w2+" m3", "lookup n3")
	w3, _ := spawnOn(t, a, "w3")
	a.ok("register n4 w3 m4")
	eventually(t, c, w3+" m4", "lookup n4")
	nn.kill("b")
	down := "remote scope node down: s on " + names["b"]
	for _, n := range []*node{a, c} {
		eventually(t, n, "none", "lookup n3")
		eventually(t, n, "", "members g")
		eventuallyEvent(t, n, "unregistered n3 "+w2+" m3 "+down)
		eventuallyEvent(t, n, "left g "+w2+" mg "+down)
	}

	// b restarted on its address syncs again.
	b = nn.restart("b")
	eventually(t, b, names["a"]+","+names["c"], "nodes")
	eventually(t, b, w3+" m4", "lookup n4")
	eventuallyEvent(t, b, "registered n4 "+w3+" m4 remote scope node up: s on "+names["a"])
	w5, _ := spawnOn(t, b, "w5")
	b.ok("register n5 w5 m5")
	eventually(t, a, w5+" m5", "lookup n5")
	eventually(t, c, w5+" m5", "lookup n5")
	eventually(t, a, "2", "count") // n4 and n5, nothing else

	// a's scope process is killed: restarted, it syncs again both ways.
	a.ok("killscope")
	eventually(t, a, names["b"]+","+names["c"], "nodes")
	eventually(t, a, w5+" m5", "lookup n5")
	eventually(t, a, w3+" m4", "lookup n4")
	for _, n := range []*node{b, c} {
		eventually(t, n, names["a"]+","+names[map[*node]string{b: "c", c: "b"}[n]], "nodes")
		eventually(t, n, w3+" m4", "lookup n4")
	}
	w6, _ := spawnOn(t, a, "w6")
	a.ok("register n6 w6 m6")
	eventually(t, b, w6+" m6", "lookup n6")
	eventually(t, c, w6+" m6", "lookup n6")
}

// The same name registered on both sides of a netsplit (a real cut: a's
// only way in is a proxy that refuses connections) is resolved when the
// cut heals, identically on both owners: by default the later
// registration stays and the other process is killed with a conflict
// reason; a resolver's loser stays alive and unregistered; a resolver
// that keeps neither frees the name and kills nobody. The other entries
// of each side are learnt with RemoteScopeNodeUp. It runs on both
// networks (forNets): on the real one a and b never meet before the heal,
// in memory they meet and are split loudly.
func TestConflictAfterNetsplit(t *testing.T) {
	for _, tc := range []struct {
		resolver   string
		holder     string // "a", "b" or "" for none
		aExit      string // a's worker's fate
		callbacks  []string
		resolution string
	}{
		{resolver: "", holder: "b", aExit: "conflict s x"},
		{resolver: "lower", holder: "a", aExit: "alive"},
		{resolver: "neither", holder: "", aExit: "alive"},
	} {
		t.Run("resolver="+tc.resolver, func(t *testing.T) {
			forNets(t, func(t *testing.T, mode netMode) {
				nn := startNet(t, mode, tc.resolver, nil, func(net randNet) { net.cutPair("a", "b", false) }, "a", "b")
				a, b, aName := nn.nodes["a"], nn.nodes["b"], nn.name("a")
				eventually(t, a, "", "nodes")
				eventually(t, b, "", "nodes")
				wa, _ := spawnOn(t, a, "wa")
				wb, _ := spawnOn(t, b, "wb")
				wy, _ := spawnOn(t, b, "wy")
				a.ok("register x wa ma")
				b.ok("register x wb mb") // later: the default keeps it
				b.ok("register y wy my")
				if a.ok("nodes") != "" || b.ok("nodes") != "" {
					t.Fatal("a and b see each other through the cut")
				}

				nn.rc.net.healAll()
				eventually(t, a, b.name, "nodes")
				eventually(t, b, aName, "nodes")
				want := "none"
				switch tc.holder {
				case "a":
					want = wa + " ma"
				case "b":
					want = wb + " mb"
				}
				eventually(t, a, want, "lookup x")
				eventually(t, b, want, "lookup x")
				eventually(t, a, wy+" my", "lookup y")
				eventuallyEvent(t, a, "registered y "+wy+" my remote scope node up: s on "+b.name)
				eventually(t, a, tc.aExit, "exitreason wa")
				eventually(t, b, "alive", "exitreason wb")
				switch tc.holder {
				case "b":
					eventuallyEvent(t, a, "unregistered x "+wa+" ma conflict resolution")
					eventuallyEvent(t, a, "registered x "+wb+" mb conflict resolution")
				case "a":
					eventuallyEvent(t, b, "unregistered x "+wb+" mb conflict resolution")
					eventuallyEvent(t, b, "registered x "+wa+" ma conflict resolution")
				default:
					eventuallyEvent(t, a, "unregistered x "+wa+" ma conflict resolution")
					eventuallyEvent(t, b, "unregistered x "+wb+" mb conflict resolution")
				}
			})
		})
	}
}

// A node with 100k names: a node that joins gets them all in a chunked
// snapshot (one message would exceed the cluster's MaxMessageBytes), and
// loses them all when the first node is killed. The nodes print no
// callbacks (CHILD_QUIET): 200k event lines through the pipes, which the
// test never reads, made the counts 3.5 times slower, over their bound on
// a loaded machine (load round 5, shuffle 1796129606148148103).
func TestSnapshotOf100kNames(t *testing.T) {
	if testing.Short() {
		t.Skip("100k registrations")
	}
	const count = 100_000
	aAddr, bAddr := addr(t), addr(t)
	a := startNode(t, "a", "CHILD_LISTEN="+aAddr, "CHILD_SCOPE=s", "CHILD_QUIET=1")
	took := a.ok("bulk %d n", count)
	t.Logf("registered %d names on a in %s", count, took)
	b := startNode(t, "b", "CHILD_LISTEN="+bAddr, "CHILD_PEERS="+a.name, "CHILD_SCOPE=s", "CHILD_QUIET=1")
	t.Logf("b counts %d names after %s", count, b.ok("waitcount %d", count))
	if r := b.ok("lookup n4242"); !strings.HasSuffix(r, " meta-of-4242") {
		t.Errorf("b: lookup n4242: %s", r)
	}
	a.kill9()
	t.Logf("b counts 0 names %s after a was killed", b.ok("waitcount 0"))
}

func sortedPair(a, b string) []string {
	if b < a {
		return []string{b, a}
	}
	return []string{a, b}
}

// wireOf returns the wire form of worker w of n.
func wireOf(t *testing.T, n *node, w string) string {
	t.Helper()
	return n.ok("wire %s", w)
}

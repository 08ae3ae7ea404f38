package registry_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// meshNet is a set of node addresses with a testkit.Mesh between them:
// each node listens on its own address, is named at it, and dials every
// peer through its own route, so that one pair or one direction can be cut.
type meshNet struct {
	labels []string
	listen map[string]string // label -> listen address
	mesh   *testkit.Mesh
}

// newMeshNet picks a distinct free address for each label and starts the
// mesh. A free port is only free a moment: two picks, or a pick and a
// proxy, may get the same one, and then it picks again.
func newMeshNet(t *testing.T, labels ...string) *meshNet {
	for attempt := 0; ; attempt++ {
		mn := &meshNet{labels: labels, listen: map[string]string{}}
		used := map[string]bool{}
		for _, l := range labels {
			a := addr(t)
			for used[a] {
				a = addr(t)
			}
			used[a] = true
			mn.listen[l] = a
		}
		mn.mesh = testkit.NewMesh(t, mn.listen)
		clash := false
		for _, l := range labels {
			for _, r := range mn.mesh.Routes(l) {
				clash = clash || used[r]
			}
		}
		if !clash || attempt == 10 {
			return mn
		}
		mn.mesh.Close()
	}
}

// name is the node name of label l.
func (mn *meshNet) name(l string) string { return l + "@" + mn.listen[l] }

// peers returns the sorted node names of every label but l.
func (mn *meshNet) peers(l string) []string {
	var out []string
	for _, o := range mn.labels {
		if o != l {
			out = append(out, mn.name(o))
		}
	}
	sort.Strings(out)
	return out
}

// env is the child settings of node l: its address, its peers and its
// routes to them.
func (mn *meshNet) env(l string) []string {
	var routes []string
	for to, a := range mn.mesh.Routes(l) {
		routes = append(routes, mn.name(to)+"="+a)
	}
	sort.Strings(routes)
	return []string{"CHILD_LISTEN=" + mn.listen[l], "CHILD_PEERS=" + strings.Join(mn.peers(l), ","),
		"CHILD_PEERADDRS=" + strings.Join(routes, ",")}
}

// The same name registered on both sides of a partial netsplit (a and b
// cannot reach each other, c reaches both, with real cuts between the
// processes) is resolved when the cut heals, identically on both owners
// and as the resolver says: after the heal exactly one holder on every
// node (none for a resolver that keeps neither), the default's loser dead
// with the conflict reason, a custom resolver's loser alive and
// unregistered. c, which held both claims during the split, ends with the
// owners' result, and every node's callbacks replay to its final view.
// It runs on both networks (forNets): on the real one a and b never meet
// before the heal, in memory they meet and are split loudly.
func TestConflictAfterPartialNetsplit(t *testing.T) {
	for _, tc := range []struct {
		resolver string
		holder   string // "a", "b" or "" for none
		aExit    string // a's worker's fate
		bExit    string
	}{
		{resolver: "", holder: "b", aExit: "conflict s x", bExit: "alive"},
		{resolver: "lower", holder: "a", aExit: "alive", bExit: "alive"},
		{resolver: "neither", holder: "", aExit: "alive", bExit: "alive"},
	} {
		t.Run("resolver="+tc.resolver, func(t *testing.T) {
			forNets(t, func(t *testing.T, mode netMode) {
				nn := startNet(t, mode, tc.resolver, nil, func(net randNet) { net.cutPair("a", "b", false) }, "a", "b", "c")
				mn, nodes := nn.rc.mn, nn.nodes
				a, b, c := nodes["a"], nodes["b"], nodes["c"]
				eventually(t, a, mn.name("c"), "nodes")
				eventually(t, b, mn.name("c"), "nodes")
				eventually(t, c, mn.name("a")+","+mn.name("b"), "nodes")
				if a.ok("nodes") != mn.name("c") || b.ok("nodes") != mn.name("c") {
					t.Fatal("a and b see each other through the cut")
				}
				wa, _ := spawnOn(t, a, "wa")
				wb, _ := spawnOn(t, b, "wb")
				wy, _ := spawnOn(t, b, "wy")
				a.ok("register x wa ma")
				eventually(t, c, wa+" ma", "lookup x") // c learns a's claim first
				b.ok("register x wb mb")               // later: the default keeps it
				b.ok("register y wy my")
				eventually(t, c, wy+" my", "lookup y")
				eventually(t, a, "none", "lookup y") // not through c: only owners replicate

				nn.rc.net.healAll()
				for _, l := range mn.labels {
					eventually(t, nodes[l], strings.Join(mn.peers(l), ","), "nodes")
				}
				want := "none"
				switch tc.holder {
				case "a":
					want = wa + " ma"
				case "b":
					want = wb + " mb"
				}
				for _, l := range mn.labels {
					eventually(t, nodes[l], want, "lookup x")
					eventually(t, nodes[l], wy+" my", "lookup y")
				}
				eventually(t, a, tc.aExit, "exitreason wa")
				eventually(t, b, tc.bExit, "exitreason wb")
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
				for _, l := range mn.labels {
					n := nodes[l]
					view := n.ok("lookup x") + "|" + n.ok("lookup y") + "|" + n.ok("count")
					names := map[string]string{}
					if want != "none" {
						names["x"] = strings.Replace(want, " ", ":", 1)
					}
					names["y"] = wy + ":my"
					got := replayNames(t, n)
					for k, v := range names {
						if got[k] != v {
							t.Errorf("node %s: callbacks replay x/y to %v, view %s", l, got, view)
							break
						}
					}
					if len(got) != len(names) {
						t.Errorf("node %s: callbacks replay to %v, view %s", l, got, view)
					}
				}
			})
		})
	}
}

// replayNames replays n's name callbacks to the names they leave held
// (name -> pid:meta), failing on a callback that does not follow.
func replayNames(t *testing.T, n *node) map[string]string {
	t.Helper()
	names := map[string]string{}
	for _, e := range n.eventLog() {
		f := strings.SplitN(e, " ", 5)
		if len(f) < 4 {
			continue
		}
		switch f[0] {
		case "registered":
			if cur, ok := names[f[1]]; ok {
				t.Errorf("node %s: %q while %s held it", n.label, e, cur)
			}
			names[f[1]] = f[2] + ":" + f[3]
		case "unregistered":
			if cur := names[f[1]]; !strings.HasPrefix(cur, f[2]+":") {
				t.Errorf("node %s: %q while %q held it", n.label, e, cur)
			}
			delete(names, f[1])
		case "updated":
			names[f[1]] = f[2] + ":" + f[3]
		}
	}
	return names
}

package registry_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// envInt reads a positive integer setting, or returns def.
func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

// randCluster is the state of the randomized test: three nodes behind
// proxies (their only way in), each with a pool of workers.
type randCluster struct {
	t       *testing.T
	labels  []string
	listen  map[string]string
	proxies map[string]*testkit.Proxy
	names   map[string]string // label -> node name (advertised at the proxy)
	nodes   map[string]*node
	workers map[*node]map[string]string // node -> worker -> wire PID
	all     []*node                     // every node started, for their logs
}

// conflicts counts the conflicts the nodes resolved, from their logs.
func (rc *randCluster) conflicts() int {
	n := 0
	for _, nd := range rc.all {
		n += strings.Count(nd.logs.String(), "registry conflict resolved")
	}
	return n
}

func (rc *randCluster) env(l string) []string {
	var peers []string
	for _, o := range rc.labels {
		if o != l {
			peers = append(peers, rc.names[o])
		}
	}
	return []string{"CHILD_LISTEN=" + rc.listen[l], "CHILD_ADVERTISE=" + rc.proxies[l].Addr(),
		"CHILD_PEERS=" + strings.Join(peers, ","), "CHILD_SCOPE=s"}
}

func (rc *randCluster) start(l string) {
	n := startNode(rc.t, l, rc.env(l)...)
	n.ok("keys %d %d", randNames, randGroups)
	rc.nodes[l] = n
	rc.all = append(rc.all, n)
	rc.workers[n] = map[string]string{}
	for i := range randWorkers {
		w := fmt.Sprint("w", i)
		_, wire := spawnOn(rc.t, n, w)
		rc.workers[n][w] = wire
	}
}

const (
	randNames   = 12
	randGroups  = 5
	randWorkers = 5
)

// expectedErr reports whether a random operation may fail this way.
func expectedErr(reply string) bool {
	for _, s := range []string{"name taken", "held by another", "not registered", "not in group",
		"not alive", "noproc", "noconnection", "process of another node"} {
		if strings.Contains(reply, s) {
			return true
		}
	}
	return false
}

// ops runs count random operations on n; other holds the workers of the
// other nodes, for forwarded writes. It returns how many it ran.
func (rc *randCluster) ops(n *node, rng *rand.Rand, count int, other []string) int {
	t := rc.t
	for range count {
		w := fmt.Sprint("w", rng.IntN(randWorkers))
		name := fmt.Sprint("n", rng.IntN(randNames))
		group := fmt.Sprint("g", rng.IntN(randGroups))
		meta := fmt.Sprint("m", rng.IntN(100))
		var reply string
		switch op := rng.IntN(100); {
		case op < 8:
			reply = n.do("exit %s crash", w)
			_, wire := spawnOn(t, n, w)
			rc.workers[n][w] = wire
		case op < 35:
			reply = n.do("register %s %s %s", name, w, meta)
		case op < 50:
			reply = n.do("unregister %s %s", name, w)
		case op < 72:
			reply = n.do("join %s %s %s", group, w, meta)
		case op < 87:
			reply = n.do("leave %s %s", group, w)
		case len(other) > 0:
			wire := other[rng.IntN(len(other))]
			if op < 94 {
				reply = n.do("register %s %s %s", name, wire, meta)
			} else {
				reply = n.do("join %s %s %s", group, wire, meta)
			}
		default:
			reply = "OK"
		}
		if !strings.HasPrefix(reply, "OK") && !expectedErr(reply) {
			t.Errorf("node %s: unexpected reply %q", n.label, reply)
		}
	}
	return count
}

// replay rebuilds a node's view from its callback lines, in the dump's
// format; it reports a callback that does not follow from the ones
// before it.
func replayEvents(events []string) (string, []string) {
	names := map[string]string{}
	members := map[string]map[string]string{}
	var bad []string
	for _, e := range events {
		f := strings.SplitN(e, " ", 5)
		if len(f) < 4 {
			bad = append(bad, "short event "+e)
			continue
		}
		kind, key, pid, meta := f[0], f[1], f[2], f[3]
		switch kind {
		case "registered":
			if _, ok := names[key]; ok {
				bad = append(bad, "registered while held: "+e)
			}
			names[key] = pid + ":" + meta
		case "unregistered":
			if cur, ok := names[key]; !ok || !strings.HasPrefix(cur, pid+":") {
				bad = append(bad, "unregistered "+e+" held by "+cur)
			}
			delete(names, key)
		case "updated":
			if cur, ok := names[key]; !ok || !strings.HasPrefix(cur, pid+":") {
				bad = append(bad, "updated "+e+" held by "+cur)
			}
			names[key] = pid + ":" + meta
		case "joined":
			if members[key] == nil {
				members[key] = map[string]string{}
			}
			if _, ok := members[key][pid]; ok {
				bad = append(bad, "joined twice: "+e)
			}
			members[key][pid] = meta
		case "left":
			if _, ok := members[key][pid]; !ok {
				bad = append(bad, "left by non-member: "+e)
			}
			delete(members[key], pid)
		case "gupdated":
			if _, ok := members[key][pid]; !ok {
				bad = append(bad, "group update of non-member: "+e)
			}
			members[key][pid] = meta
		}
	}
	var ns, gs []string
	for i := range randNames {
		k := fmt.Sprint("n", i)
		if v, ok := names[k]; ok {
			ns = append(ns, k+"="+v)
		}
	}
	for i := range randGroups {
		k := fmt.Sprint("g", i)
		var ms []string
		for pid, meta := range members[k] {
			ms = append(ms, k+"="+pid+":"+meta)
		}
		sort.Strings(ms)
		gs = append(gs, ms...)
	}
	return strings.Join(ns, ",") + ";" + strings.Join(gs, ","), bad
}

// TestRandomizedCluster runs seeded rounds of random writes on three node
// processes at once (so that names race between nodes), each round with
// one fault: none, a real cut of one node during the writes (its proxy
// refuses and resets every connection, or silently holds the bytes and
// delivers them once both sides have declared each other down), or kill
// -9 of a node and its restart on the same address. After each round, once the nodes have converged: every
// node shows the same names (PID and metadata) and members, no local
// holder or member is dead, counts agree, and each node's callbacks replay
// to exactly its view. ARBOR_REGISTRY_SEED and ARBOR_REGISTRY_CYCLES
// choose the seed and the rounds; a failure prints the seed.
func TestRandomizedCluster(t *testing.T) {
	seed := uint64(envInt("ARBOR_REGISTRY_SEED", int(time.Now().UnixNano()%1_000_000)))
	cycles := envInt("ARBOR_REGISTRY_CYCLES", 4)
	opsPerNode := envInt("ARBOR_REGISTRY_OPS", 40)
	t.Logf("seed %d, cycles %d (rerun with ARBOR_REGISTRY_SEED=%d)", seed, cycles, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FAILED with ARBOR_REGISTRY_SEED=%d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 7))
	rc := &randCluster{t: t, labels: []string{"a", "b", "c"}, listen: map[string]string{},
		proxies: map[string]*testkit.Proxy{}, names: map[string]string{}, nodes: map[string]*node{},
		workers: map[*node]map[string]string{}}
	for _, l := range rc.labels {
		rc.listen[l] = addr(t)
		rc.proxies[l] = testkit.NewProxy(t, rc.listen[l])
		rc.names[l] = l + "@" + rc.proxies[l].Addr()
	}
	for _, l := range rc.labels {
		rc.start(l)
	}
	var conv []time.Duration
	totalOps := 0
	for cycle := range cycles {
		// 0: none; 1: a loud cut (connections refused and reset); 2: kill -9
		// and restart; 3: a silent cut (bytes held, then delivered late,
		// after both sides declared each other down).
		fault := rng.IntN(4)
		victim := rc.labels[rng.IntN(len(rc.labels))]
		switch fault {
		case 1:
			rc.proxies[victim].Cut(testkit.Reset)
		case 3:
			rc.proxies[victim].Cut(testkit.Blackhole)
		}
		others := map[string][]string{} // before the writers start: they change the pools
		for _, l := range rc.labels {
			for _, o := range rc.labels {
				if o != l {
					for _, wire := range rc.workers[rc.nodes[o]] {
						others[l] = append(others[l], wire)
					}
				}
			}
			slices.Sort(others[l])
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, l := range rc.labels {
			n, other := rc.nodes[l], others[l]
			r := rand.New(rand.NewPCG(seed, uint64(cycle*10+i)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := rc.ops(n, r, opsPerNode, other)
				mu.Lock()
				totalOps += k
				mu.Unlock()
			}()
		}
		wg.Wait()
		switch fault {
		case 1:
			rc.proxies[victim].Heal()
		case 3:
			rc.awaitSplit(victim)
			rc.proxies[victim].Heal()
		case 2:
			rc.nodes[victim].kill9()
			rc.start(victim)
		}
		start := time.Now()
		rc.converged(cycle)
		conv = append(conv, time.Since(start))
	}
	slices.Sort(conv)
	t.Logf("random: cycles %d, ops %d, conflicts resolved %d, mismatches 0, convergence p50 %v max %v",
		cycles, totalOps, rc.conflicts(), conv[len(conv)/2], conv[len(conv)-1])
}

// awaitSplit waits until the other nodes no longer count victim among the
// scope's nodes: the silent cut was noticed.
func (rc *randCluster) awaitSplit(victim string) {
	for _, l := range rc.labels {
		if l == victim {
			continue
		}
		n := rc.nodes[l]
		testkit.Eventually(rc.t, converge, func() error {
			if strings.Contains(n.ok("nodes"), rc.names[victim]) {
				return fmt.Errorf("node %s still synced with %s", l, victim)
			}
			return nil
		})
	}
}

// converged waits until every node holds the same view with no problem,
// then checks each node's callbacks against its view.
func (rc *randCluster) converged(cycle int) {
	t := rc.t
	t.Helper()
	var dumps map[string]string
	testkit.Eventually(t, 2*converge, func() error {
		dumps = map[string]string{}
		for _, l := range rc.labels {
			n := rc.nodes[l]
			var peers []string
			for _, o := range rc.labels {
				if o != l {
					peers = append(peers, rc.names[o])
				}
			}
			sort.Strings(peers)
			if got := n.ok("nodes"); got != strings.Join(peers, ",") {
				return fmt.Errorf("cycle %d: node %s synced with %q", cycle, l, got)
			}
			dumps[l] = n.ok("dump")
		}
		for _, l := range rc.labels {
			parts := strings.SplitN(dumps[l], ";", 3)
			if len(parts) == 3 && parts[2] != "" {
				return fmt.Errorf("cycle %d: node %s: %s", cycle, l, parts[2])
			}
			if dumps[l] != dumps[rc.labels[0]] {
				return fmt.Errorf("cycle %d: views differ:\n%s: %s\n%s: %s", cycle, rc.labels[0], dumps[rc.labels[0]], l, dumps[l])
			}
		}
		return nil
	})
	for _, l := range rc.labels {
		n := rc.nodes[l]
		view, bad := replayEvents(n.eventLog())
		for _, b := range bad {
			t.Errorf("cycle %d: node %s: callback: %s", cycle, l, b)
		}
		if want := strings.TrimSuffix(dumps[l], ";"); view != want {
			t.Errorf("cycle %d: node %s: callbacks replay to\n%s\nview is\n%s", cycle, l, view, want)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

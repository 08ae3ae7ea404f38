package registry_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

const (
	randNames   = 12
	randGroups  = 5
	randWorkers = 5
)

// randExtra is an actor or a check added to the randomized test beside the
// registry's own, the hook for later cluster-wide features: a cluster
// singleton, say, starts on every node (Start, called for each node start,
// restarts included), may act while a cycle's fault stands (During, beside
// the writers; nil for none), and after each heal and quiescence reports
// counts by label (Check: "singleton duplicates after heal" -> 0) that must
// all be zero. The summary prints them on a line of their own, just before
// the registry's.
type randExtra struct {
	Name   string
	Start  func(rc *randCluster, label string)
	During func(rc *randCluster, cycle int)
	Check  func(rc *randCluster, cycle int) map[string]int
}

// randExtras are the extras every run of TestRandomizedCluster includes.
var randExtras []randExtra

// randWorker is one slot of a node's pool: its current process.
type randWorker struct{ pid, wire string }

// opRec is a write the model follows: it adds or removes (key, pid), where
// key is "n:<name>" or "g:<group>"; certain is false when its reply did
// not say whether it applied (a lost session, a timeout).
type opRec struct {
	key, pid   string
	add        bool
	certain    bool
	start, end int64 // rc.tick before and after: a clock no two ops share
}

// randCluster is the state of the randomized test: node processes behind
// a mesh of proxies (one per ordered pair: their only way to each other),
// each with a pool of workers, and the model of what must survive.
type randCluster struct {
	t        *testing.T
	mn       *meshNet
	net      randNet // the faults and the nodes: real processes and sockets, or in memory
	clock    atomic.Int64
	resolver string
	noScope  map[string]bool // labels of nodes that run no scope (startNet's tests; none in the randomized one)
	// fastDetection gives the nodes a 600 ms heartbeat timeout: the
	// randomized test's freezes and silent cuts are seen by heartbeats
	// only, and its cycles would wait the default 3 s for each. It copes
	// with a session that a loaded machine ends by itself as with any
	// other fault.
	fastDetection bool
	nodes         map[string]*node
	workers       map[string]map[string]randWorker // label -> slot -> worker
	all           []*node                          // every node started, for their logs
	base          map[*node][2]int                 // a node's goroutines and open files once first converged

	mu      sync.Mutex
	recs    []opRec
	opCount int
	unknown int // replies that left a write's effect unknown

	held    map[string]bool   // "key pid" held after the last convergence
	view    string            // the agreed dump after the last convergence
	status0 map[string]string // each worker's state then, by PID

	duplicates, lost, zombies, mismatches, conflicts int
	checked                                          int // entries the model expected to survive a cycle
	extra                                            map[string]int
	conv                                             []time.Duration
}

func (rc *randCluster) start(l string) {
	n := rc.net.startNode(rc, l)
	n.ok("keys %d %d", randNames, randGroups)
	rc.nodes[l] = n
	rc.all = append(rc.all, n)
	rc.workers[l] = map[string]randWorker{}
	for i := range randWorkers {
		rc.spawn(l, fmt.Sprint("w", i))
	}
	for _, x := range randExtras {
		if x.Start != nil {
			x.Start(rc, l)
		}
	}
}

func (rc *randCluster) spawn(l, w string) {
	pid, wire := spawnOn(rc.t, rc.nodes[l], w)
	rc.mu.Lock()
	rc.workers[l][w] = randWorker{pid: pid, wire: wire}
	rc.mu.Unlock()
}

// settled reports whether a reply says for sure what happened: OK, or a
// refusal that changed nothing.
func settled(reply string) bool {
	if strings.HasPrefix(reply, "OK") {
		return true
	}
	for _, s := range []string{"name taken", "held by another", "not registered", "not in group",
		"not alive", "process of another node", "noproc"} {
		if strings.Contains(reply, s) {
			return true
		}
	}
	return false
}

// broken reports a reply no random operation may give.
func broken(reply string) bool {
	for _, s := range []string{"unknown command", "metadata", "empty scope", "unknown scope", "unknown worker"} {
		if strings.Contains(reply, s) {
			return true
		}
	}
	return false
}

// remote is a worker of another node that forwarded writes name.
type remote struct{ pid, wire string }

// ops runs count random operations on node l; other holds the workers of
// the other nodes, for forwarded writes.
func (rc *randCluster) ops(l string, rng *rand.Rand, count int, other []remote) {
	t, n := rc.t, rc.nodes[l]
	for range count {
		w := fmt.Sprint("w", rng.IntN(randWorkers))
		name := fmt.Sprint("n", rng.IntN(randNames))
		group := fmt.Sprint("g", rng.IntN(randGroups))
		meta := fmt.Sprint("m", rng.IntN(100))
		rc.mu.Lock()
		me := rc.workers[l][w]
		rc.mu.Unlock()
		var rec *opRec
		start := rc.clock.Add(1)
		var reply string
		switch op := rng.IntN(100); {
		case op < 5: // kill
			reply = n.do("exit %s crash", w)
		case op < 10: // spawn a fresh process in a dead slot
			if n.ok("exitreason %s", w) == "alive" {
				reply = "OK"
				break
			}
			rc.spawn(l, w)
			reply = "OK"
		case op < 32:
			reply = n.do("register %s %s %s", name, w, meta)
			rec = &opRec{key: "n:" + name, pid: me.pid, add: true}
		case op < 44:
			reply = n.do("unregister %s %s", name, w)
			rec = &opRec{key: "n:" + name, pid: me.pid}
		case op < 50:
			reply = n.do("update %s %s", name, meta)
		case op < 68:
			reply = n.do("join %s %s %s", group, w, meta)
			rec = &opRec{key: "g:" + group, pid: me.pid, add: true}
		case op < 80:
			reply = n.do("leave %s %s", group, w)
			rec = &opRec{key: "g:" + group, pid: me.pid}
		case op < 85:
			reply = n.do("updatemember %s %s %s", group, w, meta)
		case len(other) > 0:
			o := other[rng.IntN(len(other))]
			if op < 93 {
				reply = n.do("register %s %s %s", name, o.wire, meta)
				rec = &opRec{key: "n:" + name, pid: o.pid, add: true}
			} else {
				reply = n.do("join %s %s %s", group, o.wire, meta)
				rec = &opRec{key: "g:" + group, pid: o.pid, add: true}
			}
		default:
			reply = "OK"
		}
		if broken(reply) {
			t.Errorf("node %s: unexpected reply %q", l, reply)
		}
		rc.mu.Lock()
		rc.opCount++
		ok := settled(reply)
		if !ok {
			rc.unknown++
		}
		if rec != nil && (!ok || strings.HasPrefix(reply, "OK")) {
			rec.certain, rec.start, rec.end = ok, start, rc.clock.Add(1)
			rc.recs = append(rc.recs, *rec)
		}
		rc.mu.Unlock()
	}
}

// replayEvents rebuilds a node's view from its callback lines, in the
// dump's format; it reports a callback that does not follow from the ones
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

// parseView turns a dump's names and groups into the set of "key pid"
// held, and name -> holder.
func parseView(dump string) (held map[string]bool, holders map[string]string) {
	held, holders = map[string]bool{}, map[string]string{}
	parts := strings.SplitN(dump, ";", 3)
	for i, kind := range []string{"n:", "g:"} {
		if i >= len(parts) || parts[i] == "" {
			continue
		}
		for _, e := range strings.Split(parts[i], ",") {
			key, v, _ := strings.Cut(e, "=")
			pid := v[:strings.LastIndexByte(v, ':')]
			held[kind+key+" "+pid] = true
			if kind == "n:" {
				holders[key] = pid
			}
		}
	}
	return held, holders
}

// TestRandomizedCluster runs seeded cycles of random writes (register,
// unregister, update, join, leave, kill and spawn) on 3 to 5 node
// processes at once, so that names race between nodes, each cycle under
// one fault made with real sockets or signals: none; a full netsplit into
// two parts; a partial one (one pair apart, the others reaching both); a
// one-way cut; a node frozen with SIGSTOP (then SIGCONT); its proxies
// stalled; kill -9 of a node and its restart on the same address. Cuts
// are loud (connections reset) or silent (bytes held, then delivered late,
// often after both sides declared each other down). After each heal and
// quiescence it asserts: every node shows the same names (PID and
// metadata), members and counts; no entry of a dead process or of a node
// outside the cluster; at most one holder per name; no entry lost whose
// process stayed alive and was never removed, nor resolved away in a
// conflict (a model of the writes that returned); each conflict resolved
// as the resolver says (the default kills the loser with the conflict
// reason; a custom one kills nobody; one that keeps neither frees the
// name), alike on both owners; each node's callbacks replay to exactly its
// view; and the extras' checks (randExtras: a cluster singleton runs on
// every node, exactly one instance after each heal). At the end the
// nodes' goroutines and open files are back near their first count, and
// the test process's back to its baseline.
//
// ARBOR_REGISTRY_SEED, ARBOR_REGISTRY_CYCLES, ARBOR_REGISTRY_OPS (per node
// and cycle), ARBOR_REGISTRY_NODES and ARBOR_REGISTRY_RESOLVER ("default",
// "lower", "neither") choose the run; a failure prints its seed, and the
// seed reruns the same cycles. The last line it logs is the summary `make
// netsplit` prints last.
func TestRandomizedCluster(t *testing.T) { runRandomized(t, 24, newRealNet) }

// runRandomized is TestRandomizedCluster on the network newNet makes, with
// cycles cycles unless ARBOR_REGISTRY_CYCLES says.
func runRandomized(t *testing.T, cycles int, newNet func(t *testing.T, labels []string) (randNet, *meshNet)) {
	seed := uint64(envInt("ARBOR_REGISTRY_SEED", int(time.Now().UnixNano()%1_000_000)))
	cycles = envInt("ARBOR_REGISTRY_CYCLES", cycles)
	opsPerNode := envInt("ARBOR_REGISTRY_OPS", 12)
	rng := rand.New(rand.NewPCG(seed, 7))
	count := envInt("ARBOR_REGISTRY_NODES", 3+rng.IntN(3))
	resolver := os.Getenv("ARBOR_REGISTRY_RESOLVER")
	if resolver == "" {
		resolver = []string{"default", "lower", "neither"}[rng.IntN(3)]
	}
	t.Logf("seed %d, cycles %d, nodes %d, resolver %s (rerun with ARBOR_REGISTRY_SEED=%d)", seed, cycles, count, resolver, seed)
	if resolver == "default" {
		resolver = ""
	}
	baseG, baseF := runtime.NumGoroutine(), openFiles(t)

	var labels []string
	for i := range count {
		labels = append(labels, string(rune('a'+i)))
	}
	rc := &randCluster{t: t, resolver: resolver, nodes: map[string]*node{},
		workers: map[string]map[string]randWorker{}, base: map[*node][2]int{}, held: map[string]bool{},
		extra: map[string]int{}, fastDetection: true}
	rc.net, rc.mn = newNet(t, labels)
	t.Cleanup(func() {
		rc.summary()
		if t.Failed() {
			t.Logf("FAILED with ARBOR_REGISTRY_SEED=%d", seed)
		}
	})
	for _, l := range labels {
		rc.start(l)
	}
	rc.converged(-1, time.Now())
	for cycle := range cycles {
		rc.cycle(cycle, rng, rand.New(rand.NewPCG(seed, uint64(cycle)+1)), opsPerNode)
	}
	rc.resources()
	// Everything the test started ends: the nodes, then the proxies.
	for _, n := range rc.nodes {
		n.stop()
	}
	rc.net.close()
	testkit.Eventually(t, converge, func() error {
		if g, f := runtime.NumGoroutine(), openFiles(t); g > baseG || f > baseF {
			return fmt.Errorf("test process: %d goroutines and %d open files, %d and %d at the start", g, f, baseG, baseF)
		}
		return nil
	})
}

// openFiles counts the test process's open files.
func openFiles(t *testing.T) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("open files: %v", err)
	}
	return len(fds)
}

// fault names, for the log (those of the real network: randNet.faultNames
// says each network's).
var faultNames = []string{"none", "split", "partial", "one-way", "sigstop", "stall", "kill -9"}

// cycle runs one cycle: a fault, random writes on every node during it,
// the heal, and the checks once the nodes have converged.
func (rc *randCluster) cycle(cycle int, rng, opsRng *rand.Rand, opsPerNode int) {
	labels, net := rc.mn.labels, rc.net
	fault := rng.IntN(len(faultNames))
	silent := rng.IntN(2) == 0
	waitSplit := rng.IntN(2) == 0
	cut := "loud"
	if silent {
		cut = "silent"
	}
	victim := labels[rng.IntN(len(labels))]
	other := labels[(slices.Index(labels, victim)+1+rng.IntN(len(labels)-1))%len(labels)]
	var side []string // the split's part that holds the victim
	for _, l := range labels {
		if l == victim || (l != victim && rng.IntN(3) == 0 && len(side) < len(labels)-2) {
			side = append(side, l)
		}
	}
	desc := net.faultNames()[fault]
	switch fault {
	case 1:
		net.split(silent, side)
		desc += fmt.Sprintf(" %v|rest %v", side, cut)
	case 2:
		net.cutPair(victim, other, silent)
		desc += fmt.Sprintf(" %s-%s %v", victim, other, cut)
	case 3:
		net.cutOneWay(victim, other, silent)
		desc += fmt.Sprintf(" %s->%s %v", victim, other, cut)
	case 4:
		net.freeze(victim)
		desc += " " + victim
	case 5:
		net.stall(victim)
		desc += " " + victim
	case 6:
		desc += " " + victim
	}
	rc.t.Logf("cycle %d: %s", cycle, desc)

	// The writers: one per running node, with the other nodes' workers
	// for forwarded writes (a frozen node's are left out: a write to it
	// waits for the session to end).
	rc.mu.Lock()
	recStart := len(rc.recs)
	others := map[string][]remote{}
	for _, l := range labels {
		for _, o := range labels {
			if o == l || (fault == 4 && o == victim) {
				continue
			}
			for _, w := range rc.workers[o] {
				others[l] = append(others[l], remote(w))
			}
		}
		slices.SortFunc(others[l], func(a, b remote) int { return strings.Compare(a.wire, b.wire) })
	}
	rc.mu.Unlock()
	var wg sync.WaitGroup
	for i, l := range labels {
		if fault == 4 && l == victim {
			continue
		}
		r := rand.New(rand.NewPCG(opsRng.Uint64(), uint64(i)))
		wg.Go(func() { rc.ops(l, r, opsPerNode, others[l]) })
	}
	for _, x := range randExtras {
		if x.During != nil {
			wg.Go(func() { x.During(rc, cycle) })
		}
	}
	wg.Wait()

	// The heal.
	switch fault {
	case 1, 2:
		if silent && waitSplit {
			for _, a := range side {
				for _, b := range labels {
					if (fault == 1 && !slices.Contains(side, b)) || (fault == 2 && a == victim && b == other) {
						rc.awaitApart(a, b)
					}
				}
			}
		}
		net.healAll()
	case 3, 5:
		net.healAll()
	case 4:
		if waitSplit {
			for _, l := range labels {
				if l != victim {
					rc.awaitApart(l, victim)
				}
			}
		}
		net.thaw(victim)
	case 6:
		net.kill(victim)
		rc.start(victim)
	}
	healed := time.Now()
	rc.converged(cycle, healed)
	rc.checkModel(cycle, recStart)
}

// awaitApart waits until node a no longer counts b among the scope's
// nodes: the cut was noticed.
func (rc *randCluster) awaitApart(a, b string) {
	n, name := rc.nodes[a], rc.mn.name(b)
	testkit.Eventually(rc.t, converge, func() error {
		if strings.Contains(n.ok("nodes"), name) {
			return fmt.Errorf("node %s still synced with %s", a, b)
		}
		return nil
	})
}

// status returns every current worker's state, "alive" or its exit
// reason, by PID.
func (rc *randCluster) status() map[string]string {
	out := map[string]string{}
	for _, l := range rc.mn.labels {
		r := rc.nodes[l].ok("workers")
		if r == "" {
			continue
		}
		for _, e := range strings.Split(r, ",") {
			f := strings.SplitN(e, "=", 3)
			if len(f) == 3 {
				out[f[1]] = f[2]
			}
		}
	}
	return out
}

// softFail stands in for the test in Eventually, so that a convergence
// that never comes is counted and reported rather than stopping at once.
type softFail struct {
	testing.TB
	failed string
}

func (r *softFail) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

// converged waits until every node is synced with every other and all
// hold the same view, free of problems (dead holders, counts that
// disagree) and of zombies (an entry of a process that is not a live
// worker of a current node), then checks each node's callbacks against its
// view, and the extras. On a timeout it counts what is still wrong and
// fails the test.
func (rc *randCluster) converged(cycle int, healed time.Time) {
	t := rc.t
	t.Helper()
	var dumps map[string]string
	var status map[string]string
	problem := func() (dup, zombies, mismatches int, err error) {
		dumps = map[string]string{}
		for _, l := range rc.mn.labels {
			n := rc.nodes[l]
			if got := n.ok("nodes"); got != strings.Join(rc.mn.peers(l), ",") {
				return 0, 0, 1, fmt.Errorf("node %s synced with %q", l, got)
			}
			dumps[l] = n.ok("dump")
		}
		status = rc.status()
		first := rc.mn.labels[0]
		holders := map[string]map[string]bool{}
		for _, l := range rc.mn.labels {
			parts := strings.SplitN(dumps[l], ";", 3)
			if len(parts) == 3 && parts[2] != "" {
				mismatches++
				err = fmt.Errorf("node %s: %s", l, parts[2])
			}
			if dumps[l] != dumps[first] {
				mismatches++
				err = fmt.Errorf("views differ:\n%s: %s\n%s: %s", first, dumps[first], l, dumps[l])
			}
			held, hs := parseView(dumps[l])
			for name, pid := range hs {
				if holders[name] == nil {
					holders[name] = map[string]bool{}
				}
				holders[name][pid] = true
			}
			for k := range held {
				_, pid, _ := strings.Cut(k, " ")
				if status[pid] != "alive" {
					zombies++
					err = fmt.Errorf("node %s: %s held by a process that is %q", l, k, status[pid])
				}
			}
		}
		for _, hs := range holders {
			if len(hs) > 1 {
				dup++
			}
		}
		return dup, zombies, mismatches, err
	}
	rec := &softFail{TB: t}
	testkit.Eventually(rec, 2*converge, func() error {
		_, _, _, err := problem()
		return err
	})
	took := time.Since(healed)
	if rec.failed != "" {
		dup, z, m, _ := problem()
		rc.duplicates += dup
		rc.zombies += z
		rc.mismatches += max(m, 1)
		t.Fatalf("cycle %d: not converged: %s", cycle, rec.failed)
	}
	if cycle >= 0 {
		rc.conv = append(rc.conv, took)
	}
	for _, l := range rc.mn.labels {
		n := rc.nodes[l]
		if dumps, err := callbacksMatch(rc.t, n, converge); err != nil {
			rc.mismatches++
			t.Errorf("cycle %d: node %s: %v", cycle, l, err)
		} else if dumps > 1 {
			t.Logf("cycle %d: node %s: callbacks agreed with the view at dump %d (the node was not quiet after convergence)", cycle, l, dumps)
		}
		_, bad := replayEvents(n.eventLog())
		for _, b := range bad {
			rc.mismatches++
			t.Errorf("cycle %d: node %s: callback: %s", cycle, l, b)
		}
		if _, ok := rc.base[n]; !ok {
			rc.base[n] = rc.res(n)
		}
	}
	for _, x := range randExtras {
		if x.Check == nil {
			continue
		}
		for k, v := range x.Check(rc, cycle) {
			rc.extra[k] += v
			if v != 0 {
				t.Errorf("cycle %d: %s: %s %d", cycle, x.Name, k, v)
			}
		}
	}
	rc.view = dumps[rc.mn.labels[0]]
	rc.status0 = status
	if t.Failed() {
		t.FailNow()
	}
}

// callbacksMatch waits up to timeout until n's callbacks replay to
// exactly its view, and returns what differs if they never do.
//
// The view is dumped again, not the one that converged: that dump may
// have read a change its Sync came before (the last one, which made the
// views agree) while the change's callbacks were still queued; this
// dump's Sync comes after it, so they have run. The replay takes the
// events the node printed before its reply to the dump, not those that
// came after it. And it is waited for, not read once: convergence does
// not make the cluster quiet. Under load a node's heartbeats can still
// time out after the views agreed (a child starved for longer than the
// heartbeat timeout), its sessions then end and come back, each purge
// and sync changing the table and printing callbacks, and a dump taken
// during that churn may read a change (applied after its Sync) whose
// callback is printed after the reply. Once the node is quiet the two
// agree; a table and callbacks that really disagree never do.
//
// dumps is how many dumps it took: more than one when the node was not
// quiet.
func callbacksMatch(t testing.TB, n *node, timeout time.Duration) (dumps int, err error) {
	rec := &softFail{TB: t}
	testkit.Eventually(rec, timeout, func() error {
		dumps++
		dump, events := n.doAt("dump")
		want, found := strings.CutPrefix(dump, "OK")
		if !found {
			return fmt.Errorf("dump: %s", dump)
		}
		want = strings.TrimSuffix(strings.TrimSpace(want), ";")
		if view, _ := replayEvents(events); view != want {
			return fmt.Errorf("callbacks replay to\n%s\nview is\n%s", view, want)
		}
		return nil
	})
	if rec.failed != "" {
		return dumps, errors.New(rec.failed)
	}
	return dumps, nil
}

// res returns a node's goroutines and open files.
func (rc *randCluster) res(n *node) [2]int {
	var g, f int
	if _, err := fmt.Sscanf(n.ok("res"), "%d %d", &g, &f); err != nil {
		rc.t.Fatalf("node %s: res: %v", n.label, err)
	}
	return [2]int{g, f}
}

// Slack on a node's goroutines and open files at the end against its
// first count: its sessions and workers are the same, but gRPC and the
// runtime keep a few of either for a while. A leak per cycle exceeds it
// within a few dozen cycles.
const resSlack = 40

// resources waits until every node's goroutines and open files are back
// near their first count.
func (rc *randCluster) resources() {
	for _, l := range rc.mn.labels {
		n := rc.nodes[l]
		base := rc.base[n]
		testkit.Eventually(rc.t, converge, func() error {
			if r := rc.res(n); r[0] > base[0]+resSlack || r[1] > base[1]+resSlack/4 {
				return fmt.Errorf("node %s: %d goroutines and %d open files, %d and %d once first converged", l, r[0], r[1], base[0], base[1])
			}
			return nil
		})
	}
}

// conflictLog is one "registry conflict resolved" line of a node's log.
type conflictLog struct {
	Scope      string `json:"scope"`
	Name       string `json:"name"`
	Local      string `json:"local"`
	LocalTime  int64  `json:"local_time"`
	Remote     string `json:"remote"`
	RemoteTime int64  `json:"remote_time"`
	Keep       string `json:"keep"`

	// gone: logged by an incarnation of its node that has since been
	// killed (kill -9 and restart on the same address); its local PIDs
	// may now name processes of the new incarnation.
	gone bool
	n    *node // the node that logged it
}

// resolvedAs reports whether the node's custom resolver was asked about
// the two registrations of conflict c (in either order, with any
// metadata) and answered what the node kept.
func (n *node) resolvedAs(c conflictLog) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, rs := range n.resolves {
		q, keep, _ := strings.Cut(rs, " => ")
		f := strings.Fields(q) // scope name x xtime xmeta y ytime ymeta
		if len(f) != 8 || f[0] != "s" || f[1] != c.Name || keep != c.Keep {
			continue
		}
		x, xt, y, yt := f[2], f[3], f[5], f[6]
		lt, rt := strconv.FormatInt(c.LocalTime, 10), strconv.FormatInt(c.RemoteTime, 10)
		if x == c.Local && xt == lt && y == c.Remote && yt == rt || x == c.Remote && xt == rt && y == c.Local && yt == lt {
			return true
		}
	}
	return false
}

// checkModel checks the cycle's writes against the agreed view: every
// entry that held when the cycle started or was added by a write that
// returned, and was not removed since (by a write, by its process's death,
// or by a conflict's resolution), is still there; and every conflict of
// the cycle was resolved as the resolver says, alike on both owners.
func (rc *randCluster) checkModel(cycle, recStart int) {
	t := rc.t
	rc.mu.Lock()
	recs := slices.Clone(rc.recs[recStart:])
	rc.recs = rc.recs[:0]
	rc.mu.Unlock()
	held, _ := parseView(rc.view)
	// What a conflict removed this cycle, from the owners' callbacks.
	resolvedAway := map[string]bool{}
	var logs []conflictLog
	for _, n := range rc.all {
		for _, e := range n.newEvents() {
			if f := strings.SplitN(e, " ", 5); len(f) == 5 && f[0] == "unregistered" && f[4] == "conflict resolution" {
				resolvedAway["n:"+f[1]+" "+f[2]] = true
			}
		}
		gone := !slices.Contains(slices.Collect(maps.Values(rc.nodes)), n)
		for _, c := range n.newConflicts() {
			c.gone, c.n = gone, n
			logs = append(logs, c)
		}
	}
	byKey := map[string][]opRec{}
	for _, r := range recs {
		k := r.key + " " + r.pid
		byKey[k] = append(byKey[k], r)
	}
	expect := map[string]bool{}
	for k := range rc.held {
		expect[k] = true
	}
	for k, rs := range byKey {
		certain := true
		for i, r := range rs {
			certain = certain && r.certain
			for _, o := range rs[:i] {
				if o.add != r.add && o.start < r.end && r.start < o.end {
					certain = false // overlapping add and remove: either order
				}
			}
		}
		if !certain {
			delete(expect, k)
			continue
		}
		last := rs[0]
		for _, r := range rs {
			if r.start > last.start {
				last = r
			}
		}
		expect[k] = last.add
	}
	for k, want := range expect {
		_, pid, _ := strings.Cut(k, " ")
		if !want || resolvedAway[k] || rc.status0[pid] != "alive" {
			continue
		}
		rc.checked++
		if !held[k] {
			rc.lost++
			t.Errorf("cycle %d: lost %s: its process is alive and nothing removed it", cycle, k)
		}
	}
	rc.held = held

	// The conflicts: alike on both owners, as the resolver says.
	type pair struct { // the two registrations in PID order
		name, x, y   string
		xTime, yTime int64
	}
	keeps := map[pair]string{}
	soft := softFail{TB: t}
	bare := map[string]string{} // PID as the log prints it -> status
	for pid, s := range rc.status0 {
		bare[pid[:strings.LastIndexByte(pid, '/')]] = s
	}
	for _, c := range logs {
		rc.conflicts++
		p := pair{c.Name, c.Local, c.Remote, c.LocalTime, c.RemoteTime}
		if p.y < p.x {
			p.x, p.y, p.xTime, p.yTime = p.y, p.x, p.yTime, p.xTime
		}
		// The default rule reads only the times and PIDs, which both
		// owners see alike. A custom resolver may be asked about other
		// metadata on the two owners (docs/registry.md): each owner must
		// have done what its own resolver answered.
		if rc.resolver != "" {
			testkit.Eventually(&soft, converge, func() error {
				if !c.n.resolvedAs(c) {
					return fmt.Errorf("cycle %d: conflict on %s between %s and %s: %s kept %s, which its resolver did not answer", cycle, c.Name, c.Local, c.Remote, c.n.label, c.Keep)
				}
				return nil
			})
			if soft.failed != "" {
				rc.mismatches++
				t.Error(soft.failed)
				soft.failed = ""
			}
		}
		if k, ok := keeps[p]; ok && k != c.Keep && rc.resolver == "" {
			rc.mismatches++
			t.Errorf("cycle %d: conflict on %s between %s and %s: owners kept %s and %s", cycle, c.Name, p.x, p.y, k, c.Keep)
		}
		keeps[p] = c.Keep
		loserLocal := c.Keep != c.Local
		s, known := bare[c.Local]
		if rc.resolver == "" && loserLocal && known && !c.gone {
			s = rc.loserFate(c.Local, s)
		}
		switch {
		case rc.resolver == "neither" && c.Keep != "<nil>":
			rc.mismatches++
			t.Errorf("cycle %d: conflict on %s: resolver keeps neither, %s kept", cycle, c.Name, c.Keep)
		case !loserLocal || !known || s == "crash" || c.gone:
			// a local winner, or a process of an earlier cycle or one this
			// test ended
		case rc.resolver == "" && !strings.HasPrefix(s, "conflict s "): // its first lost conflict names the name
			rc.mismatches++
			t.Errorf("cycle %d: conflict on %s: loser %s is %q, want killed with the conflict reason", cycle, c.Name, c.Local, s)
		case rc.resolver != "" && s != "alive":
			rc.mismatches++
			t.Errorf("cycle %d: conflict on %s: a custom resolver's loser %s is %q, want alive", cycle, c.Name, c.Local, s)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// loserFate returns the status of a conflict's loser pid (as the log
// prints it, without its creation) that was s when the views converged:
// s, unless the loser was still alive then, in which case it waits
// (until converge) for the loser to end. The views can agree before the
// loser's exit is seen: its owner removes the name, announces it and
// then sends the exit signal, and the process's other entries (its
// groups) stay, alike on every node, until its exit is handled.
func (rc *randCluster) loserFate(pid, s string) string {
	if s != "alive" {
		return s
	}
	testkit.Eventually(&softFail{TB: rc.t}, converge, func() error {
		for p, st := range rc.status() {
			if p[:strings.LastIndexByte(p, '/')] == pid {
				s = st
			}
		}
		if s == "alive" {
			return fmt.Errorf("loser %s alive", pid)
		}
		return nil
	})
	return s
}

// summary logs the run's figures, the registry's line last.
func (rc *randCluster) summary() {
	conv := slices.Clone(rc.conv)
	slices.Sort(conv)
	pct := func(p int) int64 {
		if len(conv) == 0 {
			return 0
		}
		return conv[min(len(conv)-1, len(conv)*p/100)].Milliseconds()
	}
	rc.t.Logf("random: conflicts resolved %d, entries the model expected to survive %d, writes with an unknown outcome %d",
		rc.conflicts, rc.checked, rc.unknown)
	if len(randExtras) > 0 {
		var ks []string
		for k, v := range rc.extra {
			ks = append(ks, fmt.Sprintf("%s %d", k, v))
		}
		sort.Strings(ks)
		rc.t.Logf("netsplit extras: %s", strings.Join(ks, ", "))
	}
	rc.t.Logf("netsplit: cycles %d, ops %d, duplicates %d, lost %d, zombies %d, mismatches %d, convergence p50 %d ms p99 %d ms",
		len(rc.conv), rc.opCount, rc.duplicates, rc.lost, rc.zombies, rc.mismatches, pct(50), pct(99))
}

// newEvents returns the callback lines the node printed since the last
// call.
func (n *node) newEvents() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := slices.Clone(n.events[n.seenEvents:])
	n.seenEvents = len(n.events)
	return out
}

// newConflicts returns the conflicts the node logged since the last call.
func (n *node) newConflicts() []conflictLog {
	logs := n.logs.String()
	end := strings.LastIndexByte(logs, '\n') + 1 // whole lines only
	rest := logs[min(n.seenLogs, end):end]
	n.seenLogs = max(n.seenLogs, end)
	var out []conflictLog
	for _, line := range strings.Split(rest, "\n") {
		if !strings.Contains(line, "registry conflict resolved") {
			continue
		}
		var c conflictLog
		if json.Unmarshal([]byte(line), &c) == nil && c.Scope == "s" { // other scopes are the extras'
			out = append(out, c)
		}
	}
	return out
}

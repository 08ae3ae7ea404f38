package registry_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// randNet is where TestRandomizedCluster's nodes run and how its faults
// are made: node processes behind a mesh of proxies (realNet), or nodes of
// this process on clustertest's in-memory network (memNet). The cycles,
// the writers and every check are the same code on both.
type randNet interface {
	// faultNames names faults 0 to 6 for the log.
	faultNames() []string
	// startNode starts node l with scope s (or, for a node already
	// running, returns it) and returns it ready for commands.
	startNode(rc *randCluster, l string) *node
	split(silent bool, side []string)       // fault 1: side apart from the rest
	cutPair(a, b string, silent bool)       // fault 2: a and b apart, both ways
	cutOneWay(from, to string, silent bool) // fault 3: what from sends to to is cut
	freeze(l string)                        // fault 4: l frozen...
	thaw(l string)                          // ...and running again
	stall(l string)                         // fault 5: l's connections stalled
	healAll()
	kill(l string) // fault 6: l killed, before startNode starts it again
	close()        // the network, once every node stopped
}

// realNet is the real network: child processes, the proxies of a
// testkit.Mesh, SIGSTOP and kill -9.
type realNet struct {
	mn *meshNet
	rc *randCluster
}

func newRealNet(t *testing.T, labels []string) (randNet, *meshNet) {
	mn := newMeshNet(t, labels...)
	return &realNet{mn: mn}, mn
}

func (*realNet) faultNames() []string { return faultNames }

func (r *realNet) startNode(rc *randCluster, l string) *node {
	r.rc = rc
	env := append(r.mn.env(l), "CHILD_RESOLVER="+rc.resolver)
	if !rc.noScope[l] {
		env = append(env, "CHILD_SCOPE=s")
	}
	if rc.fastDetection {
		env = append(env, "CHILD_HEARTBEAT_TIMEOUT=600ms")
	}
	return startNode(rc.t, l, env...)
}

func meshCut(silent bool) testkit.Fault {
	if silent {
		return testkit.Blackhole
	}
	return testkit.Reset
}

func (r *realNet) split(silent bool, side []string) { r.mn.mesh.Split(meshCut(silent), side...) }
func (r *realNet) cutPair(a, b string, silent bool) { r.mn.mesh.CutPair(a, b, meshCut(silent)) }
func (r *realNet) cutOneWay(from, to string, silent bool) {
	r.mn.mesh.Cut(from, to, meshCut(silent))
}
func (r *realNet) freeze(l string) { _ = r.rc.nodes[l].cmd.Process.Signal(syscall.SIGSTOP) }
func (r *realNet) thaw(l string)   { _ = r.rc.nodes[l].cmd.Process.Signal(syscall.SIGCONT) }
func (r *realNet) stall(l string)  { r.mn.mesh.Isolate(testkit.Stall, l) }
func (r *realNet) healAll()        { r.mn.mesh.HealAll() }
func (r *realNet) kill(l string)   { r.rc.nodes[l].kill9() }
func (r *realNet) close()          { r.mn.mesh.Close() }

// memNet is clustertest's in-memory network: every node a cluster node of
// this process, with the child's commands run in the caller's goroutine
// (childCmds, as a child runs them), its callbacks and its log captured as
// a child's are. Faults 4 to 6 stand in for what needs a process:
//
//   - freeze: every packet to and from the node held (its connections and
//     new ones), until thawed; unlike SIGSTOP the node's own timers run, so
//     it too sees its peers go silent;
//   - stall: the connections open to the node frozen while new ones work,
//     so that new sessions open beside them and the heal delivers what the
//     old sessions sent, late, to be dropped;
//   - kill: clustertest's Crash (connections reset, no Goodbye, no exit
//     signals), then Restart on the same name and address.
//
// Silent cuts are clustertest's Cut; loud ones Cut then Reset.
type memNet struct {
	t   *testing.T
	c   *clustertest.Cluster
	idx map[string]int // label -> node index

	mu      sync.Mutex
	resolv  string
	noScope map[string]bool       // labels of nodes that run no scope
	logs    map[string]*logBuffer // label -> the log of its boot starting
	ready   map[string]*node      // label -> its boot set up, not yet handed out
	crashed map[string]bool
}

func newMemNet(t *testing.T, labels []string) (randNet, *meshNet) {
	m := &memNet{t: t, idx: map[string]int{}, logs: map[string]*logBuffer{}, ready: map[string]*node{}, crashed: map[string]bool{}}
	mn := &meshNet{labels: labels, listen: map[string]string{}}
	for i, l := range labels {
		m.idx[l] = i
		mn.listen[l] = "mem:" + string(rune('1'+i))
	}
	return m, mn
}

func (*memNet) faultNames() []string {
	return []string{"none", "split", "partial", "one-way", "freeze", "stall connections", "crash"}
}

// start starts the cluster, on the first startNode (the resolver is known
// then).
func (m *memNet) start(rc *randCluster) {
	m.resolv, m.noScope = rc.resolver, rc.noScope
	var labels []string
	labels = append(labels, rc.mn.labels...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := clustertest.New(ctx, 0, clustertest.WithNames(labels...),
		clustertest.WithClusterOptions(
			cluster.WithHeartbeat(100*time.Millisecond, 600*time.Millisecond),
			cluster.WithReconnectInterval(100*time.Millisecond),
			cluster.WithConnectTimeout(time.Second)),
		clustertest.WithNodeOptions(func(l string) []cluster.Option {
			b := &logBuffer{}
			m.mu.Lock()
			m.logs[l] = b
			m.mu.Unlock()
			return []cluster.Option{cluster.WithLogger(zerolog.New(b).Level(zerolog.InfoLevel))}
		}),
		clustertest.WithSetup(m.setup))
	if err != nil {
		m.t.Fatalf("start the in-memory cluster: %v", err)
	}
	m.c = c
}

// setup gives a node that starts its scope, as runChild does, and its
// *node for the test.
func (m *memNet) setup(c *cluster.Cluster) error {
	l, _, _ := strings.Cut(c.Name(), "@")
	m.mu.Lock()
	logs := m.logs[l]
	m.mu.Unlock()
	n := &node{t: m.t, label: l, name: c.Name(), done: make(chan struct{}), logs: logs, replies: map[string]chan reply{}}
	out := &lineWriter{w: &eventSink{n: n}}
	var h any = &printer{out: out}
	switch m.resolv {
	case "lower":
		h = &lowerResolver{printer{out: out}}
	case "neither":
		h = &neitherResolver{printer{out: out}}
	}
	reg := registry.NewCluster(c)
	scope := "s" // a node in noScope is of the cluster but does not add it
	if !m.noScope[l] {
		if err := reg.AddScope(scope, registry.WithEventHandler(h)); err != nil {
			return err
		}
	}
	ch := &childCmds{c: c, reg: reg, scope: scope, out: out, pids: map[string]actor.PID{}}
	for _, setup := range nodeSetups {
		if err := setup(ch); err != nil {
			return err
		}
	}
	n.local = ch.run
	m.mu.Lock()
	m.ready[l] = n
	m.mu.Unlock()
	return nil
}

func (m *memNet) startNode(rc *randCluster, l string) *node {
	if m.c == nil {
		m.start(rc)
	}
	m.mu.Lock()
	crashed := m.crashed[l]
	m.mu.Unlock()
	if crashed {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := m.c.Restart(ctx, m.idx[l]); err != nil {
			m.t.Fatalf("restart node %s: %v", l, err)
		}
		m.mu.Lock()
		delete(m.crashed, l)
		m.mu.Unlock()
	}
	m.mu.Lock()
	n := m.ready[l]
	delete(m.ready, l)
	m.mu.Unlock()
	if n == nil {
		m.t.Fatalf("node %s: not set up", l)
	}
	m.t.Cleanup(func() {
		if m.t.Failed() {
			m.t.Logf("events of node %s:\n%s", n.label, strings.Join(n.eventLog(), "\n"))
			m.t.Logf("log of node %s (%s):\n%s", n.label, n.name, n.logs.String())
		}
	})
	return n
}

func (m *memNet) node(l string) *cluster.Cluster { return m.c.Node(m.idx[l]) }

func (m *memNet) cut(a, b string, silent bool) {
	m.c.Cut(m.node(a), m.node(b))
	if !silent {
		m.c.Reset(m.node(a), m.node(b))
	}
}

func (m *memNet) split(silent bool, side []string) {
	for l := range m.idx {
		for _, s := range side {
			if !slices.Contains(side, l) {
				m.cut(s, l, silent)
			}
		}
	}
}

func (m *memNet) cutPair(a, b string, silent bool) { m.cut(a, b, silent) }

func (m *memNet) cutOneWay(from, to string, silent bool) {
	m.c.CutOneWay(m.node(from), m.node(to))
	if !silent {
		m.c.Reset(m.node(from), m.node(to))
	}
}

func (m *memNet) others(l string, f func(a, b *cluster.Cluster)) {
	for o := range m.idx {
		if o != l {
			f(m.node(l), m.node(o))
		}
	}
}

func (m *memNet) freeze(l string) { m.others(l, m.c.Stall) }
func (m *memNet) thaw(string)     { m.c.HealAll() }
func (m *memNet) stall(l string)  { m.others(l, m.c.StallConnections) }
func (m *memNet) healAll()        { m.c.HealAll() }

func (m *memNet) kill(l string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.c.Crash(ctx, m.node(l)); err != nil {
		m.t.Fatalf("crash node %s: %v", l, err)
	}
	m.mu.Lock()
	m.crashed[l] = true
	m.mu.Unlock()
}

func (m *memNet) close() {
	if m.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.c.Stop(ctx); err != nil {
		m.t.Errorf("stop the in-memory cluster: %v", err)
	}
}

// eventSink takes a node's printed lines, as a child's stdout reader does
// its "EV " and "RS " lines.
type eventSink struct{ n *node }

func (e *eventSink) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSuffix(p, []byte("\n")), []byte("\n")) {
		if ev, ok := bytes.CutPrefix(line, []byte("EV ")); ok {
			e.n.mu.Lock()
			e.n.events = append(e.n.events, string(ev))
			e.n.mu.Unlock()
		}
		if rs, ok := bytes.CutPrefix(line, []byte("RS ")); ok {
			e.n.mu.Lock()
			e.n.resolves = append(e.n.resolves, string(rs))
			e.n.mu.Unlock()
		}
	}
	return len(p), nil
}

// TestRandomizedClusterMem is TestRandomizedCluster on the in-memory
// network, inside a testing/synctest bubble: the same cycles, writers and
// checks, with every heartbeat timeout and reconnect interval passing in
// fake time, so a cycle takes milliseconds. The seed chooses the nodes,
// the resolver, each cycle's fault and the writes, as in the real mode;
// the interleaving of the nodes' goroutines is the runtime's, so a seed
// reruns the same schedule of faults and writes, not the same
// interleaving. It runs 40 cycles (ARBOR_REGISTRY_CYCLES, `make
// netsplit-mem` for many).
func TestRandomizedClusterMem(t *testing.T) {
	if os.Getenv("ARBOR_REGISTRY_SEED") == "" { // time stands still in the bubble: pick it here
		t.Setenv("ARBOR_REGISTRY_SEED", strconv.FormatInt(time.Now().UnixNano()%1_000_000, 10))
	}
	start := time.Now()
	cycles := 0
	synctest.Test(t, func(t *testing.T) {
		runRandomized(t, 40, newMemNet)
		cycles = envInt("ARBOR_REGISTRY_CYCLES", 40)
	})
	if took := time.Since(start); cycles > 0 {
		t.Logf("in memory: %d cycles in %.1f s of real time, %.0f cycles a minute", cycles, took.Seconds(), float64(cycles)/took.Minutes())
	}
}

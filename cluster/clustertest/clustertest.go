package clustertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/internal/memnet"
)

// Defaults of the nodes' failure detector: quick, so that a test sees a
// cut within a second.
const (
	DefaultHeartbeatInterval = 100 * time.Millisecond
	DefaultHeartbeatTimeout  = 600 * time.Millisecond
	DefaultReconnectInterval = 100 * time.Millisecond
)

// Option configures Start and New.
type Option func(*config)

type config struct {
	names   []string
	opts    []cluster.Option
	perNode func(name string) []cluster.Option
	setup   []func(*cluster.Cluster) error
}

// WithNames names the nodes (their short names; the default is n1, n2,
// ...). It sets how many nodes start when given to New or Start with
// n = 0.
func WithNames(names ...string) Option {
	return func(c *config) { c.names = slices.Clone(names) }
}

// WithClusterOptions passes options to every node's cluster.Start, after
// the kit's own (a discarding logger, the heartbeat and reconnect
// defaults above, the peer list). A test's own WithHeartbeat or
// WithLogger overrides the kit's; WithListenAddr and WithProvider do not
// apply.
func WithClusterOptions(opts ...cluster.Option) Option {
	return func(c *config) { c.opts = append(c.opts, opts...) }
}

// WithNodeOptions passes options to one node's cluster.Start: f is called
// with each node's short name ("n1") when it starts or restarts, and what
// it returns comes after WithClusterOptions' (a logger of the node's own,
// say). WithListenAddr and WithProvider do not apply.
func WithNodeOptions(f func(name string) []cluster.Option) Option {
	return func(c *config) { c.perNode = f }
}

// WithSetup runs setup on every node once it started, and again on each
// node Restart starts, before the nodes are waited for: the place to add
// a node's registry scopes, spawn its singletons or start its
// applications, so that a restarted node comes back with them. An error
// fails New (and Start) or Restart. Several WithSetup run in order.
func WithSetup(setup func(node *cluster.Cluster) error) Option {
	return func(c *config) { c.setup = append(c.setup, setup) }
}

// Cluster is N cluster nodes on one in-memory network.
type Cluster struct {
	net   *memnet.Network
	cfg   config
	names []string // full node names, by index
	addrs []string

	mu      sync.Mutex
	nodes   []*cluster.Cluster
	broken  map[[2]string]bool // pairs with a cut or a stall, either way
	crashed map[string]bool    // nodes crashed or stopped (StopNode) and not restarted, by name
	stopped bool
	stop    sync.Once
	err     error
}

// Start starts n nodes as New does, failing t if they cannot start or
// connect within 20 s, and stops them when t's cleanup runs.
func Start(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := New(ctx, n, opts...)
	if err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("clustertest: stop: %v", err)
		}
	})
	return c
}

// New starts n nodes (n1@mem:1, n2@mem:2, ... unless WithNames), each
// listing every other as a peer, and returns once every pair has a
// session. It returns an error for n < 1 without names, a bad name, a
// node that fails to start (the others are stopped) or ctx ending first.
func New(ctx context.Context, n int, opts ...Option) (*Cluster, error) {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if n == 0 {
		n = len(cfg.names)
	}
	if n < 1 {
		return nil, fmt.Errorf("start %d nodes: need at least one", n)
	}
	if len(cfg.names) != 0 && len(cfg.names) != n {
		return nil, fmt.Errorf("start %d nodes: %d names given", n, len(cfg.names))
	}
	names := make([]string, n)
	addrs := make([]string, n)
	for i := range names {
		short := "n" + strconv.Itoa(i+1)
		if len(cfg.names) > 0 {
			short = cfg.names[i]
		}
		addrs[i] = "mem:" + strconv.Itoa(i+1)
		names[i] = short + "@" + addrs[i]
	}
	c := &Cluster{net: memnet.New(), cfg: cfg, names: names, addrs: addrs,
		broken: make(map[[2]string]bool), crashed: make(map[string]bool)}
	for i := range names {
		node, err := c.startNode(ctx, i)
		if err != nil {
			return nil, errors.Join(err, c.Stop(context.WithoutCancel(ctx)))
		}
		c.mu.Lock()
		c.nodes = append(c.nodes, node)
		c.mu.Unlock()
	}
	if err := c.WaitConnected(ctx); err != nil {
		return nil, errors.Join(err, c.Stop(context.WithoutCancel(ctx)))
	}
	return c, nil
}

// startNode starts node i and runs the setups on it.
func (c *Cluster) startNode(ctx context.Context, i int) (*cluster.Cluster, error) {
	peers := slices.Concat(c.names[:i], c.names[i+1:])
	short := c.names[i][:len(c.names[i])-len(c.addrs[i])-1]
	o := []cluster.Option{
		cluster.WithLogger(zerolog.New(io.Discard)),
		cluster.WithHeartbeat(DefaultHeartbeatInterval, DefaultHeartbeatTimeout),
		cluster.WithReconnectInterval(DefaultReconnectInterval),
	}
	o = append(o, c.cfg.opts...)
	if c.cfg.perNode != nil {
		o = append(o, c.cfg.perNode(short)...)
	}
	onNet := memnet.Option(c.net).(cluster.Option)
	o = append(o, onNet, cluster.WithListenAddr(c.addrs[i]), cluster.WithProvider(cluster.Static(peers...)))
	node, err := cluster.Start(ctx, short, o...)
	if err != nil {
		return nil, fmt.Errorf("start node %s: %w", c.names[i], err)
	}
	for _, setup := range c.cfg.setup {
		if err := setup(node); err != nil {
			return nil, errors.Join(fmt.Errorf("set node %s up: %w", c.names[i], err), node.Stop(context.WithoutCancel(ctx)))
		}
	}
	return node, nil
}

// Node returns the i-th node, from 0: after Restart, the new one.
func (c *Cluster) Node(i int) *cluster.Cluster {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Nodes returns every node, in the order they started (a restarted node
// in its place).
func (c *Cluster) Nodes() []*cluster.Cluster {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes)
}

// Crash ends node n as a process killed with kill -9 ends: its
// connections reset at once (its peers see its session lost and NodeDown
// without waiting for a heartbeat timeout), and nothing it would say on
// the way out (its processes' exit signals, its Goodbye) reaches anyone;
// links and monitors across fire with actor.NoConnection. Its address
// refuses connections until Restart, and the faults between it and the
// other nodes are lifted (what stands between the others stays). It
// returns n's Stop error, or an
// error if n is not a running node of c.
func (c *Cluster) Crash(ctx context.Context, n *cluster.Cluster) error {
	c.mu.Lock()
	i := slices.Index(c.nodes, n)
	if i < 0 || c.crashed[n.Name()] || c.stopped {
		c.mu.Unlock()
		return fmt.Errorf("crash %s: not a running node of this cluster", n.Name())
	}
	c.crashed[n.Name()] = true
	for k := range c.broken {
		if k[0] == n.Name() || k[1] == n.Name() {
			delete(c.broken, k)
		}
	}
	others := slices.Clone(c.addrs)
	c.mu.Unlock()
	a := c.addrs[i]
	for _, o := range others {
		if o != a {
			c.net.Cut(a, o)
			c.net.Reset(a, o)
		}
	}
	err := n.Stop(ctx)
	for _, o := range others {
		if o != a {
			c.net.Reset(a, o) // what it dialed while stopping
			c.net.Heal(a, o)
		}
	}
	if err != nil {
		return fmt.Errorf("crash %s: %w", n.Name(), err)
	}
	return nil
}

// StopNode stops node n cleanly, as a process that exits normally: its
// processes are stopped and their exit signals sent, and its Goodbye
// reaches its peers, which see NodeDown with cluster.ErrNodeLeft at once.
// The faults between it and the other nodes are lifted first (what stands
// between the others stays), so that the Goodbye can reach them. Restart
// starts it again. It returns n's Stop error, or an error if n is not a
// running node of c.
func (c *Cluster) StopNode(ctx context.Context, n *cluster.Cluster) error {
	c.mu.Lock()
	i := slices.Index(c.nodes, n)
	if i < 0 || c.crashed[n.Name()] || c.stopped {
		c.mu.Unlock()
		return fmt.Errorf("stop %s: not a running node of this cluster", n.Name())
	}
	c.crashed[n.Name()] = true
	for k := range c.broken {
		if k[0] == n.Name() || k[1] == n.Name() {
			delete(c.broken, k)
		}
	}
	c.mu.Unlock()
	a := c.addrs[i]
	for _, o := range c.addrs {
		if o != a {
			c.net.Heal(a, o)
		}
	}
	if err := n.Stop(ctx); err != nil {
		return fmt.Errorf("stop %s: %w", n.Name(), err)
	}
	return nil
}

// Restart starts node i again, on its name and address, with the same
// options and setups (a new boot: a new creation, so that its old PIDs
// are not taken for new ones), after crashing it if it still runs (one
// that Crash or StopNode ended just starts). It returns the new node,
// which Node(i) returns from then on. Its peers reconnect within a
// reconnect interval unless a fault stands between them.
func (c *Cluster) Restart(ctx context.Context, i int) (*cluster.Cluster, error) {
	if i < 0 || i >= len(c.names) {
		return nil, fmt.Errorf("restart node %d: %d nodes", i, len(c.names))
	}
	old := c.Node(i)
	c.mu.Lock()
	crashed := c.crashed[old.Name()]
	c.mu.Unlock()
	if !crashed {
		if err := c.Crash(ctx, old); err != nil {
			return nil, fmt.Errorf("restart %s: %w", c.names[i], err)
		}
	}
	node, err := c.startNode(ctx, i)
	if err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, errors.Join(fmt.Errorf("restart %s: the cluster stopped", c.names[i]), node.Stop(ctx))
	}
	c.nodes[i] = node
	delete(c.crashed, node.Name())
	return node, nil
}

func addr(n *cluster.Cluster) string {
	a, _ := cluster.NodeAddr(n.Name())
	return a
}

func key(a, b *cluster.Cluster) [2]string {
	x, y := a.Name(), b.Name()
	if x > y {
		x, y = y, x
	}
	return [2]string{x, y}
}

func (c *Cluster) mark(a, b *cluster.Cluster, broken bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if broken {
		c.broken[key(a, b)] = true
	} else {
		delete(c.broken, key(a, b))
	}
}

// Reset resets the connections open between a and b: each sees them
// fail at once, and what they held is lost. Called after Cut, it makes
// the cut loud (both sides see their session end at once, as when a
// firewall answers with resets) rather than silent (a blackhole, seen at
// the heartbeat timeout). Without a cut, the nodes reconnect at once.
func (c *Cluster) Reset(a, b *cluster.Cluster) {
	c.net.Reset(addr(a), addr(b))
}

// Cut cuts the network between a and b: nothing moves between them, both
// ways, and they cannot connect, until Heal. Each sees the other down
// within the heartbeat timeout plus one interval.
func (c *Cluster) Cut(a, b *cluster.Cluster) {
	c.mark(a, b, true)
	c.net.Cut(addr(a), addr(b))
}

// CutOneWay cuts what from sends to to; what to sends to from still
// arrives. to sees from down at its heartbeat timeout; what from sees
// then depends on the sessions' reactions (it gets to's new Hellos and
// cannot answer them).
func (c *Cluster) CutOneWay(from, to *cluster.Cluster) {
	c.mark(from, to, true)
	c.net.CutOneWay(addr(from), addr(to))
}

// Stall holds everything between a and b, both ways, until Heal, while
// new connections between them still open (a stuck proxy).
func (c *Cluster) Stall(a, b *cluster.Cluster) {
	c.mark(a, b, true)
	c.net.Stall(addr(a), addr(b))
}

// StallConnections holds everything on the connections open between a
// and b now, both ways, until Heal; connections opened later work. Their
// session ends on its heartbeat timeout and a new one opens on new
// connections, while the old ones still hold what the old session sent:
// Heal delivers it late, and the new session drops it.
func (c *Cluster) StallConnections(a, b *cluster.Cluster) {
	c.net.StallStreams(addr(a), addr(b))
}

// Delay delivers everything from sends to to d after it was sent, until
// Heal. A delay past the heartbeat timeout ends their sessions.
func (c *Cluster) Delay(from, to *cluster.Cluster, d time.Duration) {
	c.net.Delay(addr(from), addr(to), d)
}

// Partition cuts the network between every two nodes of different
// groups; a node in no group keeps its connections.
func (c *Cluster) Partition(groups ...[]*cluster.Cluster) {
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					c.Cut(a, b)
				}
			}
		}
	}
}

// Heal lifts every fault between a and b.
func (c *Cluster) Heal(a, b *cluster.Cluster) {
	c.mark(a, b, false)
	c.net.Heal(addr(a), addr(b))
}

// HealAll lifts every fault of the network.
func (c *Cluster) HealAll() {
	c.mu.Lock()
	clear(c.broken)
	c.mu.Unlock()
	c.net.HealAll()
}

// WaitConnected waits until every two running nodes with no cut or stall
// between them have a session, and every two with one, or with a crashed
// node, have none. It returns an
// error naming a pair still wrong when ctx ends.
func (c *Cluster) WaitConnected(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.converged()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the nodes' sessions: %w (%v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (c *Cluster) converged() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.nodes {
		if c.crashed[a.Name()] {
			continue
		}
		have := a.Nodes()
		for _, b := range c.nodes {
			if a == b {
				continue
			}
			want := !c.broken[key(a, b)] && !c.crashed[b.Name()]
			if slices.Contains(have, b.Name()) != want {
				if want {
					return fmt.Errorf("%s has no session with %s", a.Name(), b.Name())
				}
				return fmt.Errorf("%s still has a session with %s", a.Name(), b.Name())
			}
		}
	}
	return nil
}

// Stop heals the network and stops every node, at most until ctx ends. It
// returns the nodes' Stop errors, joined. Calling it again returns the
// same.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stop.Do(func() {
		c.HealAll() // so that each node's Goodbye reaches its peers
		c.mu.Lock()
		c.stopped = true
		nodes := slices.DeleteFunc(slices.Clone(c.nodes), func(n *cluster.Cluster) bool { return c.crashed[n.Name()] })
		c.mu.Unlock()
		var wg sync.WaitGroup
		errs := make([]error, len(nodes))
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = n.Stop(ctx)
			}()
		}
		wg.Wait()
		c.err = errors.Join(errs...)
	})
	return c.err
}

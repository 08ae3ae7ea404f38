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
	names []string
	opts  []cluster.Option
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

// Cluster is N cluster nodes on one in-memory network.
type Cluster struct {
	net   *memnet.Network
	nodes []*cluster.Cluster

	mu     sync.Mutex
	broken map[[2]string]bool // pairs with a cut or a stall, either way
	stop   sync.Once
	err    error
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
		o(&cfg)
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
	c := &Cluster{net: memnet.New(), broken: make(map[[2]string]bool)}
	onNet := memnet.Option(c.net).(cluster.Option)
	for i := range names {
		peers := slices.Concat(names[:i], names[i+1:])
		short := names[i][:len(names[i])-len(addrs[i])-1]
		o := []cluster.Option{
			cluster.WithLogger(zerolog.New(io.Discard)),
			cluster.WithHeartbeat(DefaultHeartbeatInterval, DefaultHeartbeatTimeout),
			cluster.WithReconnectInterval(DefaultReconnectInterval),
		}
		o = append(o, cfg.opts...)
		o = append(o, onNet, cluster.WithListenAddr(addrs[i]), cluster.WithProvider(cluster.Static(peers...)))
		node, err := cluster.Start(ctx, short, o...)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("start node %s: %w", names[i], err), c.Stop(context.WithoutCancel(ctx)))
		}
		c.nodes = append(c.nodes, node)
	}
	if err := c.WaitConnected(ctx); err != nil {
		return nil, errors.Join(err, c.Stop(context.WithoutCancel(ctx)))
	}
	return c, nil
}

// Node returns the i-th node, from 0.
func (c *Cluster) Node(i int) *cluster.Cluster { return c.nodes[i] }

// Nodes returns every node, in the order they started.
func (c *Cluster) Nodes() []*cluster.Cluster { return slices.Clone(c.nodes) }

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

// WaitConnected waits until every two nodes with no cut or stall between
// them have a session, and every two with one have none. It returns an
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
		have := a.Nodes()
		for _, b := range c.nodes {
			if a == b {
				continue
			}
			want := !c.broken[key(a, b)]
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
		var wg sync.WaitGroup
		errs := make([]error, len(c.nodes))
		for i, n := range c.nodes {
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

package observer

import (
	"time"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry"
)

// Defaults of the options.
const (
	// DefaultInterval is how often a live page's snapshot is rebuilt.
	DefaultInterval = time.Second
	// DefaultMaxProcesses is how many processes a snapshot lists, those
	// with the longest queues first.
	DefaultMaxProcesses = 500
	// DefaultMaxNames is how many names and how many groups of each
	// registry scope a snapshot lists.
	DefaultMaxNames = 500
	// MinInterval is the shortest interval WithInterval accepts.
	MinInterval = 10 * time.Millisecond
)

// Option configures a Handler.
type Option func(*config)

type config struct {
	registry     *registry.Registry
	cluster      *cluster.Cluster
	mutations    bool
	interval     time.Duration
	maxProcesses int
	maxNames     int
	peerURL      func(node string) string
}

func defaultConfig() config {
	return config{interval: DefaultInterval, maxProcesses: DefaultMaxProcesses, maxNames: DefaultMaxNames}
}

// WithRegistry shows the scopes of r, their names and groups.
func WithRegistry(r *registry.Registry) Option { return func(c *config) { c.registry = r } }

// WithCluster shows the cluster c: this node's name, the nodes it has a
// session with, and its envelope counters (cluster.Stats). The Handler's
// node must be c.Node().
func WithCluster(c *cluster.Cluster) Option { return func(cfg *config) { cfg.cluster = c } }

// WithMutations turns on the endpoints that change the node: kill,
// suspend, resume and trace of a process. They are off by default: the
// page then says so and the endpoints answer 403 Forbidden.
func WithMutations() Option { return func(c *config) { c.mutations = true } }

// WithInterval sets how often a live page's snapshot is rebuilt
// (DefaultInterval; at least MinInterval). Each open page costs one
// snapshot an interval: a system request to every process.
func WithInterval(d time.Duration) Option {
	return func(c *config) { c.interval = max(d, MinInterval) }
}

// WithMaxProcesses sets how many processes a snapshot lists
// (DefaultMaxProcesses), those with the longest queues first; the
// snapshot still gives the total.
func WithMaxProcesses(n int) Option { return func(c *config) { c.maxProcesses = max(n, 1) } }

// WithPeerURL gives the address of the observer page of another node of
// the cluster, so the page can link to it; url returns "" for a node that
// serves none (the page then says so).
func WithPeerURL(url func(node string) string) Option { return func(c *config) { c.peerURL = url } }

package cluster

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/memnet"
)

// Defaults of the failure detector and of connection handling. With them a
// killed node is reported within about a second (its stream breaks at
// once), and a frozen or cut-off node within DefaultHeartbeatTimeout plus
// one DefaultHeartbeatInterval: 3.5 s.
const (
	DefaultHeartbeatInterval = 500 * time.Millisecond
	DefaultHeartbeatTimeout  = 3 * time.Second
	DefaultConnectTimeout    = 2 * time.Second
	DefaultReconnectInterval = 500 * time.Millisecond
	DefaultMaxPending        = 10000
	// DefaultCallSpin is how long a call from outside any process polls
	// its call connection for the reply before it parks (WithCallSpin).
	DefaultCallSpin = 40 * time.Microsecond
)

// Option configures Start.
type Option func(*config)

type config struct {
	listen            string
	advertise         string
	provider          Provider
	logger            *zerolog.Logger
	nodeOpts          []actor.NodeOption
	heartbeatInterval time.Duration
	heartbeatTimeout  time.Duration
	connectTimeout    time.Duration
	reconnectInterval time.Duration
	maxPending        int
	callSpin          time.Duration     // WithCallSpin
	peerAddrs         map[string]string // node name -> address to dial it at (WithPeerAddr)
	memory            *memnet.Network   // the memory network, nil for the real one (network.go)
}

func defaultConfig() config {
	return config{
		listen:            "127.0.0.1:0",
		heartbeatInterval: DefaultHeartbeatInterval,
		heartbeatTimeout:  DefaultHeartbeatTimeout,
		connectTimeout:    DefaultConnectTimeout,
		reconnectInterval: DefaultReconnectInterval,
		maxPending:        DefaultMaxPending,
		callSpin:          DefaultCallSpin,
	}
}

// WithListenAddr sets the host:port the node listens on for peers (default
// 127.0.0.1:0: a free loopback port).
func WithListenAddr(addr string) Option { return func(c *config) { c.listen = addr } }

// WithAdvertiseAddr sets the host:port peers reach the node at, when it is
// not the listen address (behind NAT, a proxy or a wildcard listen). The
// node's name is name@advertise.
func WithAdvertiseAddr(addr string) Option { return func(c *config) { c.advertise = addr } }

// WithProvider sets the membership provider (default: Static with no
// peers, a cluster of one that others may still connect to).
func WithProvider(p Provider) Option { return func(c *config) { c.provider = p } }

// WithLogger sets the logger of the node and of the cluster layer.
func WithLogger(l zerolog.Logger) Option { return func(c *config) { c.logger = &l } }

// WithNodeOptions passes options to actor.NewNode (the name is set by the
// cluster package and must not be among them).
func WithNodeOptions(opts ...actor.NodeOption) Option {
	return func(c *config) { c.nodeOpts = append(c.nodeOpts, opts...) }
}

// WithHeartbeat sets how often a node sends a heartbeat to each connected
// peer and how long a peer may stay silent before it is declared down.
// A frozen or cut-off peer is detected within timeout+interval.
// Non-positive values keep the defaults.
func WithHeartbeat(interval, timeout time.Duration) Option {
	return func(c *config) {
		if interval > 0 {
			c.heartbeatInterval = interval
		}
		if timeout > 0 {
			c.heartbeatTimeout = timeout
		}
	}
}

// WithConnectTimeout bounds one attempt to open a session with a peer.
func WithConnectTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.connectTimeout = d
		}
	}
}

// WithReconnectInterval sets how long a node waits before it tries again to
// reach a member it lost or could not reach.
func WithReconnectInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.reconnectInterval = d
		}
	}
}

// WithMaxPending bounds the messages that wait for a session being opened;
// sends beyond it fail with ErrQueueFull.
func WithMaxPending(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxPending = n
		}
	}
}

// WithCallSpin sets how long a call made outside any process, on a call
// connection of its own (ADR 0011), polls that connection for its reply
// before it parks (default DefaultCallSpin; 0 turns the polling off; a
// negative d keeps the default). At most one caller per peer polls at a
// time, the others park at once. Polling keeps the caller's CPU awake for
// a reply that comes within d: on a virtual machine whose CPUs idle, a
// parked caller otherwise waits for its CPU to be woken, which can cost
// more than the round trip. It is the trade BEAM's schedulers make with
// their busy wait: up to d of one CPU per call, for a shorter wait.
func WithCallSpin(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.callSpin = d
		}
	}
}

// WithPeerAddr makes the node dial the node named peer (name@host:port) at
// addr instead of the host:port of its name: through a proxy, a tunnel or
// a port forward that only this node uses. peer keeps its name; only where
// this node's connections to it go changes. Later calls for the same peer
// replace earlier ones. Start fails with ErrBadNodeName when peer is not
// name@host:port or addr is not host:port.
func WithPeerAddr(peer, addr string) Option {
	return func(c *config) {
		if c.peerAddrs == nil {
			c.peerAddrs = map[string]string{}
		}
		c.peerAddrs[peer] = addr
	}
}

package singleton

import (
	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry"
)

// Option configures a Spec.
type Option func(*config)

type config struct {
	locker      cluster.Locker
	registry    *registry.Registry
	scope       string
	hlMode      bool // WithRegistry was given (with a nil registry too)
	key         string
	logger      *zerolog.Logger
	subscribers []actor.PID
}

// WithLock selects the lock mode: the child runs only while this node
// holds the lock on the key from l (a *consul.Locker, for Consul session
// locks). A Spec needs this or WithRegistry (see ErrNoMode).
func WithLock(l cluster.Locker) Option { return func(c *config) { c.locker = l } }

// WithRegistry selects the registry (Highlander) mode: the child runs on
// the node whose singleton holds the key in scope of reg, a scope added
// with AddScope on this node (registry.NewCluster replicates it to the
// other nodes that added it). A Spec needs this or WithLock (see
// ErrNoMode).
func WithRegistry(reg *registry.Registry, scope string) Option {
	return func(c *config) { c.registry, c.scope, c.hlMode = reg, scope, true }
}

// WithKey sets the cluster-wide key (default: the child spec's ID).
func WithKey(key string) Option { return func(c *config) { c.key = key } }

// WithLogger sets the logger of the singleton's decisions (default: the
// node's logger).
func WithLogger(l zerolog.Logger) Option { return func(c *config) { c.logger = &l } }

// WithSubscriber sends every Event of the singleton to pid, a local
// process, from the start (as Subscribe does later).
func WithSubscriber(pid actor.PID) Option {
	return func(c *config) { c.subscribers = append(c.subscribers, pid) }
}

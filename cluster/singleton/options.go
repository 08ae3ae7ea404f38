package singleton

import (
	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
)

// Option configures a Spec.
type Option func(*config)

type config struct {
	locker      cluster.Locker
	key         string
	logger      *zerolog.Logger
	subscribers []actor.PID
}

// WithLock selects the lock mode: the child runs only while this node
// holds the lock on the key from l (a *consul.Locker, for Consul session
// locks). Without it, Spec has no mode yet (see ErrNoMode); the registry
// mode will be the default.
func WithLock(l cluster.Locker) Option { return func(c *config) { c.locker = l } }

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

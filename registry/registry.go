package registry

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
)

// Registry is a node's view of its scopes. Create one per node with New and
// add the scopes the node takes part in with AddScope. Its methods may be
// called from any goroutine.
type Registry struct {
	node *actor.Node
	cl   *cluster.Cluster // set by NewCluster

	mu     sync.Mutex // serialises AddScope
	scopes atomic.Pointer[map[string]*Scope]
	lag    metric.Float64Histogram // arbor.registry.replication.lag; nil without telemetry (telemetry.go)
}

// New returns the registry of node n, with no scopes yet.
func New(n *actor.Node) *Registry {
	r := &Registry{node: n}
	m := map[string]*Scope{}
	r.scopes.Store(&m)
	registerMetrics(r) // telemetry.go
	return r
}

// Node returns the node the registry serves.
func (r *Registry) Node() *actor.Node { return r.node }

// ScopeOption configures a scope in AddScope.
type ScopeOption func(*scopeConfig)

type scopeConfig struct {
	handler any
	now     func() time.Time
}

func defaultScopeConfig() scopeConfig {
	return scopeConfig{now: time.Now}
}

// WithEventHandler sets the scope's event handler: a value implementing any
// of RegisteredHandler, UnregisteredHandler, RegistryUpdatedHandler,
// JoinedHandler, LeftHandler, GroupUpdatedHandler and ConflictResolver.
// Only the callbacks it implements are produced; AddScope refuses a value
// that implements none (ErrBadHandler). Default: none.
func WithEventHandler(h any) ScopeOption { return func(c *scopeConfig) { c.handler = h } }

// isHandler reports whether h implements at least one callback interface.
func isHandler(h any) bool {
	switch h.(type) {
	case RegisteredHandler, UnregisteredHandler, RegistryUpdatedHandler,
		JoinedHandler, LeftHandler, GroupUpdatedHandler, ConflictResolver:
		return true
	}
	return false
}

// EventHandlerOf returns the event handler that opts set (the last
// WithEventHandler among them), or nil. A package that adds a scope for
// its own use (cluster/singleton's AddScope) uses it to refuse a handler
// it would otherwise replace.
func EventHandlerOf(opts ...ScopeOption) any {
	cfg := defaultScopeConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg.handler
}

// WithClock sets the clock that timestamps registrations and memberships
// (used by conflict resolution). Default: time.Now.
func WithClock(now func() time.Time) ScopeOption {
	return func(c *scopeConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// ScopeProcessName returns the node-local name of the process that runs a
// scope, as shown by actor.Node.WhereIs and process listings.
func ScopeProcessName(scope string) string { return "arbor.registry/" + scope }

// AddScope makes the node take part in scope: it starts the scope's process
// (named ScopeProcessName(scope)) and, if the handler has callbacks, its
// event process. It returns ErrBadName for an empty scope, ErrScopeExists
// if the scope runs on this node already (from this or another Registry),
// ErrNoNode for a Registry made from a nil node, and the spawn error
// (actor.ErrNodeStopped) otherwise.
func (r *Registry) AddScope(scope string, opts ...ScopeOption) error {
	if scope == "" {
		return &OpError{Op: "add", Scope: scope, Err: ErrBadName}
	}
	if r.node == nil {
		return &OpError{Op: "add", Scope: scope, Err: ErrNoNode}
	}
	cfg := defaultScopeConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.handler != nil && !isHandler(cfg.handler) {
		return &OpError{Op: "add", Scope: scope, Err: fmt.Errorf("%w: %T", ErrBadHandler, cfg.handler)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.scopes.Load()
	if _, ok := old[scope]; ok {
		return &OpError{Op: "add", Scope: scope, Err: ErrScopeExists}
	}
	s := newScope(r.node, r.cl, scope)
	s.handler = cfg.handler
	if r.lag != nil {
		s.lag, s.lagAt = r.lag, metric.WithAttributes(attribute.String("arbor.scope", scope))
	}
	if _, err := r.node.Spawn(&scopeKeeper{s: s, cfg: cfg}); err != nil {
		if errors.Is(err, actor.ErrNameTaken) {
			err = ErrScopeExists
		}
		return &OpError{Op: "add", Scope: scope, Err: err}
	}
	index(s)
	m := make(map[string]*Scope, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[scope] = s
	r.scopes.Store(&m)
	return nil
}

// AddScopes adds several scopes with no options, as Syn's
// add_node_to_scopes. It stops at the first error, which it returns; scopes
// the node runs already are skipped.
func (r *Registry) AddScopes(scopes ...string) error {
	for _, sc := range scopes {
		if err := r.AddScope(sc); err != nil && !errors.Is(err, ErrScopeExists) {
			return err
		}
	}
	return nil
}

// Scope returns the handle of a scope this node runs, for repeated use
// without looking the scope up each time. It returns ErrUnknownScope if the
// node has not added it.
func (r *Registry) Scope(scope string) (*Scope, error) {
	return r.scopeFor("find", scope, "", "", actor.PID{})
}

// scopeFor returns the handle of scope, or an *OpError wrapping
// ErrUnknownScope that says what was being done (op on name or group,
// about pid).
func (r *Registry) scopeFor(op, scope, name, group string, pid actor.PID) (*Scope, error) {
	if s, ok := (*r.scopes.Load())[scope]; ok {
		return s, nil
	}
	if scope == "" {
		return nil, &OpError{Op: op, Scope: scope, Name: name, Group: group, PID: pid, Err: ErrBadName}
	}
	return nil, &OpError{Op: op, Scope: scope, Name: name, Group: group, PID: pid, Err: ErrUnknownScope}
}

// Scopes returns the names of the scopes this node runs, sorted.
func (r *Registry) Scopes() []string {
	m := *r.scopes.Load()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

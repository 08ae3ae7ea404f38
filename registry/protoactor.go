package registry

import (
	"context"
	"fmt"

	pa "github.com/asynkron/protoactor-go/actor"

	"github.com/arbor-otp/arbor/actor"
)

// A protoactor actor takes part in the registry through its proxy, the
// process that stands for it (actor.Node's Proxy; cluster.Cluster's Proxy
// for an actor of another node): the entry names the proxy, so every
// node of the scope sees it, its callbacks run as for any process, a
// message or call to the name (Lookup, via naming, Publish, MultiCall)
// reaches the actor (a call as a protoactor request its ctx.Respond
// answers), and the entry vanishes when the actor stops (the proxy exits
// with Normal) or its node is lost. An owned actor (actor.SpawnProto,
// supervision.ProtoChild) is registered by its owning process's PID
// directly, with Register and Join.

// protoProxy returns the proxy of target: on this node, or on target's
// node when the scope is replicated.
func (s *Scope) protoProxy(ctx context.Context, target *pa.PID) (actor.PID, error) {
	if s.cl != nil {
		return s.cl.Proxy(ctx, target)
	}
	return s.node.Proxy(target)
}

// RegisterProto registers the protoactor actor target under name, through
// its proxy, and returns the proxy's PID (the PID Lookup returns and
// callbacks get). It returns Proxy's errors (wrapped) and Register's.
func (s *Scope) RegisterProto(ctx context.Context, name string, target *pa.PID, meta any) (actor.PID, error) {
	pid, err := s.protoProxy(ctx, target)
	if err != nil {
		return actor.PID{}, fmt.Errorf("register protoactor actor %v as %q: %w", target, name, err)
	}
	return pid, s.Register(ctx, name, pid, meta)
}

// JoinProto joins the protoactor actor target to group, through its
// proxy, and returns the proxy's PID (the PID Members lists). It returns
// Proxy's errors (wrapped) and Join's.
func (s *Scope) JoinProto(ctx context.Context, group string, target *pa.PID, meta any) (actor.PID, error) {
	pid, err := s.protoProxy(ctx, target)
	if err != nil {
		return actor.PID{}, fmt.Errorf("join protoactor actor %v to %q: %w", target, group, err)
	}
	return pid, s.Join(ctx, group, pid, meta)
}

// RegisterProto is Scope.RegisterProto in scope.
func (r *Registry) RegisterProto(ctx context.Context, scope, name string, target *pa.PID, meta any) (actor.PID, error) {
	s, err := r.scopeFor("register", scope, name, "", actor.PID{})
	if err != nil {
		return actor.PID{}, err
	}
	return s.RegisterProto(ctx, name, target, meta)
}

// JoinProto is Scope.JoinProto in scope.
func (r *Registry) JoinProto(ctx context.Context, scope, group string, target *pa.PID, meta any) (actor.PID, error) {
	s, err := r.scopeFor("join", scope, "", group, actor.PID{})
	if err != nil {
		return actor.PID{}, err
	}
	return s.JoinProto(ctx, group, target, meta)
}

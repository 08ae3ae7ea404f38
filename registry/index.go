package registry

import (
	"context"
	"runtime"
	"sync"
	"weak"

	"github.com/arbor-otp/arbor/actor"
)

// scopeIndex finds the scopes a node runs from the node alone, for the
// functions that get the node from a context (Call, Cast, Send, Via). It
// holds the scopes weakly: an entry goes when its Scope is collected, that
// is once its Registry is dropped and its scope process has exited.
var scopeIndex sync.Map // scopeKey -> weak.Pointer[Scope]

type scopeKey struct {
	node  *actor.Node
	scope string
}

// index makes s findable by scopeOf.
func index(s *Scope) {
	k := scopeKey{s.node, s.name}
	wp := weak.Make(s)
	scopeIndex.Store(k, wp)
	runtime.AddCleanup(s, func(k scopeKey) { scopeIndex.CompareAndDelete(k, wp) }, k)
}

// scopeOf returns the scope named scope on node n, or nil.
func scopeOf(n *actor.Node, scope string) *Scope {
	if v, ok := scopeIndex.Load(scopeKey{n, scope}); ok {
		return v.(weak.Pointer[Scope]).Value()
	}
	return nil
}

// scopeFrom returns the scope named scope on the node ctx sends from, or
// an *OpError wrapping ErrNoNode or ErrUnknownScope for op on name.
func scopeFrom(ctx context.Context, op, scope, name string) (*Scope, error) {
	n, ok := actor.NodeFromContext(ctx)
	if !ok {
		return nil, &OpError{Op: op, Scope: scope, Name: name, Err: ErrNoNode}
	}
	if s := scopeOf(n, scope); s != nil {
		return s, nil
	}
	if scope == "" {
		return nil, &OpError{Op: op, Scope: scope, Name: name, Err: ErrBadName}
	}
	return nil, &OpError{Op: op, Scope: scope, Name: name, Err: ErrUnknownScope}
}

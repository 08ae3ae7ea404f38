package singleton

import (
	"context"
	"fmt"
	"sync"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
)

// holdings maps a singleton's process to the lease its child runs under,
// for FencingToken.
var holdings sync.Map // actor.PID -> cluster.Lease

// FencingToken returns the fencing token of the lock the calling singleton
// child runs under. ctx is the child's start function's context (the
// singleton's process) or the child's own process context (whose parent
// is the singleton's process), or a context.Context derived from either.
// A process further down a tree the child starts should get the token
// from the child.
//
// FencingToken checks the lock by the clock on each call: it returns an
// error wrapping ErrNotHeld as soon as the lock is lost or its renew
// deadline has passed, even before the child is told to stop (after a
// freeze of the whole process, say). Call it right before every write to
// an outside system and send the token with the write. It returns
// ErrNoLease for any other context.
func FencingToken(ctx context.Context) (uint64, error) {
	c, ok := actor.FromContext(ctx)
	if !ok {
		return 0, ErrNoLease
	}
	v, ok := holdings.Load(c.Self())
	if !ok {
		v, ok = holdings.Load(c.Parent())
	}
	if !ok {
		return 0, ErrNoLease
	}
	l := v.(cluster.Lease)
	if !l.Held() {
		err := l.Err()
		if err == nil {
			err = cluster.ErrLeaseLost
		}
		return 0, fmt.Errorf("%w: key %s, token %d: %w", ErrNotHeld, l.Key(), l.Token(), err)
	}
	return l.Token(), nil
}

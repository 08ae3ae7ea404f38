package singleton

import (
	"context"
	"fmt"
	"sync"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
)

// holdings maps, for FencingToken, a singleton's child to the lease it
// was started under, from its start until it has exited, and a
// singleton's process to its lease while the child's start function runs.
var holdings sync.Map // actor.PID -> cluster.Lease

// FencingToken returns the fencing token of the lock the calling singleton
// child runs under. ctx is the child's start function's context (the
// singleton's process), the child's own process context (whose parent
// is the singleton's process) or that of a process the child started,
// or a context.Context derived from one of them. A process further down
// a tree the child starts should get the token from the child.
//
// A child only ever sees the token of the lease it was started under:
// one that outlives that lease (it did not stop in time) gets ErrNotHeld,
// even once its singleton holds a newer lease for a new child.
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
	// The caller's own entry first: a child that outlived its lease finds
	// that lease (and ErrNotHeld), never its singleton's next one.
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

package cluster

import (
	"context"
	"errors"
)

// Locker hands out cluster-wide mutual exclusion on string keys, with a
// fencing token. cluster/consul implements it on Consul sessions;
// cluster/singleton runs a child only while it holds a Lease from one.
//
// Acquire blocks until this caller holds the lock on key, ctx ends (it
// then returns ctx's error) or the Locker is closed. While it cannot
// reach its backend it keeps trying; it never returns a lease it does
// not hold. Acquire may be called from any goroutine, and again after the
// previous lease on the same key was released or lost.
type Locker interface {
	Acquire(ctx context.Context, key string) (Lease, error)
}

// Lease is one holding of a lock, from Acquire until it is released or
// lost. Its methods may be called from any goroutine.
//
// A lease is lost when the backend says another may hold the key, or,
// before that can happen, when the holder could not confirm its hold in
// time (its renew deadline passed, by the monotonic or the wall clock,
// whichever says more). Lost is closed at the latest at that deadline;
// Held turns false at the deadline itself, even if the goroutine that
// closes Lost has not run yet (after the process was frozen, say). A lost
// lease never becomes held again: acquire a new one.
type Lease interface {
	// Key is the key the lease holds.
	Key() string
	// Token is the fencing token: strictly greater than the token of
	// every earlier holding of the same key, by any holder. Pass it to
	// outside systems with each write and have them refuse a token lower
	// than one they have seen.
	Token() uint64
	// Previous names the holder of the holding before this one, if that
	// was another holder ("" when the key is new, or this holder held it
	// last): this holding is then a takeover.
	Previous() string
	// Held reports whether the lease is still held by the clock right
	// now: not lost and its renew deadline not passed.
	Held() bool
	// Lost is closed when the lease is lost or released.
	Lost() <-chan struct{}
	// Err is nil while the lease is held, then why it ended: ErrLeaseReleased
	// after Release, otherwise an error that wraps ErrLeaseLost.
	Err() error
	// Release gives the lock up so another holder may take it at once,
	// and waits for the lease's goroutines. It is idempotent; its error
	// says only that the backend could not be told (the lock then frees
	// itself when the backend's own timeout expires).
	Release(ctx context.Context) error
}

var (
	// ErrLeaseLost is wrapped by Lease.Err when a lease ended without
	// Release: another holder may hold the key, or soon may.
	ErrLeaseLost = errors.New("cluster: lease lost")
	// ErrLeaseReleased is Lease.Err after Release.
	ErrLeaseReleased = errors.New("cluster: lease released")
)

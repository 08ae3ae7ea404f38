package singleton

import "errors"

var (
	// ErrNoMode is the start error of a Spec given no mode: the registry
	// (Highlander) mode, the future default, is not available yet, so a
	// Spec needs WithLock.
	ErrNoMode = errors.New("singleton: no mode given (use WithLock)")
	// ErrNoLease is returned by FencingToken for a context that is not
	// the start function of a singleton's child, nor the child's own
	// process.
	ErrNoLease = errors.New("singleton: not a singleton's child")
	// ErrNotHeld is returned (wrapped) by FencingToken once the lock of
	// the singleton is lost or its renew deadline has passed: the child is
	// being stopped and must not write outside.
	ErrNotHeld = errors.New("singleton: lock not held")
)

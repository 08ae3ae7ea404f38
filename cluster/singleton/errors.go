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
	// ErrShutdownTooLong is wrapped by the start error of a lock-mode
	// Spec whose child's shutdown limit is not under its Locker's
	// StopBudget (Infinity never is): the child could still run when
	// another node takes the lock.
	ErrShutdownTooLong = errors.New("singleton: child's shutdown limit too long for the lock")
)

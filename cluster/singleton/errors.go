package singleton

import "errors"

var (
	// ErrNoMode is the start error of a Spec given no mode: a Spec needs
	// WithLock (the lock mode) or WithRegistry (the registry mode).
	ErrNoMode = errors.New("singleton: no mode given (use WithLock or WithRegistry)")
	// ErrTwoModes is the start error of a Spec given both WithLock and
	// WithRegistry.
	ErrTwoModes = errors.New("singleton: both WithLock and WithRegistry given")
	// ErrNoRegistry is returned for a nil *registry.Registry.
	ErrNoRegistry = errors.New("singleton: nil registry")
	// ErrNotSingletonScope is returned (wrapped) by WithRegistry's Spec,
	// Whereis and Call for a scope that was not added with AddScope.
	ErrNotSingletonScope = errors.New("singleton: scope not added with singleton.AddScope")
	// ErrScopeHandler is returned by AddScope for options that set an
	// event handler: the scope's handler is the singletons'.
	ErrScopeHandler = errors.New("singleton: a singleton scope's event handler is the singletons' own (no WithEventHandler)")
	// ErrNoInstance is returned (wrapped) by Whereis, Call and Cast when
	// no node runs the key's child: nobody holds the key, or its holder
	// is starting the child.
	ErrNoInstance = errors.New("singleton: no instance running")
	// ErrKeyLost is the Err of the Conflict and Lost events of the
	// registry mode: the node's claim on the key was dropped.
	ErrKeyLost = errors.New("singleton: key lost")
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

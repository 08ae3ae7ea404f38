package singleton

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/supervision"
)

// releaseTimeout bounds the call that gives a lock up.
const releaseTimeout = 5 * time.Second

// Spec wraps child so that it runs once in the cluster. The returned spec
// goes into any supervisor in child's place; it keeps child's ID, restart
// type, type and significance. Its process (the singleton's process)
// starts child only while its mode allows, stops it (within child's
// shutdown limit, with actor.Shutdown, so a child that traps exits runs
// its Terminate) when it no longer does, and waits to run it again.
//
// The key, cluster-wide, is child's ID unless WithKey says otherwise.
// When child exits by itself, the singleton gives its lock up and exits
// with the same reason, so its supervisor applies child's restart type.
// The singleton's own shutdown limit is child's plus supervision.KillWait
// plus 5 s to release the lock (Infinity if child's is); it exits only
// after the lock is released, or the release has failed.
//
// The mode is chosen by the options: WithLock for the lock mode,
// WithRegistry for the registry (Highlander) mode. A Spec without a mode
// fails to start with ErrNoMode, one with both with ErrTwoModes. A child spec without an
// ID or a Start function fails to start with an error wrapping
// supervision.ErrInvalidSpec.
func Spec(child supervision.ChildSpec, opts ...Option) supervision.ChildSpec {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.key == "" {
		cfg.key = child.ID
	}
	limit := effectiveShutdown(child)
	own := supervision.Infinity
	if limit != supervision.Infinity {
		own = supervision.Timeout(time.Duration(max(limit, 0)) + supervision.KillWait + releaseTimeout)
	}
	return supervision.ChildSpec{
		ID:          child.ID,
		Restart:     child.Restart,
		Type:        child.Type,
		Significant: child.Significant,
		Shutdown:    own,
		Start: func(ctx *actor.Context) (actor.PID, error) {
			switch {
			case child.ID == "" || cfg.key == "":
				return actor.PID{}, fmt.Errorf("%w: singleton child has no ID", supervision.ErrInvalidSpec)
			case child.Start == nil:
				return actor.PID{}, fmt.Errorf("%w: singleton child %q has no Start function", supervision.ErrInvalidSpec, child.ID)
			case cfg.locker != nil && cfg.hlMode:
				return actor.PID{}, ErrTwoModes
			case cfg.hlMode:
				return ctx.SpawnLink(newRegistrySingleton(child, limit, cfg), actor.WithTrapExit())
			case cfg.locker == nil:
				return actor.PID{}, ErrNoMode
			}
			return ctx.SpawnLink(newLockSingleton(child, limit, cfg), actor.WithTrapExit())
		},
	}
}

// effectiveShutdown resolves child's default shutdown as a supervisor
// does: 5 s for a worker, Infinity for a supervisor.
func effectiveShutdown(child supervision.ChildSpec) supervision.Shutdown {
	if child.Shutdown != supervision.DefaultShutdown {
		return child.Shutdown
	}
	if child.Type == supervision.Supervisor {
		return supervision.Infinity
	}
	return supervision.DefaultWorkerShutdown
}

type (
	subscribeReq   struct{ pid actor.PID }
	unsubscribeReq struct{ pid actor.PID }
)

// Subscribe sends every later Event of the singleton whose process is
// singleton (find it with supervision.WhichChildren, under the child's ID)
// to subscriber, a local process, until it exits or Unsubscribe. It
// returns the singleton's last Event, so the subscriber knows where it
// stands. It returns a *actor.CallError if the singleton cannot be
// reached.
func Subscribe(ctx context.Context, singleton, subscriber actor.PID) (Event, error) {
	r, err := actor.Call(ctx, singleton, subscribeReq{pid: subscriber})
	if err != nil {
		return Event{}, err
	}
	ev, ok := r.(Event)
	if !ok {
		return Event{}, fmt.Errorf("singleton: %v is not a singleton (answered %T)", singleton, r)
	}
	return ev, nil
}

// Unsubscribe stops the Events to subscriber. It returns a
// *actor.CallError if the singleton cannot be reached.
func Unsubscribe(ctx context.Context, singleton, subscriber actor.PID) error {
	_, err := actor.Call(ctx, singleton, unsubscribeReq{pid: subscriber})
	return err
}

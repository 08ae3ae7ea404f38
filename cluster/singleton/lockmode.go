package singleton

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/supervision"
)

// The lock mode. A singleton's process owns the child; a keeper goroutine,
// tied to the process's life, owns the lock: it acquires, tells the
// process, waits for the loss, tells the process, and releases once the
// process has stopped the child. Every lease the keeper got is released
// by the keeper: on the process's own exits, before it exits (so the lock
// is free when its supervisor sees it gone); after a Kill, as soon as the
// keeper sees the exit.

// Messages from the keeper to the singleton's process.
type (
	acquiredMsg      struct{ lease cluster.Lease }
	lostMsg          struct{ lease cluster.Lease }
	acquireFailedMsg struct{ err error }
)

type lockSingleton struct {
	child supervision.ChildSpec
	limit supervision.Shutdown // child's, resolved
	cfg   config
	log   zerolog.Logger
	node  string

	keeper   *keeper
	lease    cluster.Lease // the holding the child runs under, if any
	childPID actor.PID
	// abandoned is a child of a lost lease still alive after its kill
	// (its handler has not returned): the lock is not tried again until
	// its Down, on abandonedRef.
	abandoned    actor.PID
	abandonedRef actor.Ref
	subscribers
}

func newLockSingleton(child supervision.ChildSpec, limit supervision.Shutdown, cfg config) *lockSingleton {
	return &lockSingleton{child: child, limit: limit, cfg: cfg, subscribers: newSubscribers()}
}

// StopBudgeter is a cluster.Locker that says how long a holder has, from
// the moment a lease is lost, before another holder may take the key
// (*consul.Locker: TTL/2 + lock-delay). A lock-mode Spec whose child's
// shutdown limit is not under it fails to start with ErrShutdownTooLong;
// for a Locker without StopBudget nothing is checked.
type StopBudgeter interface {
	StopBudget() time.Duration
}

// checkBudget refuses a child's shutdown limit that the locker's stop
// budget cannot hold: the child is told to stop when the lease is lost,
// and must be gone (its limit, then its kill) before another node may
// take the key.
func checkBudget(child string, limit supervision.Shutdown, locker cluster.Locker) error {
	b, ok := locker.(StopBudgeter)
	if !ok {
		return nil
	}
	budget := b.StopBudget()
	switch {
	case limit == supervision.Infinity:
		return fmt.Errorf("%w: child %q has shutdown infinity (a supervisor's default); give it a Timeout under %v, the lock's stop budget",
			ErrShutdownTooLong, child, budget)
	case limit > 0 && time.Duration(limit) >= budget:
		return fmt.Errorf("%w: child %q has shutdown %v, not under %v, the lock's stop budget (TTL/2 + lock-delay): shorten it or raise the TTL or lock-delay",
			ErrShutdownTooLong, child, time.Duration(limit), budget)
	}
	return nil
}

// Init checks the child's shutdown limit against the lock, subscribes the
// WithSubscriber processes and starts the keeper.
func (s *lockSingleton) Init(ctx *actor.Context) error {
	if err := checkBudget(s.child.ID, s.limit, s.cfg.locker); err != nil {
		return err
	}
	s.node = ctx.Node().Name()
	log := ctx.Logger()
	if s.cfg.logger != nil {
		log = s.cfg.logger
	}
	s.log = log.With().Str("component", "singleton").Str("mode", "lock").Str("key", s.cfg.key).Str("node", s.node).Logger()
	for _, pid := range s.cfg.subscribers {
		s.subscribe(ctx, pid)
	}
	s.keeper = &keeper{again: make(chan struct{}, 1), limit: s.limit, stop: make(chan struct{}), done: make(chan struct{})}
	go s.keeper.run(ctx.Node(), ctx.Self(), s.cfg.locker, s.cfg.key)
	s.emit(ctx, Event{Kind: Waiting})
	s.log.Debug().Str("event", "waiting").Msg("singleton waiting for the lock")
	return nil
}

// Receive handles the keeper's news, exits and subscriptions.
func (s *lockSingleton) Receive(ctx *actor.Context, msg any) error {
	// The lock first: if its deadline has passed (after a freeze of the
	// process, say), the child is stopped before the message is looked at.
	if s.lease != nil && !s.lease.Held() {
		s.lose(ctx, s.lease)
	}
	switch m := msg.(type) {
	case acquiredMsg:
		return s.acquired(ctx, m.lease)
	case lostMsg:
		if m.lease == s.lease {
			s.lose(ctx, m.lease)
		}
	case acquireFailedMsg:
		s.log.Error().Err(m.err).Msg("singleton cannot acquire its lock")
		s.keeper.shutdown()
		return m.err
	case actor.Exit:
		switch {
		case !s.childPID.IsZero() && m.From == s.childPID:
			holdings.Delete(s.childPID)
			s.childPID = actor.PID{}
			s.keeper.setChild(actor.PID{})
			s.drop(ctx)
			s.keeper.shutdown()
			s.log.Info().Str("event", "released").AnErr("reason", m.Reason).Msg("singleton child exited; lock given up")
			s.emit(ctx, Event{Kind: Released, Err: m.Reason})
			return m.Reason
		case m.From == ctx.Parent():
			s.stopChild(ctx)
			s.drop(ctx)
			s.keeper.shutdown()
			s.log.Info().Str("event", "released").AnErr("reason", m.Reason).Msg("singleton stopped; lock given up")
			s.emit(ctx, Event{Kind: Released})
			return m.Reason
		}
	case actor.Down:
		if !s.abandoned.IsZero() && m.Ref == s.abandonedRef {
			s.abandonedGone(ctx)
			return nil
		}
		s.down(m)
	case *actor.Request:
		s.request(ctx, m)
	}
	return nil
}

// acquired starts the child under a fresh lease.
func (s *lockSingleton) acquired(ctx *actor.Context, lease cluster.Lease) error {
	s.lease = lease
	if !lease.Held() {
		// Lost between the keeper and here (the process was frozen).
		s.lose(ctx, lease)
		return nil
	}
	holdings.Store(ctx.Self(), lease)
	kind := Acquired
	if lease.Previous() != "" {
		kind = Takeover
	}
	pid, err := callStart(ctx, s.child.Start)
	if err == nil && pid.IsZero() {
		err = actor.Ignore
	}
	if err != nil {
		s.drop(ctx)
		s.keeper.shutdown()
		if errors.Is(err, actor.Ignore) {
			s.log.Info().Str("event", "released").Uint64("token", lease.Token()).Msg("singleton child declined to start; lock given up")
			s.emit(ctx, Event{Kind: Released, Token: lease.Token()})
			return actor.Normal
		}
		s.log.Error().Err(err).Uint64("token", lease.Token()).Msg("singleton child failed to start; lock given up")
		s.emit(ctx, Event{Kind: Released, Token: lease.Token(), Err: err})
		return fmt.Errorf("start singleton child %s: %w", s.child.ID, err)
	}
	ctx.Link(pid)
	s.childPID = pid
	s.keeper.setChild(pid)
	// From now on the child (and the processes it starts) find the lease
	// under the child's pid: it keeps its own lease's token, or an error
	// once that is lost, whatever lease this process holds later.
	holdings.Store(pid, lease)
	holdings.CompareAndDelete(ctx.Self(), lease)
	ev := s.log.Info().Str("event", kind.String()).Uint64("token", lease.Token()).Stringer("child", pid)
	if kind == Takeover {
		ev = ev.Str("previous", lease.Previous())
	}
	ev.Msg("singleton lock acquired; child started")
	s.emit(ctx, Event{Kind: kind, Token: lease.Token(), Previous: lease.Previous()})
	return nil
}

// lose stops the child of a lost lease and lets the keeper release it
// and try again.
func (s *lockSingleton) lose(ctx *actor.Context, lease cluster.Lease) {
	err := lease.Err()
	if err == nil {
		err = fmt.Errorf("%w: renew deadline passed", cluster.ErrLeaseLost)
	}
	gone := s.stopChild(ctx)
	s.drop(ctx)
	s.log.Warn().Str("event", "lost").Uint64("token", lease.Token()).Err(err).Msg("singleton lock lost; child stopped")
	s.emit(ctx, Event{Kind: Lost, Token: lease.Token(), Err: err})
	if gone {
		s.retry(ctx)
	}
}

// retry lets the keeper release the lost lease and try again.
func (s *lockSingleton) retry(ctx *actor.Context) {
	s.keeper.tryAgain()
	s.emit(ctx, Event{Kind: Waiting})
}

// abandonedGone is the Down of a child that outlived its kill: now that
// it is gone, the lock may be tried again.
func (s *lockSingleton) abandonedGone(ctx *actor.Context) {
	pid := s.abandoned
	s.abandoned, s.abandonedRef = actor.PID{}, actor.Ref{}
	holdings.Delete(pid)
	s.keeper.setChild(actor.PID{})
	s.log.Info().Stringer("child", pid).Msg("abandoned singleton child exited; trying for the lock again")
	s.retry(ctx)
}

// drop forgets the current lease (the keeper releases it).
func (s *lockSingleton) drop(ctx *actor.Context) {
	s.lease = nil
	holdings.Delete(ctx.Self())
}

// stopChild stops the child, if it runs, within its shutdown limit: the
// actor.Shutdown exit signal (Kill at once for BrutalKill), then Kill at
// the limit, then up to supervision.KillWait for the kill to take effect.
// It reports whether the child is gone; one still alive is monitored as
// abandoned, and the keeper keeps its lease (unreleased) until its Down.
func (s *lockSingleton) stopChild(ctx *actor.Context) (gone bool) {
	pid := s.childPID
	if pid.IsZero() {
		return true
	}
	defer func() {
		if gone {
			holdings.Delete(pid)
			s.keeper.setChild(actor.PID{})
			return
		}
		s.abandoned, s.abandonedRef = pid, ctx.Monitor(pid)
	}()
	s.childPID = actor.PID{}
	exited := ctx.Node().WatchExit(pid)
	ctx.Unlink(pid)
	if s.limit == supervision.BrutalKill {
		ctx.Exit(pid, actor.Kill)
	} else {
		ctx.Exit(pid, actor.Shutdown)
	}
	if s.limit != supervision.Infinity && s.limit != supervision.BrutalKill {
		t := time.NewTimer(time.Duration(s.limit))
		select {
		case <-exited:
			t.Stop()
			return true
		case <-t.C:
		}
		s.log.Warn().Stringer("child", pid).Stringer("shutdown", s.limit).Msg("singleton child did not stop within its shutdown limit; killed")
		ctx.Exit(pid, actor.Kill)
	}
	if s.limit == supervision.Infinity {
		<-exited
		return true
	}
	t := time.NewTimer(supervision.KillWait)
	defer t.Stop()
	select {
	case <-exited:
		return true
	case <-t.C:
		s.log.Error().Stringer("child", pid).Msg("singleton child still alive after kill; lock not tried again until it exits")
		return false
	}
}

// emit sends ev, stamped with the key and this node, to the subscribers.
func (s *lockSingleton) emit(ctx *actor.Context, ev Event) {
	s.subscribers.emit(ctx, s.cfg.key, s.node, ev)
}

// callStart calls a start function, turning a panic into an error.
func callStart(ctx *actor.Context, f func(*actor.Context) (actor.PID, error)) (pid actor.PID, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &actor.PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return f(ctx)
}

// keeper holds the lock for one singleton process, for that process's
// life. The process ends it with shutdown on every exit it makes itself;
// when the process is killed, the keeper notices the exit and ends by
// itself.
type keeper struct {
	again chan struct{} // the process stopped the child of the lost lease
	limit supervision.Shutdown
	stop  chan struct{} // closed by shutdown
	done  chan struct{} // closed when run has returned
	once  sync.Once

	mu    sync.Mutex
	child actor.PID
}

func (k *keeper) setChild(pid actor.PID) {
	k.mu.Lock()
	k.child = pid
	k.mu.Unlock()
}

// shutdown ends the keeper, which releases its lease, and waits for it.
// The process calls it once its child is stopped.
func (k *keeper) shutdown() {
	k.once.Do(func() { close(k.stop) })
	<-k.done
}

func (k *keeper) tryAgain() {
	select {
	case k.again <- struct{}{}:
	default:
	}
}

// run acquires, reports, waits for the loss, and again, until the process
// self exits.
func (k *keeper) run(n *actor.Node, self actor.PID, locker cluster.Locker, key string) {
	defer close(k.done)
	exited := n.WatchExit(self)
	ctx, cancel := context.WithCancel(context.Background())
	watching := make(chan struct{})
	defer func() { <-watching }()
	defer cancel()
	go func() {
		defer close(watching)
		select {
		case <-exited:
			cancel()
		case <-k.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		lease, err := acquireSafely(ctx, locker, key)
		if err != nil {
			if ctx.Err() == nil {
				_ = n.Send(self, acquireFailedMsg{err: err})
				<-ctx.Done()
			}
			return
		}
		if n.Send(self, acquiredMsg{lease: lease}) != nil {
			k.release(lease)
			return
		}
		select {
		case <-lease.Lost():
			_ = n.Send(self, lostMsg{lease: lease})
		case <-ctx.Done():
			k.finish(n, self, lease)
			return
		}
		select {
		case <-k.again:
			k.release(lease)
		case <-ctx.Done():
			k.finish(n, self, lease)
			return
		}
	}
}

// acquireSafely calls locker.Acquire and turns a panic in it (a user's
// Locker, or a nil one) into a *actor.PanicError: the keeper's goroutine
// must never take the program down.
func acquireSafely(ctx context.Context, locker cluster.Locker, key string) (lease cluster.Lease, err error) {
	defer func() {
		if v := recover(); v != nil {
			lease, err = nil, &actor.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return locker.Acquire(ctx, key)
}

// finish releases lease once the child is gone, never before: after a
// clean stop it is already; after a Kill of the singleton's process the
// child (told through the link, so a child that traps exits gets an
// actor.Exit) has its shutdown limit, is killed past it, and the lock is
// released only once it has exited, however long its last handler takes.
func (k *keeper) finish(n *actor.Node, self actor.PID, lease cluster.Lease) {
	defer holdings.CompareAndDelete(self, lease)
	k.mu.Lock()
	child := k.child
	k.mu.Unlock()
	if !child.IsZero() {
		k.awaitChild(n, child, lease)
		holdings.Delete(child)
	}
	k.release(lease)
}

// awaitChild returns once child has exited. It gives the child its
// shutdown limit (none for BrutalKill), cut short when the lease is lost,
// then kills it and waits for the kill to take effect.
//
// WatchExit's channel receives one value: it is read in one place only.
func (k *keeper) awaitChild(n *actor.Node, child actor.PID, lease cluster.Lease) {
	exited := n.WatchExit(child)
	var limit <-chan time.Time
	switch {
	case k.limit == supervision.Infinity:
		// No timer: only the lease's loss cuts the wait short.
	case k.limit > 0:
		t := time.NewTimer(time.Duration(k.limit))
		defer t.Stop()
		limit = t.C
	default: // BrutalKill
		c := make(chan time.Time)
		close(c)
		limit = c
	}
	select {
	case <-exited:
		return
	case <-limit:
	case <-lease.Lost():
	}
	_ = n.Exit(child, actor.Kill)
	<-exited
}

func (k *keeper) release(lease cluster.Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	_ = lease.Release(ctx)
}

package singleton

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// The registry (Highlander) mode. On every node the singleton's process
// claims the key in a registry scope added with AddScope, registering
// itself under it. The node that holds the claim starts the child and
// then publishes the child's PID in the claim's metadata (Whereis reads
// it); the others watch: the scope's handler tells them when the name is
// freed on their node (the holder exited, or its node was declared down),
// and they claim again. When a healed netsplit (or a race) leaves the key
// claimed twice, the scope's resolver keeps the claim that has served
// longest and tells the other's process, which stops its child with
// actor.Shutdown and goes back to watching.

const (
	// claimSettle is how long a fresh claim waits before its child starts:
	// long enough for the claim to reach the connected peers and for a
	// concurrent claim (every watcher claims when the holder dies) to be
	// resolved, so that the loser never starts its child.
	claimSettle = 100 * time.Millisecond
	// recheckEvery is how often a watching singleton looks the key up in
	// case a freeing was missed (the scope's event process restarted).
	recheckEvery = time.Second
	// retryEvery is the wait after a claim that failed for another reason
	// than the key being held (the scope process restarting, say).
	retryEvery = 200 * time.Millisecond
	// registryTimeout bounds one registry write.
	registryTimeout = 5 * time.Second
)

// instances maps a local registry singleton's process to its running
// child, for Whereis on the holder's node (and on a node that is not in a
// cluster, whose PIDs have no wire form).
var instances sync.Map // actor.PID -> actor.PID

// instanceMeta is the metadata of a claim whose child runs: the child's
// PID in its wire form, or one zero byte on a node without a cluster.
func instanceMeta(child actor.PID) []byte {
	if b := cluster.MarshalPID(child); len(b) > 0 {
		if _, err := cluster.UnmarshalPID(b); err == nil {
			return b
		}
	}
	return []byte{0}
}

// AddScope adds scope to reg (registry.Registry.AddScope, with opts) for
// singletons in the registry mode (WithRegistry). The scope's conflict
// resolver keeps the instance that has served longest: a claim whose
// child runs wins over one whose child has not started yet, then the
// earlier registration wins (ties: the lower PID). So after a netsplit
// heals, and when a node that started alone joins the cluster, the
// long-running instance stays and the other is stopped. The resolver
// compares times stamped by two nodes' clocks: clocks apart by more than
// the age difference of the two instances can make it pick the younger.
//
// The scope's event handler is the singletons': opts setting one with
// registry.WithEventHandler are refused with ErrScopeHandler. Keep the
// scope for singletons (their keys are its names). AddScope returns
// registry.AddScope's errors otherwise.
func AddScope(reg *registry.Registry, scope string, opts ...registry.ScopeOption) error {
	if reg == nil {
		return fmt.Errorf("singleton: add scope %q: %w", scope, ErrNoRegistry)
	}
	if registry.EventHandlerOf(opts...) != nil {
		return fmt.Errorf("singleton: add scope %q: %w", scope, ErrScopeHandler)
	}
	h := &scopeHandler{node: reg.Node(), scope: scope, watchers: map[string]map[actor.PID]struct{}{}}
	all := append(append([]registry.ScopeOption(nil), opts...), registry.WithEventHandler(h))
	if err := reg.AddScope(scope, all...); err != nil {
		return err
	}
	return nil
}

// scopeHandler is the event handler and resolver of a singleton scope on
// one node. It routes each freeing of a key to the singleton processes of
// this node that watch the key.
type scopeHandler struct {
	node  *actor.Node
	scope string

	mu       sync.Mutex
	watchers map[string]map[actor.PID]struct{} // key -> singleton processes
}

// freedMsg tells a singleton's process that pid no longer holds key on
// this node's view of the scope.
type freedMsg struct {
	pid    actor.PID
	reason registry.Reason
}

func (h *scopeHandler) watch(key string, pid actor.PID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.watchers[key]
	if w == nil {
		w = map[actor.PID]struct{}{}
		h.watchers[key] = w
	}
	w[pid] = struct{}{}
}

func (h *scopeHandler) unwatch(key string, pid actor.PID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.watchers[key], pid)
	if len(h.watchers[key]) == 0 {
		delete(h.watchers, key)
	}
}

// OnProcessUnregistered tells the watchers of name that it is free here.
func (h *scopeHandler) OnProcessUnregistered(_, name string, pid actor.PID, _ any, reason registry.Reason) {
	h.mu.Lock()
	ws := make([]actor.PID, 0, len(h.watchers[name]))
	for w := range h.watchers[name] {
		ws = append(ws, w)
	}
	h.mu.Unlock()
	for _, w := range ws {
		_ = h.node.Send(w, freedMsg{pid: pid, reason: reason})
	}
}

// ResolveRegistryConflict keeps the claim that has served longest: a
// running child first, then the earlier registration, then a (the lower
// PID). It runs on both owners, which see the same a and b.
func (h *scopeHandler) ResolveRegistryConflict(_, name string, a, b registry.Registration) actor.PID {
	keep, drop, why := a, b, "older"
	switch ra, rb := serving(a.Meta), serving(b.Meta); {
	case ra && !rb:
		why = "serving"
	case rb && !ra:
		keep, drop, why = b, a, "serving"
	case b.Time < a.Time:
		keep, drop = b, a
	case a.Time == b.Time:
		why = "lower pid"
	}
	h.node.Logger().Debug().Str("component", "singleton").Str("mode", "registry").Str("event", "conflict").
		Str("scope", h.scope).Str("key", name).Str("node", h.node.Name()).
		Str("keep_node", keep.PID.NodeName()).Str("stop_node", drop.PID.NodeName()).
		Time("keep_since", time.Unix(0, keep.Time)).Time("stop_since", time.Unix(0, drop.Time)).Str("why", why).
		Msg("singleton conflict: keeping the instance that has served longest")
	return keep.PID
}

// serving reports whether a claim's metadata names a running child.
func serving(meta any) bool {
	b, ok := meta.(*wrapperspb.BytesValue)
	return ok && len(b.GetValue()) > 0
}

func handlerOf(reg *registry.Registry, scope string) (*registry.Scope, *scopeHandler, error) {
	if reg == nil {
		return nil, nil, ErrNoRegistry
	}
	s, err := reg.Scope(scope)
	if err != nil {
		return nil, nil, err
	}
	h, ok := s.EventHandler().(*scopeHandler)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q", ErrNotSingletonScope, scope)
	}
	return s, h, nil
}

// Whereis returns the running instance (the child's process) of the
// singleton key in scope, a scope added with AddScope, from any node of
// the scope. It returns an error wrapping ErrNoInstance when no node
// holds the key or its holder has not started the child yet (and
// registry.ErrNotRegistered in the first case), ErrNotSingletonScope or
// registry.ErrUnknownScope for a scope not added with AddScope on this
// node. During a conflict not yet resolved (right after a netsplit heals)
// a node may name the instance that is about to be stopped.
func Whereis(reg *registry.Registry, scope, key string) (actor.PID, error) {
	s, _, err := handlerOf(reg, scope)
	if err != nil {
		return actor.PID{}, fmt.Errorf("singleton: where is %s in %s: %w", key, scope, err)
	}
	holder, meta, err := s.Lookup(key)
	if err != nil {
		return actor.PID{}, fmt.Errorf("singleton: where is %s in %s: %w: %w", key, scope, ErrNoInstance, err)
	}
	if reg.Node().IsLocal(holder) {
		if pid, ok := instances.Load(holder); ok {
			return pid.(actor.PID), nil
		}
	}
	b, _ := meta.(*wrapperspb.BytesValue)
	if !serving(meta) || reg.Node().IsLocal(holder) {
		return actor.PID{}, fmt.Errorf("singleton: where is %s in %s: %w (its child is starting)", key, scope, ErrNoInstance)
	}
	pid, err := cluster.UnmarshalPID(b.GetValue())
	if err != nil {
		return actor.PID{}, fmt.Errorf("singleton: where is %s in %s: %w", key, scope, err)
	}
	return pid, nil
}

// Call calls the instance of key in scope (found with Whereis) with req,
// as actor.Call: a GenServer answers from HandleCall. Outside a process
// it calls from reg's node. It returns Whereis's errors or actor.Call's.
func Call(ctx context.Context, reg *registry.Registry, scope, key string, req any) (any, error) {
	pid, err := Whereis(reg, scope, key)
	if err != nil {
		return nil, err
	}
	if _, ok := actor.FromContext(ctx); !ok {
		ctx = actor.WithNode(ctx, reg.Node())
	}
	return actor.Call(ctx, pid, req)
}

// Cast casts msg to the instance of key in scope (found with Whereis), as
// actor.Cast: a GenServer gets it in HandleCast. It returns Whereis's
// errors or the send's.
func Cast(ctx context.Context, reg *registry.Registry, scope, key string, msg any) error {
	pid, err := Whereis(reg, scope, key)
	if err != nil {
		return err
	}
	if _, ok := actor.FromContext(ctx); !ok {
		ctx = actor.WithNode(ctx, reg.Node())
	}
	return actor.Cast(ctx, pid, msg)
}

// The states of a registry singleton's process.
type hlState uint8

const (
	watching hlState = iota // another holds the key, or nobody yet
	claiming                // registered, waiting claimSettle before the child starts
	running                 // the child runs
)

// Messages a registry singleton sends itself.
type (
	claimMsg   struct{}             // try to register the key
	settledMsg struct{ gen uint64 } // the claim of generation gen has settled
	recheckMsg struct {
		gen   uint64
		again bool // a running holder's second look at a claim found gone
	}
)

type hlSingleton struct {
	child supervision.ChildSpec
	limit supervision.Shutdown
	cfg   config
	log   zerolog.Logger
	node  string

	scope     *registry.Scope
	h         *scopeHandler
	state     hlState
	gen       uint64 // bumped at each claim and each loss, to drop stale timers
	holder    actor.PID
	previous  string // node of the last holder seen by this process, for Takeover
	sawHolder bool   // another process held the key since this one started
	childPID  actor.PID
	subscribers
}

func newRegistrySingleton(child supervision.ChildSpec, limit supervision.Shutdown, cfg config) *hlSingleton {
	return &hlSingleton{child: child, limit: limit, cfg: cfg, subscribers: newSubscribers()}
}

// Init finds the scope, starts watching the key and claims it.
func (s *hlSingleton) Init(ctx *actor.Context) error {
	s.node = ctx.Node().Name()
	log := ctx.Logger()
	if s.cfg.logger != nil {
		log = s.cfg.logger
	}
	s.log = log.With().Str("component", "singleton").Str("mode", "registry").Str("scope", s.cfg.scope).
		Str("key", s.cfg.key).Str("node", s.node).Logger()
	sc, h, err := handlerOf(s.cfg.registry, s.cfg.scope)
	if err != nil {
		return fmt.Errorf("start singleton %s: %w", s.cfg.key, err)
	}
	if sc.PID().IsZero() || sc.PID().NodeName() != s.node {
		return fmt.Errorf("start singleton %s: scope %q is another node's registry's", s.cfg.key, s.cfg.scope)
	}
	s.scope, s.h = sc, h
	for _, pid := range s.cfg.subscribers {
		s.subscribe(ctx, pid)
	}
	self, key := ctx.Self(), s.cfg.key
	h.watch(key, self)
	// A Kill ends this process without running any of its code: its
	// entries in instances and in the handler's watchers go when it
	// exits, however it exits.
	exited := ctx.Node().WatchExit(self)
	go func() {
		<-exited
		instances.Delete(self)
		h.unwatch(key, self)
	}()
	s.emit(ctx, Event{Kind: Waiting})
	s.claim(ctx)
	return nil
}

// Receive handles claims, freeings, exits and subscriptions.
func (s *hlSingleton) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case claimMsg:
		if s.state == watching {
			s.claim(ctx)
		}
	case recheckMsg:
		switch {
		case m.gen != s.gen:
		case s.state == watching:
			s.claim(ctx)
		case s.state == running:
			s.recheckHeld(ctx, m.again)
		}
	case settledMsg:
		if s.state == claiming && m.gen == s.gen {
			return s.settled(ctx)
		}
	case freedMsg:
		s.freed(ctx, m)
	case actor.Exit:
		switch {
		case !s.childPID.IsZero() && m.From == s.childPID:
			s.childPID = actor.PID{}
			instances.Delete(ctx.Self())
			s.giveUp(ctx)
			s.log.Info().Str("event", "released").AnErr("reason", m.Reason).Msg("singleton child exited; key given up")
			s.emit(ctx, Event{Kind: Released, Err: m.Reason})
			return m.Reason
		case m.From == ctx.Parent():
			s.stopChild(ctx)
			s.giveUp(ctx)
			s.log.Info().Str("event", "released").AnErr("reason", m.Reason).Msg("singleton stopped; key given up")
			s.emit(ctx, Event{Kind: Released})
			return m.Reason
		}
	case actor.Down:
		s.down(m)
	case *actor.Request:
		s.request(ctx, m)
	}
	return nil
}

// claim registers the key to this process; it moves to claiming, or stays
// watching when another holds the key.
func (s *hlSingleton) claim(ctx *actor.Context) {
	s.gen++
	rctx, cancel := context.WithTimeout(ctx, registryTimeout)
	err := s.scope.Register(rctx, s.cfg.key, ctx.Self(), nil)
	cancel()
	var ne *registry.NameError
	switch {
	case err == nil:
		s.state = claiming
		s.log.Debug().Str("event", "claimed").Dur("settle", claimSettle).Msg("singleton key claimed; child starts once the claim settles")
		ctx.SendAfter(ctx.Self(), settledMsg{gen: s.gen}, claimSettle)
	case errors.As(err, &ne) && errors.Is(err, registry.ErrTaken):
		if ne.Holder != s.holder {
			s.holder = ne.Holder
			s.previous, s.sawHolder = ne.Holder.NodeName(), true
			s.log.Debug().Str("event", "watching").Str("holder_node", s.previous).Stringer("holder", ne.Holder).
				Str("why", "key held").Msg("singleton watching the holder")
		}
		ctx.SendAfter(ctx.Self(), recheckMsg{gen: s.gen}, recheckEvery)
	default:
		s.log.Debug().Err(err).Str("why", "claim failed").Msg("singleton claim failed; retrying")
		ctx.SendAfter(ctx.Self(), recheckMsg{gen: s.gen}, retryEvery)
	}
}

// settled starts the child if the claim is still this process's.
func (s *hlSingleton) settled(ctx *actor.Context) error {
	if pid, _, err := s.scope.Lookup(s.cfg.key); err != nil || pid != ctx.Self() {
		// The freeing of the claim is on its way (or came already).
		s.toWatching(ctx, "claim lost while settling")
		return nil
	}
	kind := Acquired
	if s.sawHolder {
		kind = Takeover
	}
	pid, err := callStart(ctx, s.child.Start)
	if err == nil && pid.IsZero() {
		err = actor.Ignore
	}
	if err != nil {
		s.giveUp(ctx)
		if errors.Is(err, actor.Ignore) {
			s.log.Info().Str("event", "released").Msg("singleton child declined to start; key given up")
			s.emit(ctx, Event{Kind: Released})
			return actor.Normal
		}
		s.log.Error().Err(err).Msg("singleton child failed to start; key given up")
		s.emit(ctx, Event{Kind: Released, Err: err})
		return fmt.Errorf("start singleton child %s: %w", s.child.ID, err)
	}
	ctx.Link(pid)
	s.childPID = pid
	s.state = running
	rctx, cancel := context.WithTimeout(ctx, registryTimeout)
	instances.Store(ctx.Self(), pid)
	err = s.scope.Register(rctx, s.cfg.key, ctx.Self(), wrapperspb.Bytes(instanceMeta(pid)))
	cancel()
	if err != nil {
		// Lost between the Lookup and here: the freeing follows and stops
		// the child.
		s.log.Debug().Err(err).Str("why", "publishing the instance failed").Msg("singleton could not publish its instance")
	}
	ev := s.log.Info().Str("event", kind.String()).Stringer("child", pid)
	if kind == Takeover {
		ev = ev.Str("previous", s.previous)
	}
	ev.Msg("singleton key held; child started")
	s.emit(ctx, Event{Kind: kind, Previous: s.previousIf(kind)})
	ctx.SendAfter(ctx.Self(), recheckMsg{gen: s.gen}, recheckEvery)
	return nil
}

// recheckHeld looks the key up while the child runs, in case the
// freeing of this process's claim was missed (the scope's event process
// restarted): a holder that missed it would run its child beside the
// new holder's for good. A claim found gone is looked at again after
// retryEvery, so that a notice on its way (which says why: a conflict,
// most often) is handled first; gone still, the child is stopped. A key
// still its own is checked again later.
func (s *hlSingleton) recheckHeld(ctx *actor.Context, again bool) {
	if pid, _, err := s.scope.Lookup(s.cfg.key); err != nil || pid != ctx.Self() {
		if !again {
			ctx.SendAfter(ctx.Self(), recheckMsg{gen: s.gen, again: true}, retryEvery)
			return
		}
		s.log.Debug().Str("event", "freed").Str("why", "claim gone at the recheck").
			Msg("singleton found its claim gone without a notice")
		s.freed(ctx, freedMsg{pid: ctx.Self(), reason: registry.Undefined{}})
		return
	}
	ctx.SendAfter(ctx.Self(), recheckMsg{gen: s.gen}, recheckEvery)
}

func (s *hlSingleton) previousIf(k EventKind) string {
	if k == Takeover {
		return s.previous
	}
	return ""
}

// freed handles the freeing of the key on this node: this process's own
// claim was dropped (a conflict lost, most often), or the holder's.
func (s *hlSingleton) freed(ctx *actor.Context, m freedMsg) {
	if m.pid != ctx.Self() {
		if s.state != watching {
			return
		}
		s.holder = actor.PID{}
		if _, conflict := m.reason.(registry.ConflictResolution); conflict {
			// Another node's claim won: the loser's owner removed its
			// claim and told every peer, but the winner's claim comes
			// from the winner's node, over another session, and may
			// reach this node later (right after a heal, it waits for
			// that session). Claiming in that gap would start a third
			// instance once the claim settled. The winner holds the key;
			// look again at the next recheck.
			s.gen++
			s.log.Debug().Str("event", "freed").Str("holder_node", m.pid.NodeName()).Stringer("why", m.reason).
				Dur("recheck", recheckEvery).Msg("singleton key freed by a conflict; the winner holds it, checking again later")
			ctx.SendAfter(ctx.Self(), recheckMsg{gen: s.gen}, recheckEvery)
			return
		}
		s.log.Debug().Str("event", "freed").Str("holder_node", m.pid.NodeName()).Stringer("why", m.reason).
			Msg("singleton key freed; claiming")
		s.claim(ctx)
		return
	}
	if s.state == watching {
		return
	}
	if pid, _, err := s.scope.Lookup(s.cfg.key); err == nil && pid == ctx.Self() {
		// The table changes before the handler hears of it: this is the
		// late notice of an earlier claim's freeing, seen gone by
		// settled and claimed again since; the key is this process's.
		s.log.Debug().Str("event", "freed").Stringer("why", m.reason).
			Msg("singleton ignored the late freeing of an earlier claim; the key is held")
		return
	}
	_, conflict := m.reason.(registry.ConflictResolution)
	was := s.state
	s.stopChild(ctx)
	kind, err := Lost, fmt.Errorf("%w: %v", ErrKeyLost, m.reason)
	if conflict {
		kind, err = Conflict, fmt.Errorf("%w: another node's instance has served longer", ErrKeyLost)
	}
	holder := ""
	if pid, _, lerr := s.scope.Lookup(s.cfg.key); lerr == nil {
		holder = pid.NodeName()
	}
	s.log.Info().Str("event", kind.String()).Str("why", m.reason.String()).Str("holder_node", holder).
		Bool("child_was_running", was == running).Msg("singleton key lost; child stopped")
	s.emit(ctx, Event{Kind: kind, Previous: holder, Err: err})
	s.toWatching(ctx, "key lost")
}

// toWatching goes back to watching and claims again (the key may be
// free already).
func (s *hlSingleton) toWatching(ctx *actor.Context, why string) {
	s.state = watching
	s.gen++
	s.emit(ctx, Event{Kind: Waiting})
	s.log.Debug().Str("event", "waiting").Str("why", why).Msg("singleton watching the key again")
	_ = ctx.Send(ctx.Self(), claimMsg{})
}

// giveUp drops the claim, if any, and stops watching.
func (s *hlSingleton) giveUp(ctx *actor.Context) {
	s.h.unwatch(s.cfg.key, ctx.Self())
	if s.state != watching {
		rctx, cancel := context.WithTimeout(ctx, registryTimeout)
		_ = s.scope.Unregister(rctx, s.cfg.key, ctx.Self())
		cancel()
	}
	s.state = watching
}

// stopChild stops the child, if it runs, within its shutdown limit, as a
// supervisor does: actor.Shutdown (Kill for BrutalKill), Kill at the
// limit, then up to supervision.KillWait for the kill to take effect.
func (s *hlSingleton) stopChild(ctx *actor.Context) {
	pid := s.childPID
	if pid.IsZero() {
		return
	}
	s.childPID = actor.PID{}
	instances.Delete(ctx.Self())
	exited := ctx.Node().WatchExit(pid)
	ctx.Unlink(pid)
	if s.limit == supervision.BrutalKill {
		ctx.Exit(pid, actor.Kill)
	} else {
		ctx.Exit(pid, actor.Shutdown)
	}
	if s.limit == supervision.Infinity {
		<-exited
		return
	}
	if s.limit != supervision.BrutalKill {
		t := time.NewTimer(time.Duration(s.limit))
		select {
		case <-exited:
			t.Stop()
			return
		case <-t.C:
		}
		s.log.Warn().Stringer("child", pid).Stringer("shutdown", s.limit).Msg("singleton child did not stop within its shutdown limit; killed")
		ctx.Exit(pid, actor.Kill)
	}
	t := time.NewTimer(supervision.KillWait)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		s.log.Error().Stringer("child", pid).Msg("singleton child still alive after kill; abandoned")
	}
}

// emit sends ev, stamped with the key and this node, to the subscribers.
func (s *hlSingleton) emit(ctx *actor.Context, ev Event) {
	s.subscribers.emit(ctx, s.cfg.key, s.node, ev)
}

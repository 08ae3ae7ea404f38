package kv

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/supervision"
)

// EventKind says what happened to a bucket.
type EventKind uint8

const (
	// Created: the registry created the bucket.
	Created EventKind = iota + 1
	// Exited: the bucket's process exited (stopped or crashed) and the
	// registry forgot it.
	Exited
)

func (k EventKind) String() string {
	switch k {
	case Created:
		return "create"
	case Exited:
		return "exit"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is what the registry announces on the event manager, the seed's
// {:create, name, pid} and {:exit, name, pid}.
type Event struct {
	Kind   EventKind
	Name   string
	Bucket actor.PID
}

// Registry is the handle of the registry process (the seed's KV.Registry):
// a GenServer mapping bucket names to buckets. It creates buckets through
// the bucket supervisor, monitors them and forgets a bucket when its process
// exits, and tells the event manager about both.
type Registry struct{ pid actor.PID }

// RegistryOf wraps the PID of a running registry.
func RegistryOf(pid actor.PID) Registry { return Registry{pid: pid} }

// FindRegistry returns the registry of the kv application on node n, by
// its name RegistryName. It returns actor.ErrUnknownName if it is not
// running.
func FindRegistry(n *actor.Node) (Registry, error) {
	pid, ok := n.WhereIs(RegistryName)
	if !ok {
		return Registry{}, fmt.Errorf("find kv registry %q: %w", RegistryName, actor.ErrUnknownName)
	}
	return Registry{pid: pid}, nil
}

// PID returns the registry's process.
func (r Registry) PID() actor.PID { return r.pid }

// Registry requests.
type (
	createReq struct{ name string }
	lookupReq struct{ name string }
	dropReq   struct{ name string }
	namesReq  struct{}
)

// registryState is the registry's state, owned by its process.
type registryState struct {
	names   map[string]entry
	refs    map[actor.Ref]string
	max     int
	events  behaviour.EventManager[Event]
	buckets supervision.DynamicSupervisor[struct{}]
}

// entry is a named bucket and the registry's monitor of it.
type entry struct {
	pid actor.PID
	ref actor.Ref
}

// registryServer is the registry's GenServer.
type registryServer struct {
	cfg     Config
	events  behaviour.EventManager[Event]
	buckets supervision.DynamicSupervisor[struct{}]
}

func (r registryServer) Init(*actor.Context) (*registryState, error) {
	return &registryState{
		names:   map[string]entry{},
		refs:    map[actor.Ref]string{},
		max:     r.cfg.withDefaults().MaxBuckets,
		events:  r.events,
		buckets: r.buckets,
	}, nil
}

// StartRegistry starts a registry from sp that creates buckets with
// buckets and announces them on events (the seed's
// KV.Registry.start_link(manager, sup)), holding at most cfg.MaxBuckets
// buckets. Options: behaviour.WithName. It returns the spawn errors of
// behaviour.Start.
func StartRegistry(sp actor.Spawner, events behaviour.EventManager[Event], buckets supervision.DynamicSupervisor[struct{}], cfg Config, opts ...behaviour.Option) (Registry, error) {
	pid, err := behaviour.Start[*registryState](sp, registryServer{cfg: cfg, events: events, buckets: buckets}, opts...)
	return Registry{pid: pid}, err
}

// startRegistryLink starts the registry of the tree, linked to ctx (the
// top supervisor). It finds the event manager and the bucket supervisor by
// name each time, so a restarted registry uses the ones running.
func startRegistryLink(ctx *actor.Context, cfg Config) (actor.PID, error) {
	events, ok := ctx.Node().WhereIs(EventsName)
	if !ok {
		return actor.PID{}, fmt.Errorf("kv registry: event manager %q: %w", EventsName, actor.ErrUnknownName)
	}
	buckets, ok := ctx.Node().WhereIs(BucketsName)
	if !ok {
		return actor.PID{}, fmt.Errorf("kv registry: bucket supervisor %q: %w", BucketsName, actor.ErrUnknownName)
	}
	srv := registryServer{
		cfg:     cfg,
		events:  behaviour.EventManagerOf[Event](events),
		buckets: supervision.DynamicOf[struct{}](buckets),
	}
	return behaviour.StartLink[*registryState](ctx, srv, behaviour.WithName(RegistryName))
}

// created is the answer to createReq.
type created struct {
	bucket actor.PID
	err    error
}

func (registryServer) HandleCall(ctx *actor.Context, _ behaviour.From, req any, s *registryState) behaviour.Result[*registryState] {
	switch r := req.(type) {
	case createReq:
		if e, ok := s.names[r.name]; ok {
			return behaviour.Reply(created{bucket: e.pid}, s)
		}
		if len(s.names) >= s.max {
			return behaviour.Reply(created{err: fmt.Errorf("create bucket %q: %w (at most %d)", r.name, ErrTooManyBuckets, s.max)}, s)
		}
		pid, err := s.buckets.StartChild(ctx, struct{}{})
		if err != nil {
			return behaviour.Reply(created{err: fmt.Errorf("kv: create bucket %q: %w", r.name, err)}, s)
		}
		ref := ctx.Monitor(pid)
		s.refs[ref] = r.name
		s.names[r.name] = entry{pid: pid, ref: ref}
		s.notify(ctx, Event{Kind: Created, Name: r.name, Bucket: pid})
		return behaviour.Reply(created{bucket: pid}, s)
	case lookupReq:
		return behaviour.Reply(s.names[r.name].pid, s)
	case dropReq:
		e, ok := s.names[r.name]
		if !ok {
			return behaviour.Reply(dropped{}, s)
		}
		// Forget the bucket first: its Down is not wanted any more, and
		// the name is free again when Drop returns.
		ctx.Demonitor(e.ref)
		delete(s.refs, e.ref)
		delete(s.names, r.name)
		err := s.buckets.TerminateChild(ctx, e.pid)
		if errors.Is(err, supervision.ErrNotFound) {
			err = nil // it exited on its own meanwhile
		}
		if err != nil {
			err = fmt.Errorf("kv: drop bucket %q: %w", r.name, err)
		}
		s.notify(ctx, Event{Kind: Exited, Name: r.name, Bucket: e.pid})
		return behaviour.Reply(dropped{found: true, err: err}, s)
	case namesReq:
		names := make([]string, 0, len(s.names))
		for n := range s.names {
			names = append(names, n)
		}
		return behaviour.Reply(names, s)
	}
	return behaviour.Reply(fmt.Errorf("kv: unknown registry request %T", req), s)
}

func (registryServer) HandleInfo(ctx *actor.Context, msg any, s *registryState) behaviour.Result[*registryState] {
	if d, ok := msg.(actor.Down); ok {
		if name, ok := s.refs[d.Ref]; ok {
			delete(s.refs, d.Ref)
			delete(s.names, name)
			s.notify(ctx, Event{Kind: Exited, Name: name, Bucket: d.PID})
		}
	}
	return behaviour.NoReply(s)
}

// dropped is the answer to dropReq.
type dropped struct {
	found bool
	err   error
}

// notify tells the handlers without waiting for them (gen_event's notify):
// a slow handler delays only the event manager, never the registry and the
// clients waiting on it. An event manager that is gone (being restarted)
// misses the event; the registry goes on.
func (s *registryState) notify(ctx *actor.Context, e Event) {
	if err := s.events.Notify(ctx, e); err != nil {
		ctx.Logger().Warn().Err(err).Stringer("event", e.Kind).Str("bucket", e.Name).Msg("kv registry could not notify")
	}
}

// Create returns the bucket called name, creating it under the bucket
// supervisor if there is none (the seed's KV.Registry.create). It returns
// an error wrapping ErrTooManyBuckets if the registry holds
// Config.MaxBuckets buckets already, an error wrapping the bucket
// supervisor's if the bucket cannot start, and a *actor.CallError if the
// registry does not answer in time.
func (r Registry) Create(ctx context.Context, name string) (Bucket, error) {
	c, err := behaviour.CallAs[created](ctx, r.pid, createReq{name: name})
	if err != nil {
		return Bucket{}, err
	}
	return Bucket{pid: c.bucket}, c.err
}

// Lookup returns the bucket called name and whether there is one (the
// seed's KV.Registry.lookup). It returns a *actor.CallError if the
// registry does not answer in time.
func (r Registry) Lookup(ctx context.Context, name string) (Bucket, bool, error) {
	pid, err := behaviour.CallAs[actor.PID](ctx, r.pid, lookupReq{name: name})
	return Bucket{pid: pid}, !pid.IsZero(), err
}

// Drop stops the bucket called name and forgets it, and reports whether
// there was one; its Exited event follows. The name is free again when
// Drop returns. It returns a *actor.CallError if the registry does not
// answer in time, or an error wrapping the bucket supervisor's if the
// bucket could not be stopped (it is forgotten all the same).
func (r Registry) Drop(ctx context.Context, name string) (bool, error) {
	d, err := behaviour.CallAs[dropped](ctx, r.pid, dropReq{name: name})
	if err != nil {
		return false, err
	}
	return d.found, d.err
}

// Names returns the names of the buckets, in no order. Errors as Lookup.
func (r Registry) Names(ctx context.Context) ([]string, error) {
	return behaviour.CallAs[[]string](ctx, r.pid, namesReq{})
}

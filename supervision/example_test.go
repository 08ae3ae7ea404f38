package supervision_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/rs/zerolog"
)

// The KV application of Elixir's "Supervisor and Application" guide: a
// one_for_one KV.Supervisor over an event manager, a dynamic supervisor of
// temporary buckets, and a registry that creates buckets through it and
// monitors them.

// bucket is a GenServer holding a map.
type bucket struct{}

type (
	put struct {
		key string
		val int
	}
	get struct{ key string }
)

func (bucket) Init(*actor.Context) (map[string]int, error) { return map[string]int{}, nil }

func (bucket) HandleCall(_ *actor.Context, _ behaviour.From, req any, s map[string]int) behaviour.Result[map[string]int] {
	switch r := req.(type) {
	case put:
		s[r.key] = r.val
		return behaviour.Reply(nil, s)
	case get:
		return behaviour.Reply(s[r.key], s)
	}
	return behaviour.Reply(nil, s)
}

// kvEvent is what the registry announces on the event manager.
type kvEvent struct{ kind, name string }

// kvRegistry maps bucket names to bucket processes.
type kvRegistry struct{}

type regState struct {
	names   map[string]actor.PID
	refs    map[actor.Ref]string
	events  behaviour.EventManager[kvEvent]
	buckets supervision.DynamicSupervisor[struct{}]
}

type (
	create struct{ name string }
	lookup struct{ name string }
)

func (kvRegistry) Init(ctx *actor.Context) (*regState, error) {
	events, _ := ctx.Node().WhereIs("kv.events")
	buckets, _ := ctx.Node().WhereIs("kv.buckets")
	return &regState{
		names:   map[string]actor.PID{},
		refs:    map[actor.Ref]string{},
		events:  behaviour.EventManagerOf[kvEvent](events),
		buckets: supervision.DynamicOf[struct{}](buckets),
	}, nil
}

func (kvRegistry) HandleCall(ctx *actor.Context, _ behaviour.From, req any, s *regState) behaviour.Result[*regState] {
	switch r := req.(type) {
	case create:
		if _, ok := s.names[r.name]; ok {
			return behaviour.Reply(nil, s)
		}
		pid, err := s.buckets.StartChild(ctx, struct{}{})
		if err != nil {
			return behaviour.Reply(err, s)
		}
		s.refs[ctx.Monitor(pid)] = r.name
		s.names[r.name] = pid
		_ = s.events.SyncNotify(ctx, kvEvent{"create", r.name})
		return behaviour.Reply(nil, s)
	case lookup:
		pid, ok := s.names[r.name]
		if !ok {
			return behaviour.Reply(nil, s)
		}
		return behaviour.Reply(pid, s)
	}
	return behaviour.Reply(nil, s)
}

func (kvRegistry) HandleInfo(ctx *actor.Context, msg any, s *regState) behaviour.Result[*regState] {
	if d, ok := msg.(actor.Down); ok {
		name := s.refs[d.Ref]
		delete(s.refs, d.Ref)
		delete(s.names, name)
		_ = s.events.SyncNotify(ctx, kvEvent{"exit", name})
	}
	return behaviour.NoReply(s)
}

// forwarder is an event handler that passes events to a channel.
type forwarder chan kvEvent

func (f forwarder) HandleEvent(e kvEvent) error { f <- e; return nil }

func Example_kvSupervisor() {
	n := actor.NewNode(actor.WithLogger(zerolog.Nop()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer func() { _ = n.Stop(ctx) }()

	// KV.Supervisor: the bucket supervisor must start before the registry,
	// which looks it up by name.
	sup, err := supervision.Start(n, []supervision.ChildSpec{
		{ID: "event_manager", Start: func(c *actor.Context) (actor.PID, error) {
			m, err := behaviour.StartEventManagerLink[kvEvent](c, behaviour.WithName("kv.events"))
			return m.PID(), err
		}},
		supervision.DynamicSpec("bucket_supervisor", supervision.Template[struct{}]{
			Restart: supervision.Temporary,
			Start: func(c *actor.Context, _ struct{}) (actor.PID, error) {
				return behaviour.StartLink[map[string]int](c, bucket{})
			},
		}, supervision.WithName("kv.buckets")),
		{ID: "registry", Start: func(c *actor.Context) (actor.PID, error) {
			return behaviour.StartLink[*regState](c, kvRegistry{}, behaviour.WithName("kv.registry"))
		}},
	}, supervision.WithStrategy(supervision.OneForOne))
	if err != nil {
		fmt.Println("start:", err)
		return
	}

	events := make(forwarder, 8)
	em, _ := n.WhereIs("kv.events")
	_ = behaviour.EventManagerOf[kvEvent](em).AddHandler(ctx, "forwarder", events)

	registry, _ := n.WhereIs("kv.registry")
	_, _ = behaviour.Call(ctx, registry, create{"shopping"})
	fmt.Println("event:", (<-events).kind)
	b, _ := behaviour.CallAs[actor.PID](ctx, registry, lookup{"shopping"})
	_, _ = behaviour.Call(ctx, b, put{"eggs", 3})
	eggs, _ := behaviour.CallAs[int](ctx, b, get{"eggs"})
	fmt.Println("eggs:", eggs)

	// A bucket that stops is forgotten by the registry and not restarted.
	_ = n.Exit(b, actor.Shutdown)
	e := <-events
	fmt.Println("event:", e.kind, e.name)
	gone, _ := behaviour.CallAs[actor.PID](ctx, registry, lookup{"shopping"})
	fmt.Println("shopping found:", !gone.IsZero())

	list, _ := supervision.WhichChildren(ctx, sup)
	for _, c := range list {
		fmt.Println(c.ID, c.Type, c.State)
	}
	fmt.Println("stop:", supervision.Stop(ctx, n, sup))
	// Output:
	// event: create
	// eggs: 3
	// event: exit shopping
	// shopping found: false
	// event_manager worker running
	// bucket_supervisor supervisor running
	// registry worker running
	// stop: <nil>
}

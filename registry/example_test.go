package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry"
)

func exampleNode() *actor.Node {
	return actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
}

// idle is a process that does nothing.
type idle struct{}

func (idle) Receive(*actor.Context, any) error { return nil }

// Register a process under a name, look it up, and see the name go when
// the process exits.
func Example() {
	ctx := context.Background()
	node := exampleNode()
	defer node.Stop(ctx)

	reg := registry.New(node)
	if err := reg.AddScope("users"); err != nil {
		fmt.Println(err)
		return
	}
	alice, _ := node.Spawn(idle{})
	bob, _ := node.Spawn(idle{})

	_ = reg.Register(ctx, "users", "alice", alice, "admin")
	pid, meta, _ := reg.Lookup("users", "alice")
	fmt.Println(pid == alice, meta)

	err := reg.Register(ctx, "users", "alice", bob, nil)
	var ne *registry.NameError
	fmt.Println(errors.Is(err, registry.ErrTaken), errors.As(err, &ne) && ne.Holder == alice)

	exited := node.WatchExit(alice)
	_ = node.Exit(alice, actor.Kill)
	<-exited
	_, _, err = reg.Lookup("users", "alice")
	fmt.Println(err)
	// Output:
	// true admin
	// true true
	// registry: lookup name "alice" in scope "users": name not registered
}

// Gather processes in a group and publish to them.
// MembersSeq ranges over a group's members without a slice to share.
func ExampleScope_MembersSeq() {
	ctx := context.Background()
	node := exampleNode()
	defer node.Stop(ctx)

	reg := registry.New(node)
	_ = reg.AddScope("chat")
	room, _ := reg.Scope("chat")
	for _, nick := range []string{"ann", "bo", "cy"} {
		pid, _ := node.Spawn(idle{})
		_ = room.Join(ctx, "room/7", pid, nick)
	}
	var nicks []string
	for m := range room.MembersSeq("room/7") {
		nicks = append(nicks, m.Meta.(string))
	}
	slices.Sort(nicks)
	fmt.Println(nicks)
	// Output:
	// [ann bo cy]
}

func ExampleScope_Publish() {
	ctx := context.Background()
	node := exampleNode()
	defer node.Stop(ctx)

	reg := registry.New(node)
	_ = reg.AddScope("chat")
	room, _ := reg.Scope("chat")

	var inboxes []*actor.Inbox
	for i := range 3 {
		ib, _ := node.NewInbox()
		inboxes = append(inboxes, ib)
		_ = room.Join(ctx, "lobby", ib.PID(), fmt.Sprint("user", i))
	}
	fmt.Println("members:", room.MemberCount("lobby"), "groups:", room.GroupNames())
	fmt.Println("delivered to", room.Publish(ctx, "lobby", "hello"))
	for _, ib := range inboxes {
		msg, _ := ib.Receive(ctx)
		fmt.Println(msg)
	}
	// Output:
	// members: 3 groups: [lobby]
	// delivered to 3
	// hello
	// hello
	// hello
}

// kv is a GenServer holding one value.
type kv struct{}

type set struct{ v string }

func (kv) Init(*actor.Context) (string, error) { return "", nil }

func (kv) HandleCall(_ *actor.Context, _ behaviour.From, req any, v string) behaviour.Result[string] {
	return behaviour.Reply(v, v)
}

func (kv) HandleCast(_ *actor.Context, msg any, v string) behaviour.Result[string] {
	return behaviour.NoReply(msg.(set).v)
}

// Start a GenServer under a registry name and talk to it by name.
func ExampleVia() {
	ctx := context.Background()
	node := exampleNode()
	defer node.Stop(ctx)

	reg := registry.New(node)
	_ = reg.AddScope("svc")
	if _, err := behaviour.Start(node, kv{}, registry.Via("svc", "config")); err != nil {
		fmt.Println(err)
		return
	}
	ctx = actor.WithNode(ctx, node) // the node whose scopes Call and Cast use
	_ = registry.Cast(ctx, "svc", "config", set{"blue"})
	v, _ := registry.Call(ctx, "svc", "config", "get")
	fmt.Println(v)

	_, err := behaviour.Start(node, kv{}, registry.Via("svc", "config"))
	fmt.Println(errors.Is(err, registry.ErrTaken))
	// Output:
	// blue
	// true
}

// audit prints the registry events it implements callbacks for.
type audit struct{ seen chan<- string }

func (a audit) OnProcessRegistered(scope, name string, _ actor.PID, meta any, reason registry.Reason) {
	a.seen <- fmt.Sprintf("registered %s/%s meta=%v (%s)", scope, name, meta, reason)
}

func (a audit) OnProcessUnregistered(scope, name string, _ actor.PID, _ any, reason registry.Reason) {
	a.seen <- fmt.Sprintf("unregistered %s/%s (%s)", scope, name, reason)
}

// Observe registrations with an event handler; a crash carries its reason.
func ExampleWithEventHandler() {
	ctx := context.Background()
	node := exampleNode()
	defer node.Stop(ctx)

	seen := make(chan string, 8)
	reg := registry.New(node)
	_ = reg.AddScope("jobs", registry.WithEventHandler(audit{seen}))

	worker, _ := node.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		return msg.(error) // exit with the error it is sent
	}))
	_ = reg.Register(ctx, "jobs", "job-1", worker, 1)
	fmt.Println(<-seen)
	_ = node.Send(worker, errors.New("disk full"))
	fmt.Println(<-seen)
	// Output:
	// registered jobs/job-1 meta=1 (normal)
	// unregistered jobs/job-1 (exit: disk full)
}

// firstComeFirstServed is an event handler for a replicated scope: it
// keeps the older of two registrations of one name (Syn's default keeps
// the newer) and logs the registrations that conflicts remove.
type firstComeFirstServed struct{}

// ResolveRegistryConflict runs on the two nodes that own a and b, which
// pass them in the same order: the answer is the same on both.
func (firstComeFirstServed) ResolveRegistryConflict(_, _ string, a, b registry.Registration) actor.PID {
	if a.Time <= b.Time {
		return a.PID
	}
	return b.PID
}

func (firstComeFirstServed) OnProcessUnregistered(scope, name string, pid actor.PID, _ any, reason registry.Reason) {
	if _, ok := reason.(registry.ConflictResolution); ok {
		fmt.Printf("%s/%s: %v lost a conflict and keeps running\n", scope, name, pid)
	}
}

// A scope replicated across the nodes of a cluster, with a handler that
// sees conflicts: the same name registered on two nodes during a netsplit
// is resolved when it heals. (No output is checked: a cluster needs one
// node per OS process; the registry package's tests run such clusters.)
func ExampleNewCluster() {
	ctx := context.Background()
	c, err := cluster.Start(ctx, "api",
		cluster.WithListenAddr("127.0.0.1:7400"),
		cluster.WithProvider(cluster.Static("api@127.0.0.1:7401")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(ctx)
	reg := registry.NewCluster(c)
	if err := reg.AddScope("jobs", registry.WithEventHandler(firstComeFirstServed{})); err != nil {
		fmt.Println(err)
		return
	}
	worker, _ := c.Node().Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	// Metadata crosses the wire: a proto.Message or nil.
	err = reg.Register(ctx, "jobs", "nightly-report", worker, wrapperspb.String("v2"))
	fmt.Println(err)
}

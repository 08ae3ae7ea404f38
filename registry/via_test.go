package registry_test

import (
	"errors"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/registry"
)

// counter is a GenServer whose state is a count.
type counter struct{ initErr error }

type (
	get  struct{}
	incr struct{}
)

func (c counter) Init(*actor.Context) (int, error) { return 0, c.initErr }

func (counter) HandleCall(_ *actor.Context, _ behaviour.From, req any, n int) behaviour.Result[int] {
	return behaviour.Reply(n, n)
}

func (counter) HandleCast(_ *actor.Context, _ any, n int) behaviour.Result[int] {
	return behaviour.NoReply(n + 1)
}

func (counter) HandleInfo(_ *actor.Context, _ any, n int) behaviour.Result[int] {
	return behaviour.NoReply(n + 10)
}

func TestVia(t *testing.T) {
	n, _, s := newScope(t)
	ctx := actor.WithNode(ctxT(t), n)
	pid, err := behaviour.Start(n, counter{}, registry.Via("s", "counter", registry.WithMeta("m")))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if got, meta, err := s.Lookup("counter"); err != nil || got != pid || meta != "m" {
		t.Fatalf("lookup = %v %v %v", got, meta, err)
	}
	must(t, registry.Cast(ctx, "s", "counter", incr{}))
	must(t, registry.Send(ctx, "s", "counter", "info"))
	if v, err := registry.Call(ctx, "s", "counter", get{}); err != nil || v != 11 {
		t.Fatalf("call = %v %v", v, err)
	}

	// A second server under the same name fails to start; nothing remains.
	before := n.CountProcesses()
	_, err = behaviour.Start(n, counter{}, registry.Via("s", "counter"))
	var ne *registry.NameError
	if !errors.Is(err, registry.ErrTaken) || !errors.As(err, &ne) || ne.Holder != pid {
		t.Fatalf("second start: %v, want ErrTaken held by %v", err, pid)
	}
	if n.CountProcesses() != before {
		t.Fatalf("%d processes, want %d", n.CountProcesses(), before)
	}

	// Stopping the server frees the name.
	must(t, behaviour.StopServer(ctx, n, pid, actor.Normal))
	if _, err := registry.Call(ctx, "s", "counter", get{}); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("call after stop: %v", err)
	}
	if err := registry.Cast(ctx, "s", "counter", incr{}); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("cast after stop: %v", err)
	}
	if err := registry.Send(ctx, "s", "counter", 1); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("send after stop: %v", err)
	}
	if _, err := behaviour.Start(n, counter{}, registry.Via("s", "counter")); err != nil {
		t.Fatalf("restart under the freed name: %v", err)
	}
}

func TestViaInitFails(t *testing.T) {
	n, _, s := newScope(t)
	boom := errors.New("boom")
	if _, err := behaviour.Start(n, counter{initErr: boom}, registry.Via("s", "c")); !errors.Is(err, boom) {
		t.Fatalf("start: %v, want boom", err)
	}
	if _, _, err := s.Lookup("c"); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("lookup after failed init: %v", err)
	}
	if _, err := behaviour.Start(n, counter{}, registry.Via("nope", "c")); !errors.Is(err, registry.ErrUnknownScope) {
		t.Fatalf("unknown scope: %v", err)
	}
}

// A supervisor-style parent starts a linked child under a registry name.
func TestViaStartLink(t *testing.T) {
	n, _, s := newScope(t)
	ctx := actor.WithNode(ctxT(t), n)
	parent, err := n.NewInbox(actor.WithTrapExit())
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	var child actor.PID
	must(t, parent.Do(ctx, func(c *actor.Context) error {
		var err error
		child, err = behaviour.StartLink(c, counter{}, registry.Via("s", "child"))
		return err
	}))
	if pid, _, err := s.Lookup("child"); err != nil || pid != child {
		t.Fatalf("lookup child = %v %v", pid, err)
	}
	if v, err := registry.Call(ctx, "s", "child", get{}); err != nil || v != 0 {
		t.Fatalf("call child = %v %v", v, err)
	}
}

// Via works on a plain process too, and Call, Cast and Send find the scope
// through the node of the context: a process's own *actor.Context, or
// actor.WithNode; a context of no node fails with ErrNoNode.
func TestViaContexts(t *testing.T) {
	n, _, _ := newScope(t)
	ctx := ctxT(t)
	pid, err := n.Spawn(worker{}, registry.Via("s", "w"))
	must(t, err)
	if v, err := registry.Call(actor.WithNode(ctx, n), "s", "w", "hi"); err != nil || v != "hi" {
		t.Fatalf("call = %v %v", v, err)
	}

	caller, err := n.NewInbox()
	must(t, err)
	defer caller.Close()
	must(t, caller.Do(ctx, func(c *actor.Context) error {
		return registry.Send(c, "s", "w", die{actor.Normal})
	}))
	<-n.WatchExit(pid)

	if _, err := registry.Call(ctx, "s", "w", 1); !errors.Is(err, registry.ErrNoNode) {
		t.Fatalf("call without node: %v", err)
	}
	if err := registry.Cast(ctx, "s", "w", 1); !errors.Is(err, registry.ErrNoNode) {
		t.Fatalf("cast without node: %v", err)
	}
	if err := registry.Send(ctx, "s", "w", 1); !errors.Is(err, registry.ErrNoNode) {
		t.Fatalf("send without node: %v", err)
	}
	other := newNode(t) // a node without the scope
	if err := registry.Send(actor.WithNode(ctx, other), "s", "w", 1); !errors.Is(err, registry.ErrUnknownScope) {
		t.Fatalf("send on a node without the scope: %v", err)
	}
}

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
	n, r, s := newScope(t)
	ctx := ctxT(t)
	pid, err := behaviour.Start(n, registry.Via(r, "s", "counter", counter{}, registry.WithMeta("m")))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if got, meta, err := s.Lookup("counter"); err != nil || got != pid || meta != "m" {
		t.Fatalf("lookup = %v %v %v", got, meta, err)
	}
	must(t, r.Cast(ctx, "s", "counter", incr{}))
	must(t, r.Send(ctx, "s", "counter", "info"))
	if v, err := r.Call(ctx, "s", "counter", get{}); err != nil || v != 11 {
		t.Fatalf("call = %v %v", v, err)
	}

	// A second server under the same name fails to start; nothing remains.
	before := n.CountProcesses()
	_, err = behaviour.Start(n, registry.Via(r, "s", "counter", counter{}))
	var ne *registry.NameError
	if !errors.Is(err, registry.ErrTaken) || !errors.As(err, &ne) || ne.Holder != pid {
		t.Fatalf("second start: %v, want ErrTaken held by %v", err, pid)
	}
	if n.CountProcesses() != before {
		t.Fatalf("%d processes, want %d", n.CountProcesses(), before)
	}

	// Stopping the server frees the name.
	must(t, behaviour.StopServer(ctx, n, pid, actor.Normal))
	if _, err := r.Call(ctx, "s", "counter", get{}); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("call after stop: %v", err)
	}
	if err := r.Cast(ctx, "s", "counter", incr{}); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("cast after stop: %v", err)
	}
	if err := r.Send(ctx, "s", "counter", 1); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("send after stop: %v", err)
	}
	if _, err := behaviour.Start(n, registry.Via(r, "s", "counter", counter{})); err != nil {
		t.Fatalf("restart under the freed name: %v", err)
	}
}

func TestViaInitFails(t *testing.T) {
	n, r, s := newScope(t)
	boom := errors.New("boom")
	if _, err := behaviour.Start(n, registry.Via(r, "s", "c", counter{initErr: boom})); !errors.Is(err, boom) {
		t.Fatalf("start: %v, want boom", err)
	}
	if _, _, err := s.Lookup("c"); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("lookup after failed init: %v", err)
	}
	if _, err := behaviour.Start(n, registry.Via(r, "nope", "c", counter{})); !errors.Is(err, registry.ErrUnknownScope) {
		t.Fatalf("unknown scope: %v", err)
	}
}

// A supervisor-style parent starts a linked child under a registry name.
func TestViaStartLink(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	parent, err := n.NewInbox(actor.WithTrapExit())
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	var child actor.PID
	must(t, parent.Do(ctx, func(c *actor.Context) error {
		var err error
		child, err = behaviour.StartLink(c, registry.Via(r, "s", "child", counter{}))
		return err
	}))
	if pid, _, err := s.Lookup("child"); err != nil || pid != child {
		t.Fatalf("lookup child = %v %v", pid, err)
	}
	if v, err := r.Call(ctx, "s", "child", get{}); err != nil || v != 0 {
		t.Fatalf("call child = %v %v", v, err)
	}
}

// bare implements only Init: the via wrapper must behave as the bare
// server does for the callbacks it lacks.
type bare struct{}

func (bare) Init(*actor.Context) (int, error) { return 0, nil }

func TestViaMissingHandlers(t *testing.T) {
	n, r, _ := newScope(t)
	ctx := ctxT(t)
	pid, err := behaviour.Start(n, registry.Via(r, "s", "bare", bare{}))
	must(t, err)
	must(t, r.Send(ctx, "s", "bare", "dropped")) // logged and dropped
	exited := n.WatchExit(pid)
	must(t, r.Cast(ctx, "s", "bare", 1))
	if reason := <-exited; !errors.Is(reason, behaviour.ErrNoHandler) {
		t.Fatalf("exit %v, want ErrNoHandler", reason)
	}
}

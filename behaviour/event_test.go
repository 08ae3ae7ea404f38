package behaviour_test

import (
	"errors"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// recorder forwards every event to an inbox and fails on "bad".
type recorder struct {
	to         actor.PID
	node       *actor.Node
	terminated chan error
}

func (r *recorder) HandleEvent(e string) error {
	if e == "bad" {
		return errBoom
	}
	if e == "panic" {
		panic("handler panic")
	}
	return r.node.Send(r.to, e)
}

func (r *recorder) TerminateHandler(reason error) {
	if r.terminated != nil {
		r.terminated <- reason
	}
}

func (r *recorder) HandleCall(req any) (any, error) { return req, nil }

func TestEventManager(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, err := behaviour.StartEventManager[string](n)
	if err != nil {
		t.Fatal(err)
	}
	ib, _ := n.NewInbox()
	a := &recorder{to: ib.PID(), node: n, terminated: make(chan error, 1)}
	if err := m.AddHandler(ctx, "a", a); err != nil {
		t.Fatal(err)
	}
	if err := m.AddHandler(ctx, "a", a); !errors.Is(err, behaviour.ErrHandlerExists) {
		t.Fatalf("duplicate add: %v", err)
	}
	_ = m.Notify(ctx, "one")
	if err := m.SyncNotify(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, ib); got != "one" {
		t.Fatalf("got %v", got)
	}
	if got := recv(t, ib); got != "two" {
		t.Fatalf("got %v", got)
	}
	if v, err := m.CallHandler(ctx, "a", 42); v != 42 || err != nil {
		t.Fatalf("call handler: %v %v", v, err)
	}
	ids, _ := m.WhichHandlers(ctx)
	if len(ids) != 1 || ids[0] != "a" {
		t.Fatalf("handlers %v", ids)
	}
	// A failing handler is removed, the manager survives.
	_ = m.SyncNotify(ctx, "bad")
	if r := <-a.terminated; !errors.Is(r, errBoom) {
		t.Fatalf("terminate reason %v", r)
	}
	ids, _ = m.WhichHandlers(ctx)
	if len(ids) != 0 {
		t.Fatalf("handlers after crash %v", ids)
	}
	if err := m.RemoveHandler(ctx, "a"); !errors.Is(err, behaviour.ErrHandlerNotFound) {
		t.Fatalf("remove missing: %v", err)
	}
	if err := m.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}
}

func TestSupervisedHandler(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner, _ := n.NewInbox()
	sink, _ := n.NewInbox()
	h := &recorder{to: sink.PID(), node: n, terminated: make(chan error, 1)}
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "h", h); err != nil {
		t.Fatal(err)
	}
	// Removal by a panic is reported to the owner.
	_ = m.SyncNotify(ctx, "panic")
	var pe *actor.PanicError
	if r := <-h.terminated; !errors.As(r, &pe) {
		t.Fatalf("terminate reason %v", r)
	}
	msg := recv(t, owner).(behaviour.HandlerRemoved)
	if msg.ID != "h" || msg.Manager != m.PID() || !errors.As(msg.Reason, &pe) {
		t.Fatalf("owner got %+v", msg)
	}
	// The owner's exit removes the handler.
	h2 := &recorder{to: sink.PID(), node: n, terminated: make(chan error, 1)}
	_ = m.AddSupervisedHandler(ctx, owner.PID(), "h2", h2)
	exited := n.WatchExit(owner.PID())
	_ = n.Exit(owner.PID(), errBoom)
	<-exited
	if r := <-h2.terminated; !errors.Is(r, errBoom) {
		t.Fatalf("terminate reason %v", r)
	}
}

// TestSupervisedHandlerManagerKilled: a manager killed without running its
// Terminate still tells the owner of a supervised handler, through the link
// add_sup_handler sets up.
func TestSupervisedHandlerManagerKilled(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner, _ := n.NewInbox(actor.WithTrapExit())
	sink, _ := n.NewInbox()
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "h", &recorder{to: sink.PID(), node: n}); err != nil {
		t.Fatal(err)
	}
	if err := n.Kill(m.PID()); err != nil {
		t.Fatal(err)
	}
	ex, ok := recv(t, owner).(actor.Exit)
	if !ok || ex.From != m.PID() || !errors.Is(ex.Reason, actor.Killed) {
		t.Fatalf("owner got %#v, want the manager's exit", ex)
	}
}

// TestSupervisedHandlerManagerStops: a manager that stops tells each owner
// with HandlerRemoved and unlinks first, so a non-trapping owner lives on.
func TestSupervisedHandlerManagerStops(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner, _ := n.NewInbox()
	sink, _ := n.NewInbox()
	for _, id := range []string{"a", "b"} {
		if err := m.AddSupervisedHandler(ctx, owner.PID(), id, &recorder{to: sink.PID(), node: n}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b", "a"} {
		rm, ok := recv(t, owner).(behaviour.HandlerRemoved)
		if !ok || rm.ID != id || rm.Manager != m.PID() || !errors.Is(rm.Reason, actor.Shutdown) {
			t.Fatalf("owner got %#v", rm)
		}
	}
	// The owner handles a request after the manager's exit: no exit
	// signal killed it.
	if err := owner.Do(ctx, func(*actor.Context) error { return nil }); err != nil {
		t.Fatalf("owner after manager stop: %v", err)
	}
}

// TestSupervisedHandlerUnlinksWhenRemoved: once the owner's last handler is
// removed, the manager's death no longer reaches it.
func TestSupervisedHandlerUnlinksWhenRemoved(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner, _ := n.NewInbox()
	sink, _ := n.NewInbox()
	_ = m.AddSupervisedHandler(ctx, owner.PID(), "h", &recorder{to: sink.PID(), node: n})
	if err := m.RemoveHandler(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	if rm := recv(t, owner).(behaviour.HandlerRemoved); !errors.Is(rm.Reason, actor.Normal) {
		t.Fatalf("owner got %#v", rm)
	}
	exited := n.WatchExit(m.PID())
	_ = n.Kill(m.PID())
	<-exited
	if err := owner.Do(ctx, func(*actor.Context) error { return nil }); err != nil {
		t.Fatalf("owner after manager kill: %v", err)
	}
}

// TestSupervisedHandlerNeedsOwner: a zero owner is refused, not taken as an
// unsupervised handler.
func TestSupervisedHandlerNeedsOwner(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	if err := m.AddSupervisedHandler(ctx, actor.PID{}, "h", &recorder{node: n}); !errors.Is(err, behaviour.ErrNoOwner) {
		t.Fatalf("add: %v", err)
	}
	_ = m.AddHandler(ctx, "h", &recorder{node: n})
	if err := m.SwapSupervisedHandler(ctx, actor.PID{}, "h", "h2", &recorder{node: n}); !errors.Is(err, behaviour.ErrNoOwner) {
		t.Fatalf("swap: %v", err)
	}
	if ids, _ := m.WhichHandlers(ctx); len(ids) != 1 || ids[0] != "h" {
		t.Fatalf("handlers %v", ids)
	}
}

// TestSupervisedHandlerKeepsParentLink: a supervised handler owned by the
// manager's parent (the process that called StartEventManagerLink) must not
// cost the manager its parent link when the handler goes: the parent's exit
// still stops the manager.
func TestSupervisedHandlerKeepsParentLink(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	parent, _ := n.NewInbox()
	sink, _ := n.NewInbox()
	var m behaviour.EventManager[string]
	if err := parent.Do(ctx, func(c *actor.Context) (err error) {
		m, err = behaviour.StartEventManagerLink[string](c)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.AddSupervisedHandler(ctx, parent.PID(), "h", &recorder{to: sink.PID(), node: n}); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveHandler(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	exited := n.WatchExit(m.PID())
	if err := n.Exit(parent.PID(), errBoom); err != nil {
		t.Fatal(err)
	}
	select {
	case reason := <-exited:
		if !errors.Is(reason, errBoom) {
			t.Fatalf("manager exited with %v, want the parent's reason", reason)
		}
	case <-ctx.Done():
		t.Fatal("manager outlived its parent: removing the parent's handler unlinked it")
	}
}

// TestEventManagerStopSparesParent: Stop ends the manager with reason
// Normal, as gen_event:stop, so a parent that does not trap exits lives on.
func TestEventManagerStopSparesParent(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	parent, _ := n.NewInbox()
	var m behaviour.EventManager[string]
	if err := parent.Do(ctx, func(c *actor.Context) (err error) {
		m, err = behaviour.StartEventManagerLink[string](c)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	exited := n.WatchExit(m.PID())
	if err := m.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}
	if reason := <-exited; !errors.Is(reason, actor.Normal) {
		t.Fatalf("manager exited with %v, want normal", reason)
	}
	if err := parent.Do(ctx, func(*actor.Context) error { return nil }); err != nil {
		t.Fatalf("parent after the manager's Stop: %v", err)
	}
}

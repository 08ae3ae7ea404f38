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

func TestMonitoredHandler(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner, _ := n.NewInbox()
	sink, _ := n.NewInbox()
	h := &recorder{to: sink.PID(), node: n, terminated: make(chan error, 1)}
	if err := m.AddMonitoredHandler(ctx, owner.PID(), "h", h); err != nil {
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
	_ = m.AddMonitoredHandler(ctx, owner.PID(), "h2", h2)
	exited := n.WatchExit(owner.PID())
	_ = n.Exit(owner.PID(), errBoom)
	<-exited
	if r := <-h2.terminated; !errors.Is(r, errBoom) {
		t.Fatalf("terminate reason %v", r)
	}
}

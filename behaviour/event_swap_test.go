package behaviour_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// baton hands its count over when swapped out and takes one when swapped in.
type baton struct {
	n      int
	prev   any
	refuse bool
}

func (b *baton) HandleEvent(string) error { b.n++; return nil }
func (b *baton) SwapOut() any             { return b.n }
func (b *baton) SwapIn(prev any) error {
	b.prev = prev
	if n, ok := prev.(int); ok {
		b.n = n
	}
	if b.refuse {
		return errBoom
	}
	return nil
}
func (b *baton) HandleCall(any) (any, error) { return b.n, nil }

func TestSwapHandlerHandsOver(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	sink, _ := n.NewInbox()
	_ = m.AddHandler(ctx, "first", &recorder{to: sink.PID(), node: n})
	_ = m.AddHandler(ctx, "old", &baton{})
	_ = m.AddHandler(ctx, "last", &recorder{to: sink.PID(), node: n})
	_ = m.SyncNotify(ctx, "a")
	_ = m.SyncNotify(ctx, "b")
	if err := m.SwapHandler(ctx, "old", "new", &baton{}); err != nil {
		t.Fatal(err)
	}
	_ = m.SyncNotify(ctx, "c")
	if v, err := m.CallHandler(ctx, "new", nil); v != 3 || err != nil {
		t.Fatalf("new handler count %v %v, want 3 (2 handed over + 1)", v, err)
	}
	ids, _ := m.WhichHandlers(ctx)
	if !slices.Equal(ids, []string{"first", "new", "last"}) {
		t.Fatalf("handlers %v: the new one takes the old one's place", ids)
	}
	// Swapping a missing handler adds the new one, told there was none.
	nb := &baton{}
	if err := m.SwapHandler(ctx, "missing", "extra", nb); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.CallHandler(ctx, "extra", nil); v != 0 || !errors.Is(nb.prev.(error), behaviour.ErrHandlerNotFound) {
		t.Fatalf("prev %v", nb.prev)
	}
	// A new id held by another handler changes nothing.
	if err := m.SwapHandler(ctx, "new", "first", &baton{}); !errors.Is(err, behaviour.ErrHandlerExists) {
		t.Fatalf("swap onto a taken id: %v", err)
	}
	// A refused new handler leaves neither.
	if err := m.SwapHandler(ctx, "new", "refused", &baton{refuse: true}); !errors.Is(err, errBoom) {
		t.Fatalf("refused swap: %v", err)
	}
	ids, _ = m.WhichHandlers(ctx)
	if !slices.Equal(ids, []string{"first", "last", "extra"}) {
		t.Fatalf("handlers after refused swap %v", ids)
	}
}

// TestSwapHandlerTerminatesOld: an old handler without SwapOut gets
// TerminateHandler with a *SwappedError.
func TestSwapHandlerTerminatesOld(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	sink, _ := n.NewInbox()
	old := &recorder{to: sink.PID(), node: n, terminated: make(chan error, 1)}
	_ = m.AddHandler(ctx, "old", old)
	nb := &baton{}
	if err := m.SwapHandler(ctx, "old", "new", nb); err != nil {
		t.Fatal(err)
	}
	var se *behaviour.SwappedError
	if r := <-old.terminated; !errors.As(r, &se) || se.ID != "new" {
		t.Fatalf("old terminate reason %v", r)
	}
	if nb.prev != nil {
		t.Fatalf("prev %v, want nil", nb.prev)
	}
}

// TestSwapHandlerKeepsSupervision: SwapHandler moves the old handler's
// owner to the new handler; SwapSupervisedHandler gives it a new owner and
// tells the old one.
func TestSwapHandlerKeepsSupervision(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner1, _ := n.NewInbox(actor.WithTrapExit())
	owner2, _ := n.NewInbox(actor.WithTrapExit())
	_ = m.AddSupervisedHandler(ctx, owner1.PID(), "a", &baton{})
	if err := m.SwapHandler(ctx, "a", "b", &baton{}); err != nil {
		t.Fatal(err)
	}
	if err := m.SwapSupervisedHandler(ctx, owner2.PID(), "b", "c", &baton{}); err != nil {
		t.Fatal(err)
	}
	// The swap of a tells owner1, which goes on supervising b.
	rm := recv(t, owner1).(behaviour.HandlerRemoved)
	var se *behaviour.SwappedError
	if rm.ID != "a" || !errors.As(rm.Reason, &se) || se.ID != "b" || se.Owner != owner1.PID() {
		t.Fatalf("old owner got %+v", rm)
	}
	// owner1 supervised b (moved from a), so the swap to c tells it.
	rm = recv(t, owner1).(behaviour.HandlerRemoved)
	if rm.ID != "b" || !errors.As(rm.Reason, &se) || se.ID != "c" || se.Owner != owner2.PID() {
		t.Fatalf("old owner got %+v", rm)
	}
	// c is owner2's: removing it tells owner2, and owner1 is unlinked.
	if err := m.RemoveHandler(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if rm := recv(t, owner2).(behaviour.HandlerRemoved); rm.ID != "c" || !errors.Is(rm.Reason, actor.Normal) {
		t.Fatalf("new owner got %+v", rm)
	}
	info, err := n.ProcessInfo(ctx, m.PID())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Links) != 0 {
		t.Fatalf("manager still linked to %v", info.Links)
	}
}

// TestSwapRefusedTellsOwner: when the new handler refuses, the owner it
// took over learns that the handler is gone.
func TestSwapRefusedTellsOwner(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner, _ := n.NewInbox()
	_ = m.AddSupervisedHandler(ctx, owner.PID(), "a", &baton{})
	if err := m.SwapHandler(ctx, "a", "b", &baton{refuse: true}); !errors.Is(err, errBoom) {
		t.Fatalf("swap: %v", err)
	}
	var se *behaviour.SwappedError
	if rm := recv(t, owner).(behaviour.HandlerRemoved); rm.ID != "a" || !errors.As(rm.Reason, &se) {
		t.Fatalf("owner got %+v, want a swapped", rm)
	}
	if rm := recv(t, owner).(behaviour.HandlerRemoved); rm.ID != "b" || !errors.Is(rm.Reason, errBoom) {
		t.Fatalf("owner got %+v", rm)
	}
	info, err := n.ProcessInfo(ctx, m.PID())
	if err != nil || len(info.Links) != 0 {
		t.Fatalf("manager links %v %v", info.Links, err)
	}
}

// TestSwapHandlerTellsOwner: SwapHandler of a supervised handler tells its
// owner that the handler was swapped (gen_event_EXIT with {swapped, ...}),
// and the owner supervises the new one.
func TestSwapHandlerTellsOwner(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner, _ := n.NewInbox()
	_ = m.AddSupervisedHandler(ctx, owner.PID(), "a", &baton{})
	if err := m.SwapHandler(ctx, "a", "b", &baton{}); err != nil {
		t.Fatal(err)
	}
	rm := recv(t, owner).(behaviour.HandlerRemoved)
	var se *behaviour.SwappedError
	if rm.ID != "a" || !errors.As(rm.Reason, &se) || se.ID != "b" || se.Owner != owner.PID() {
		t.Fatalf("owner got %+v, want a swapped for b", rm)
	}
	if err := m.RemoveHandler(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if rm := recv(t, owner).(behaviour.HandlerRemoved); rm.ID != "b" || !errors.Is(rm.Reason, actor.Normal) {
		t.Fatalf("owner got %+v, want b removed", rm)
	}
}

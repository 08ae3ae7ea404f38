package behaviour_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// The probes of this file check behaviour's method docs and
// docs/otp-mapping.md's "Behaviours" table: gen_event's swap and removal
// messages, and gen_server's call and stop semantics.

// dpHandler records what it is told; it hands over and takes state on a swap.
type dpHandler struct {
	name   string
	events chan string
	prev   any
	swapIn error
}

func (h *dpHandler) HandleEvent(e string) error  { h.events <- h.name + ":" + e; return nil }
func (h *dpHandler) SwapOut() any                { return h.name + "-state" }
func (h *dpHandler) SwapIn(prev any) error       { h.prev = prev; return h.swapIn }
func (h *dpHandler) HandleCall(any) (any, error) { return h.prev, nil }

func newDP(name string) *dpHandler { return &dpHandler{name: name, events: make(chan string, 16)} }

func TestProbeEventSwapAndRemoval(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	m, err := behaviour.StartEventManager[string](n)
	if err != nil {
		t.Fatal(err)
	}
	owner := actortest.NewInbox(t, n)

	// RemoveHandler of a supervised handler: the owner gets HandlerRemoved
	// with Normal (gen_event_EXIT with normal).
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "r", newDP("r")); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveHandler(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if hr := actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner); hr.ID != "r" || hr.Manager != m.PID() || !errors.Is(hr.Reason, actor.Normal) {
		t.Errorf("removed: %+v", hr)
	}

	// swap of an id that is not installed: the new one is added all the
	// same and its SwapIn gets ErrHandlerNotFound.
	nw := newDP("nw")
	if err := m.SwapHandler(ctx, "absent", "nw", nw); err != nil {
		t.Fatalf("swap from an absent handler: %v", err)
	}
	if v, _ := m.CallHandler(ctx, "nw", nil); !errors.Is(asErr(v), behaviour.ErrHandlerNotFound) {
		t.Errorf("SwapIn from an absent handler got %v", v)
	}

	// the swapped-in handler takes the old one's place in the order, and its
	// SwapIn gets the old one's SwapOut
	for _, id := range []string{"a", "b"} {
		if err := m.AddHandler(ctx, id, newDP(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SwapHandler(ctx, "a", "a2", newDP("a2")); err != nil {
		t.Fatal(err)
	}
	if ids, _ := m.WhichHandlers(ctx); !slices.Equal(ids, []string{"nw", "a2", "b"}) {
		t.Errorf("order after the swap %v", ids)
	}
	if v, _ := m.CallHandler(ctx, "a2", nil); v != "a-state" {
		t.Errorf("handed over %v", v)
	}
	// newID taken by another handler: ErrHandlerExists, nothing changes
	if err := m.SwapHandler(ctx, "a2", "b", newDP("x")); !errors.Is(err, behaviour.ErrHandlerExists) {
		t.Errorf("swap onto a taken id: %v", err)
	}
	if ids, _ := m.WhichHandlers(ctx); !slices.Equal(ids, []string{"nw", "a2", "b"}) {
		t.Errorf("a refused swap changed the handlers: %v", ids)
	}

	// swapping a supervised handler: the owner gets a *SwappedError naming
	// the new handler; the new one keeps the owner (SwapHandler), so its
	// removal is told to the same owner.
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "s", newDP("s")); err != nil {
		t.Fatal(err)
	}
	if err := m.SwapHandler(ctx, "s", "s2", newDP("s2")); err != nil {
		t.Fatal(err)
	}
	hr := actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner)
	var se *behaviour.SwappedError
	if hr.ID != "s" || !errors.As(hr.Reason, &se) || se.ID != "s2" {
		t.Errorf("swapped: %+v", hr)
	}
	if err := m.RemoveHandler(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	if hr := actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner); hr.ID != "s2" || !errors.Is(hr.Reason, actor.Normal) {
		t.Errorf("the swapped-in handler's removal: %+v", hr)
	}

	// SwapSupervisedHandler: the old owner gets SwappedError with the new
	// owner; the new owner is told of the new handler's removal.
	owner2 := actortest.NewInbox(t, n)
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "t", newDP("t")); err != nil {
		t.Fatal(err)
	}
	if err := m.SwapSupervisedHandler(ctx, owner2.PID(), "t", "t2", newDP("t2")); err != nil {
		t.Fatal(err)
	}
	hr = actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner)
	if hr.ID != "t" || !errors.As(hr.Reason, &se) || se.ID != "t2" || se.Owner != owner2.PID() {
		t.Errorf("swapped sup: %+v", hr)
	}
	if err := m.SwapSupervisedHandler(ctx, actor.PID{}, "t2", "t3", newDP("t3")); !errors.Is(err, behaviour.ErrNoOwner) {
		t.Errorf("swap to a zero owner: %v", err)
	}
	if err := m.RemoveHandler(ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if hr := actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner2); hr.ID != "t2" || !errors.Is(hr.Reason, actor.Normal) {
		t.Errorf("the new owner: %+v", hr)
	}

	// a refused SwapIn: the old one is gone all the same, and the owner the
	// new one would have had gets HandlerRemoved{ID: newID} with the error
	refused := errors.New("refused")
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "u", newDP("u")); err != nil {
		t.Fatal(err)
	}
	bad := newDP("u2")
	bad.swapIn = refused
	if err := m.SwapHandler(ctx, "u", "u2", bad); !errors.Is(err, refused) {
		t.Errorf("refused SwapIn: %v", err)
	}
	got := map[string]error{}
	for range 2 {
		hr := actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner)
		got[hr.ID] = hr.Reason
	}
	if !errors.As(got["u"], &se) || !errors.Is(got["u2"], refused) {
		t.Errorf("refused swap told the owner %v", got)
	}
	if ids, _ := m.WhichHandlers(ctx); slices.Contains(ids, "u") || slices.Contains(ids, "u2") {
		t.Errorf("handlers after a refused swap %v", ids)
	}

	// Stop: the manager exits Normal, a linked process that does not trap
	// exits lives on.
	var linked actor.PID
	linked, err = n.Spawn(actortest.ExitOnError)
	if err != nil {
		t.Fatal(err)
	}
	watcher := actortest.NewInbox(t, n)
	watcher.Monitor(ctx, m.PID())
	if err := watcher.Do(ctx, func(c *actor.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	lk := actortest.NewInbox(t, n)
	if err := lk.Link(ctx, m.PID()); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}
	if d := actortest.ReceiveAs[actor.Down](t, watcher); !errors.Is(d.Reason, actor.Normal) {
		t.Errorf("manager stop reason %v", d.Reason)
	}
	if !n.IsAlive(lk.PID()) {
		t.Error("the manager's stop ended a linked process")
	}
	n.Kill(linked)
}

func asErr(v any) error {
	err, _ := v.(error)
	return err
}

type dpSrv struct{ release chan struct{} }

func (dpSrv) Init(*actor.Context) (int, error) { return 0, nil }
func (d dpSrv) HandleCall(_ *actor.Context, _ behaviour.From, req any, s int) behaviour.Result[int] {
	switch req {
	case "slow":
		<-d.release // held until the caller has timed out
		return behaviour.Reply(s, s)
	case "noreply":
		return behaviour.NoReply(s)
	}
	return behaviour.Reply(s, s+1)
}

// TestProbeGenServerCallTimeout: gen_server:call's timeout, as Arbor maps
// it: the call returns context.DeadlineExceeded in a *CallError naming the
// server (OTP exits the caller with timeout; Arbor returns it), the server
// lives on, and its late reply never reaches a later call.
func TestProbeGenServerCallTimeout(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	release := make(chan struct{})
	pid, err := behaviour.Start[int](n, dpSrv{release})
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = behaviour.Call(tctx, pid, "slow")
	var ce *actor.CallError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ce) || ce.PID != pid {
		t.Errorf("call timeout: %v", err)
	}
	close(release)
	if v, err := behaviour.CallAs[int](ctx, pid, "x"); err != nil || v != 0 {
		t.Errorf("call after a timeout: %v %v (the late reply leaked?)", v, err)
	}
	// a NoReply never answered: the call ends at its deadline
	tctx2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := behaviour.Call(tctx2, pid, "noreply"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("noreply: %v", err)
	}
	// gen_server:stop of a dead server: noproc
	if err := behaviour.StopServer(ctx, n, pid, nil); err != nil {
		t.Fatal(err)
	}
	if err := behaviour.StopServer(ctx, n, pid, nil); !errors.Is(err, actor.NoProc) {
		t.Errorf("stop of a dead server: %v", err)
	}
	if _, err := behaviour.Call(ctx, pid, "x"); !errors.Is(err, actor.NoProc) {
		t.Errorf("call of a dead server: %v", err)
	}
	if err := behaviour.Cast(ctx, pid, "x"); err != nil && !errors.Is(err, actor.NoProc) {
		t.Errorf("cast to a dead server: %v", err)
	}
}

type dpTrap struct {
	got     chan error
	release chan struct{}
}

func (s dpTrap) Init(*actor.Context) (int, error) { return 0, nil }
func (s dpTrap) Terminate(_ *actor.Context, reason error, _ int) {
	s.got <- reason
	if s.release != nil {
		<-s.release
	}
}

// TestProbeGenServerParentNormalExit: a server that traps exits ends when
// its parent exits, even with reason Normal, running Terminate with that
// reason (gen_server: an 'EXIT' from the parent ends the server with the
// parent's reason); a server that does not trap exits ignores its parent's
// normal exit.
func TestProbeGenServerParentNormalExit(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	for _, trap := range []bool{true, false} {
		got := make(chan error, 1)
		parent := actortest.NewInbox(t, n)
		var child actor.PID
		var opts []behaviour.Option
		if trap {
			opts = append(opts, behaviour.WithTrapExit())
		}
		if err := parent.Do(ctx, func(c *actor.Context) error {
			var err error
			child, err = behaviour.StartLink[int](c, dpTrap{got: got}, opts...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		exited := n.WatchExit(child)
		parent.Close() // the parent exits with Normal
		if trap {
			select {
			case r := <-got:
				if !errors.Is(r, actor.Normal) {
					t.Errorf("Terminate got %v, want Normal", r)
				}
			case <-ctx.Done():
				t.Fatal("a trapping server outlived its parent's normal exit")
			}
			if r := <-exited; !errors.Is(r, actor.Normal) {
				t.Errorf("exit reason %v", r)
			}
			continue
		}
		// not trapping: alive after the parent's exit has been handled
		// (a sys request is handled after the signals queued before it)
		if _, err := n.ProcessInfo(ctx, child); err != nil || !n.IsAlive(child) {
			t.Errorf("a server not trapping exits died of its parent's normal exit: %v", <-exited)
		}
		behaviour.StopServer(ctx, n, child, nil)
	}
}

// TestProbeStopServerTimeout: gen_server:stop/3's timeout: a Terminate
// that outlasts ctx makes StopServer return ctx's error, and the server
// still ends once Terminate returns.
func TestProbeStopServerTimeout(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	got := make(chan error, 1)
	release := make(chan struct{})
	pid, err := behaviour.Start[int](n, dpTrap{got: got, release: release})
	if err != nil {
		t.Fatal(err)
	}
	exited := n.WatchExit(pid)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := behaviour.StopServer(short, n, pid, actor.Shutdown); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stop with a Terminate that outlasts ctx: %v", err)
	}
	if r := <-got; !errors.Is(r, actor.Shutdown) {
		t.Errorf("Terminate got %v", r)
	}
	close(release)
	if r := <-exited; !errors.Is(r, actor.Shutdown) {
		t.Errorf("exit %v", r)
	}
}

// byeHandler removes itself on "bye" by returning actor.Normal.
type byeHandler struct{ term chan error }

func (h byeHandler) HandleEvent(e string) error {
	if e == "bye" {
		return actor.Normal
	}
	return nil
}
func (h byeHandler) TerminateHandler(r error) { h.term <- r }

// TestHandlerRemovesItselfQuietly: gen_event's remove_handler. A handler
// whose HandleEvent returns actor.Normal is removed as RemoveHandler
// removes it: its TerminateHandler and its owner get actor.Normal, and no
// failure is logged (it was logged at error level as "event handler failed
// and was removed").
func TestHandlerRemovesItselfQuietly(t *testing.T) {
	var buf testkit.LogBuffer
	n := actortest.NewNode(t, actor.WithLogger(zerolog.New(&buf)))
	ctx := actortest.Context(t)
	m, err := behaviour.StartEventManager[string](n)
	if err != nil {
		t.Fatal(err)
	}
	owner := actortest.NewInbox(t, n)
	term := make(chan error, 1)
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "bye", byeHandler{term}); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncNotify(ctx, "bye"); err != nil {
		t.Fatal(err)
	}
	if r := <-term; !errors.Is(r, actor.Normal) {
		t.Errorf("TerminateHandler got %v", r)
	}
	if hr := actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner); hr.ID != "bye" || !errors.Is(hr.Reason, actor.Normal) {
		t.Errorf("owner got %+v", hr)
	}
	if ids, _ := m.WhichHandlers(ctx); len(ids) != 0 {
		t.Errorf("handlers %v", ids)
	}
	if out := buf.String(); strings.Contains(out, `"level":"error"`) {
		t.Errorf("a handler that removed itself was logged as a failure: %s", out)
	}
}

// TestProbeSupervisedHandlerLink: add_sup_handler links the manager and the
// owner; once the owner has no supervised handler left the manager unlinks
// (a documented difference from OTP, which keeps the link).
func TestProbeSupervisedHandlerLink(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	m, err := behaviour.StartEventManager[string](n)
	if err != nil {
		t.Fatal(err)
	}
	owner := actortest.NewInbox(t, n)
	linked := func() bool {
		info, err := n.ProcessInfo(ctx, owner.PID())
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(info.Links, m.PID())
	}
	for _, id := range []string{"h1", "h2"} {
		if err := m.AddSupervisedHandler(ctx, owner.PID(), id, newDP(id)); err != nil {
			t.Fatal(err)
		}
	}
	if !linked() {
		t.Fatal("the owner of a supervised handler is not linked to the manager")
	}
	m.RemoveHandler(ctx, "h1")
	actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner)
	if !linked() {
		t.Error("unlinked while the owner still has a supervised handler")
	}
	m.RemoveHandler(ctx, "h2")
	actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner)
	if linked() {
		t.Error("still linked once the owner has no supervised handler left")
	}
	// CallAs's *ReplyTypeError names both types
	var rte *behaviour.ReplyTypeError
	pid, _ := behaviour.Start[int](n, dpSrv{})
	_, err = behaviour.CallAs[string](ctx, pid, "x")
	if !errors.As(err, &rte) || !strings.Contains(err.Error(), "int") || !strings.Contains(err.Error(), "string") {
		t.Errorf("reply type error %v", err)
	}
}

// TestNilSpawnerRefused: Start and StartEventManager refuse a nil Spawner
// (or a nil *actor.Node) with actor.ErrNilNode; they panicked.
func TestNilSpawnerRefused(t *testing.T) {
	var nilNode *actor.Node
	for _, sp := range []actor.Spawner{nil, nilNode} {
		if _, err := behaviour.Start[int](sp, dpSrv{}); !errors.Is(err, actor.ErrNilNode) {
			t.Errorf("Start(%v): %v", sp, err)
		}
		if _, err := behaviour.StartEventManager[string](sp); !errors.Is(err, actor.ErrNilNode) {
			t.Errorf("StartEventManager(%v): %v", sp, err)
		}
	}
	// StopServer and EventManager.Stop with a nil node
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	pid, err := behaviour.Start[int](n, dpSrv{})
	if err != nil {
		t.Fatal(err)
	}
	if err := behaviour.StopServer(ctx, nil, pid, nil); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("StopServer with a nil node: %v", err)
	}
	m, err := behaviour.StartEventManager[string](n)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(ctx, nil); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("EventManager.Stop with a nil node: %v", err)
	}
	behaviour.StopServer(ctx, n, pid, nil)
}

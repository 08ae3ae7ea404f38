package behaviour_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/sys"
)

type probeSrv struct {
	mu    sync.Mutex
	terms []error
	held  chan behaviour.From
}

type pInc struct{}
type pHold struct{}
type pStop struct{ err error }
type pStopReply struct{ err error }
type pPanic struct{}
type pSelf struct{}
type pHib struct{}
type pIdle struct{ d time.Duration }

func (p *probeSrv) Init(*actor.Context) (int, error) { return 0, nil }
func (p *probeSrv) HandleCall(c *actor.Context, f behaviour.From, req any, n int) behaviour.Result[int] {
	switch r := req.(type) {
	case pInc:
		return behaviour.Reply(n+1, n+1)
	case pHold:
		p.held <- f
		return behaviour.NoReply(n)
	case pStop:
		return behaviour.Stop(r.err, n)
	case pStopReply:
		return behaviour.StopReply(r.err, "bye", n)
	case pPanic:
		panic("kaboom")
	case pSelf:
		_, err := behaviour.Call(c, c.Self(), pInc{})
		return behaviour.Reply(err, n)
	case pHib:
		return behaviour.Reply(n, n).Hibernate()
	case pIdle:
		return behaviour.Reply(n, n).Timeout(r.d)
	}
	return behaviour.Reply(nil, n)
}
func (p *probeSrv) HandleCast(c *actor.Context, msg any, n int) behaviour.Result[int] {
	if msg == "t0" {
		return behaviour.NoReply(n).Timeout(0)
	}
	return behaviour.NoReply(n + 10)
}
func (p *probeSrv) HandleInfo(c *actor.Context, msg any, n int) behaviour.Result[int] {
	if _, ok := msg.(behaviour.Timeout); ok {
		p.held <- behaviour.From{}
	}
	return behaviour.NoReply(n)
}
func (p *probeSrv) Terminate(c *actor.Context, reason error, n int) {
	p.mu.Lock()
	p.terms = append(p.terms, reason)
	p.mu.Unlock()
}
func (p *probeSrv) terminated() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.terms...)
}

func startProbeSrv(t *testing.T, n *actor.Node) (*probeSrv, actor.PID) {
	t.Helper()
	s := &probeSrv{held: make(chan behaviour.From, 4)}
	pid, err := behaviour.Start[int](n, s)
	if err != nil {
		t.Fatal(err)
	}
	return s, pid
}

func waitDownOf(t *testing.T, n *actor.Node, pid actor.PID) error {
	t.Helper()
	ib := actortest.NewInbox(t, n)
	if _, err := ib.Monitor(actortest.Context(t), pid); err != nil {
		return err
	}
	return actortest.ReceiveAs[actor.Down](t, ib).Reason
}

func TestGenServerSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	t.Run("timeout then late reply", func(t *testing.T) {
		s, pid := startProbeSrv(t, n)
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := behaviour.Call(cctx, pid, pHold{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("timed-out call: %v, want DeadlineExceeded", err)
		}
		f := <-s.held
		if f.Reply("late") {
			t.Errorf("a reply after the caller gave up reported delivered")
		}
		if v, err := behaviour.CallAs[int](ctx, pid, pInc{}); v != 1 || err != nil {
			t.Errorf("server after late reply: %v %v", v, err)
		}
	})
	t.Run("noreply then reply", func(t *testing.T) {
		s, pid := startProbeSrv(t, n)
		go func() { f := <-s.held; f.Reply("later") }()
		if v, err := behaviour.Call(ctx, pid, pHold{}); v != "later" || err != nil {
			t.Errorf("deferred reply: %v %v", v, err)
		}
	})
	t.Run("deferred call fails with the exit reason", func(t *testing.T) {
		s, pid := startProbeSrv(t, n)
		go func() { <-s.held; n.Exit(pid, actor.Kill) }()
		if _, err := behaviour.Call(ctx, pid, pHold{}); !errors.Is(err, actor.Killed) {
			t.Errorf("deferred call to a killed server: %v", err)
		}
		if tr := s.terminated(); len(tr) != 0 {
			t.Errorf("a killed server ran Terminate: %v", tr)
		}
	})
	t.Run("stop with reason", func(t *testing.T) {
		s, pid := startProbeSrv(t, n)
		boom := errors.New("boom")
		ib := actortest.NewInbox(t, n)
		ib.Monitor(ctx, pid)
		_, err := behaviour.Call(ctx, pid, pStop{boom})
		if !errors.Is(err, boom) {
			t.Errorf("call answered by Stop: %v", err)
		}
		if d := actortest.ReceiveAs[actor.Down](t, ib); !errors.Is(d.Reason, boom) {
			t.Errorf("down reason %v", d.Reason)
		}
		if tr := s.terminated(); len(tr) != 1 || !errors.Is(tr[0], boom) {
			t.Errorf("terminate reasons %v", tr)
		}
	})
	t.Run("stop reply", func(t *testing.T) {
		s, pid := startProbeSrv(t, n)
		v, err := behaviour.Call(ctx, pid, pStopReply{actor.Normal})
		if v != "bye" || err != nil {
			t.Errorf("stop reply: %v %v", v, err)
		}
		if r := waitDownOf(t, n, pid); !errors.Is(r, actor.Normal) && !errors.Is(r, actor.NoProc) {
			t.Errorf("down %v", r)
		}
		if tr := s.terminated(); len(tr) != 1 || !errors.Is(tr[0], actor.Normal) {
			t.Errorf("terminate reasons %v", tr)
		}
	})
	t.Run("panic", func(t *testing.T) {
		s, pid := startProbeSrv(t, n)
		_, err := behaviour.Call(ctx, pid, pPanic{})
		var pe *actor.PanicError
		if !errors.As(err, &pe) {
			t.Errorf("call to panicking server: %v", err)
		}
		waitDownOf(t, n, pid)
		if tr := s.terminated(); len(tr) != 1 || !errors.As(tr[0], &pe) {
			t.Errorf("terminate reasons %v", tr)
		}
	})
	t.Run("call self", func(t *testing.T) {
		_, pid := startProbeSrv(t, n)
		v, err := behaviour.Call(ctx, pid, pSelf{})
		if err != nil || !errors.Is(v.(error), actor.ErrCallSelf) {
			t.Errorf("call to self: %v %v", v, err)
		}
	})
	t.Run("hibernate and idle timeout", func(t *testing.T) {
		s, pid := startProbeSrv(t, n)
		behaviour.Call(ctx, pid, pHib{})
		if v, err := behaviour.CallAs[int](ctx, pid, pInc{}); v != 1 || err != nil {
			t.Errorf("after hibernate: %v %v", v, err)
		}
		behaviour.Call(ctx, pid, pIdle{d: time.Millisecond})
		select {
		case <-s.held:
		case <-ctx.Done():
			t.Fatal("no Timeout{}")
		}
	})
	t.Run("timeout 0 with a message waiting", func(t *testing.T) {
		s, pid := startProbeSrv(t, n)
		semMust(t, sys.Suspend(ctx, n, pid))
		behaviour.Cast(ctx, pid, "t0")
		behaviour.Cast(ctx, pid, "x")
		semMust(t, sys.Resume(ctx, n, pid))
		if v, _ := behaviour.CallAs[int](ctx, pid, pInc{}); v != 11 {
			t.Errorf("state %d", v)
		}
		select {
		case <-s.held:
			t.Error("Timeout(0) fired with a message waiting")
		default:
		}
		behaviour.Cast(ctx, pid, "t0")
		select {
		case <-s.held:
		case <-ctx.Done():
			t.Fatal("Timeout(0) with nothing waiting did not fire")
		}
	})
	t.Run("cast", func(t *testing.T) {
		_, pid := startProbeSrv(t, n)
		if err := behaviour.Cast(ctx, pid, "x"); err != nil {
			t.Fatal(err)
		}
		if v, _ := behaviour.CallAs[int](ctx, pid, pInc{}); v != 11 {
			t.Errorf("after cast %d", v)
		}
		if err := behaviour.StopServer(ctx, n, pid, nil); err != nil {
			t.Errorf("stop server %v", err)
		}
		if err := behaviour.Cast(ctx, pid, "x"); !errors.Is(err, actor.NoProc) {
			t.Errorf("cast to dead: %v", err)
		}
		if _, err := behaviour.Call(ctx, pid, pInc{}); !errors.Is(err, actor.NoProc) {
			t.Errorf("call to dead: %v", err)
		}
		if err := behaviour.StopServer(ctx, n, pid, nil); !errors.Is(err, actor.NoProc) {
			t.Errorf("stop dead: %v", err)
		}
	})
	t.Run("stop server reason", func(t *testing.T) {
		s, pid := startProbeSrv(t, n)
		r := errors.New("custom")
		if err := behaviour.StopServer(ctx, n, pid, r); err != nil {
			t.Errorf("stop server %v", err)
		}
		if tr := s.terminated(); len(tr) != 1 || !errors.Is(tr[0], r) {
			t.Errorf("terminate reasons %v", tr)
		}
	})
}

type initSrv struct{ mode string }

func (s initSrv) Init(*actor.Context) (int, error) {
	switch s.mode {
	case "err":
		return 0, errors.New("no init")
	case "ignore":
		return 0, behaviour.Ignore
	case "panic":
		panic("init panic")
	}
	return 0, nil
}

func TestGenServerInitOutcomes(t *testing.T) {
	n := actortest.NewNode(t)
	before := len(n.Processes())
	for _, mode := range []string{"err", "ignore", "panic"} {
		pid, err := behaviour.Start[int](n, initSrv{mode}, behaviour.WithName("i-"+mode))
		if err == nil || !pid.IsZero() {
			t.Errorf("%s: pid %v err %v", mode, pid, err)
		}
		if mode == "ignore" && !errors.Is(err, behaviour.Ignore) {
			t.Errorf("ignore: %v", err)
		}
		if _, ok := n.WhereIs("i-" + mode); ok {
			t.Errorf("%s: name left registered", mode)
		}
	}
	if after := len(n.Processes()); after != before {
		t.Errorf("processes %d -> %d", before, after)
	}
}

type pEvH struct {
	name  string
	log   *[]string
	mu    *sync.Mutex
	fail  string
	count int
}

func (h *pEvH) HandleEvent(e string) error {
	h.mu.Lock()
	*h.log = append(*h.log, h.name+":"+e)
	h.mu.Unlock()
	h.count++
	if e == h.fail {
		return errors.New("handler failed on " + e)
	}
	if e == "panic-"+h.name {
		panic("handler panic")
	}
	return nil
}
func (h *pEvH) HandleCall(req any) (any, error) { return h.count, nil }
func (h *pEvH) TerminateHandler(reason error) {
	h.mu.Lock()
	*h.log = append(*h.log, h.name+" terminated: "+reason.Error())
	h.mu.Unlock()
}

func TestEventManagerSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	m, err := behaviour.StartEventManager[string](n)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log []string
	take := func() []string { mu.Lock(); defer mu.Unlock(); l := log; log = nil; return l }
	a := &pEvH{name: "a", log: &log, mu: &mu, fail: "bad"}
	b := &pEvH{name: "b", log: &log, mu: &mu}
	if err := m.AddHandler(ctx, "a", a); err != nil {
		t.Fatal(err)
	}
	if err := m.AddHandler(ctx, "a", b); !errors.Is(err, behaviour.ErrHandlerExists) {
		t.Errorf("duplicate add: %v", err)
	}
	owner := actortest.NewInbox(t, n)
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "b", b); err != nil {
		t.Fatal(err)
	}
	m.Notify(ctx, "e1")
	if err := m.SyncNotify(ctx, "e2"); err != nil {
		t.Fatal(err)
	}
	if got := take(); len(got) != 4 || got[0] != "a:e1" || got[1] != "b:e1" || got[2] != "a:e2" || got[3] != "b:e2" {
		t.Errorf("events %q", got)
	}
	if v, err := m.CallHandler(ctx, "b", nil); v != 2 || err != nil {
		t.Errorf("handler call %v %v", v, err)
	}
	if _, err := m.CallHandler(ctx, "zz", nil); !errors.Is(err, behaviour.ErrHandlerNotFound) {
		t.Errorf("call missing handler %v", err)
	}
	// a failing handler is removed, the others carry on
	m.SyncNotify(ctx, "bad")
	if ids, _ := m.WhichHandlers(ctx); len(ids) != 1 || ids[0] != "b" {
		t.Errorf("handlers after a failure %v", ids)
	}
	take()
	// a panicking supervised handler: removed, owner told
	m.SyncNotify(ctx, "panic-b")
	hr := actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner)
	if hr.ID != "b" || hr.Reason == nil {
		t.Errorf("handler removed %+v", hr)
	}
	if ids, _ := m.WhichHandlers(ctx); len(ids) != 0 {
		t.Errorf("handlers after a panic %v", ids)
	}
	if err := m.RemoveHandler(ctx, "a"); !errors.Is(err, behaviour.ErrHandlerNotFound) {
		t.Errorf("remove missing %v", err)
	}
	c := &pEvH{name: "c", log: &log, mu: &mu}
	m.AddHandler(ctx, "c", c)
	d := &pEvH{name: "d", log: &log, mu: &mu}
	if err := m.SwapHandler(ctx, "c", "d", d); err != nil {
		t.Fatal(err)
	}
	take()
	if err := m.Stop(ctx, n); err != nil {
		t.Errorf("stop %v", err)
	}
	if got := take(); len(got) != 1 || got[0] != "d terminated: "+actor.Shutdown.Error() {
		t.Errorf("terminate on stop %q", got)
	}
	if err := m.Notify(ctx, "late"); !errors.Is(err, actor.NoProc) {
		t.Errorf("notify to a stopped manager: %v", err)
	}
	if err := m.SyncNotify(ctx, "late"); !errors.Is(err, actor.NoProc) {
		t.Errorf("sync notify to a stopped manager: %v", err)
	}
}

type namedSrv struct{}

func (namedSrv) Init(*actor.Context) (int, error) { return 0, nil }

type trapSrv struct{ got chan error }

func (s trapSrv) Init(*actor.Context) (int, error)                { return 0, nil }
func (s trapSrv) Terminate(_ *actor.Context, reason error, _ int) { s.got <- reason }

func TestGenServerMoreSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	first, err := behaviour.Start[int](n, namedSrv{}, behaviour.WithName("taken"))
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := behaviour.Start[int](n, namedSrv{}, behaviour.WithName("taken")); err == nil || !pid.IsZero() {
		t.Errorf("start under a taken name: %v %v", pid, err)
	} else if !errors.Is(err, actor.ErrNameTaken) {
		t.Errorf("start under a taken name: %v, want ErrNameTaken (first %v)", err, first)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := behaviour.Call(cancelled, first, pInc{}); !errors.Is(err, context.Canceled) {
		t.Errorf("call with a cancelled ctx: %v", err)
	}
	// a trapping server whose parent exits runs Terminate with the parent's reason
	got := make(chan error, 1)
	parent := actortest.NewInbox(t, n)
	var child actor.PID
	parent.Do(ctx, func(c *actor.Context) error {
		child, err = behaviour.StartLink[int](c, trapSrv{got}, behaviour.WithTrapExit())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	pr := errors.New("parent died")
	n.Exit(parent.PID(), pr)
	select {
	case r := <-got:
		if !errors.Is(r, pr) {
			t.Errorf("terminate reason %v, want the parent's", r)
		}
	case <-ctx.Done():
		t.Fatal("no terminate")
	}
	_ = child
	// a reply of another type
	var rte *behaviour.ReplyTypeError
	_, srv := startProbeSrv(t, n)
	if _, err := behaviour.CallAs[string](ctx, srv, pInc{}); !errors.As(err, &rte) || rte.Want.String() != "string" {
		t.Errorf("CallAs of the wrong type: %v", err)
	}
	// StopServer from the server itself
	s, pid := startProbeSrv(t, n)
	_ = s
	if err := behaviour.StopServer(ctx, n, pid, nil); err != nil {
		t.Errorf("stop %v", err)
	}
}

type initFail struct{}

func (initFail) HandleEvent(string) error { return nil }
func (initFail) InitHandler() error       { return errors.New("refused") }

type swapOut struct{ n int }

func (s *swapOut) HandleEvent(string) error { s.n++; return nil }
func (s *swapOut) SwapOut() any             { return s.n }

type swapIn struct{ got any }

func (s *swapIn) HandleEvent(string) error    { return nil }
func (s *swapIn) SwapIn(prev any) error       { s.got = prev; return nil }
func (s *swapIn) HandleCall(any) (any, error) { return s.got, nil }

type termRec struct{ ch chan error }

func (h termRec) HandleEvent(string) error { return nil }
func (h termRec) TerminateHandler(r error) { h.ch <- r }

func TestEventManagerMoreSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	m, err := behaviour.StartEventManager[string](n)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddHandler(ctx, "f", initFail{}); err == nil || err.Error() == "" {
		t.Errorf("refused init: %v", err)
	}
	if ids, _ := m.WhichHandlers(ctx); len(ids) != 0 {
		t.Errorf("refused handler installed: %v", ids)
	}
	if _, err := m.CallHandler(ctx, "f", nil); !errors.Is(err, behaviour.ErrHandlerNotFound) {
		t.Errorf("call: %v", err)
	}
	so := &swapOut{}
	m.AddHandler(ctx, "old", so)
	m.SyncNotify(ctx, "a")
	m.SyncNotify(ctx, "b")
	si := &swapIn{}
	if err := m.SwapHandler(ctx, "old", "new", si); err != nil {
		t.Fatal(err)
	}
	if v, err := m.CallHandler(ctx, "new", nil); v != 2 || err != nil {
		t.Errorf("swapped-in state %v %v", v, err)
	}
	// supervised: the owner's exit removes the handler with its reason
	owner := actortest.NewInbox(t, n)
	ch := make(chan error, 2)
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "sup", termRec{ch}); err != nil {
		t.Fatal(err)
	}
	oe := errors.New("owner gone")
	n.Exit(owner.PID(), oe)
	if r := <-ch; !errors.Is(r, oe) {
		t.Errorf("supervised handler terminate %v, want the owner's reason", r)
	}
	if ids, _ := m.WhichHandlers(ctx); !slices.Equal(ids, []string{"new"}) {
		t.Errorf("handlers %v", ids)
	}
	// manager stop tells an owner
	owner2 := actortest.NewInbox(t, n)
	m.AddSupervisedHandler(ctx, owner2.PID(), "sup2", termRec{ch})
	if err := m.Stop(ctx, n); err != nil {
		t.Fatal(err)
	}
	hr := actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner2)
	if hr.ID != "sup2" || !errors.Is(hr.Reason, actor.Shutdown) {
		t.Errorf("handler removed on stop: %+v", hr)
	}
	if err := m.AddSupervisedHandler(ctx, actor.PID{}, "x", termRec{ch}); !errors.Is(err, behaviour.ErrNoOwner) && !errors.Is(err, actor.NoProc) {
		t.Errorf("zero owner: %v", err)
	}
}

type contSrv struct{ order chan string }

func (s contSrv) Init(*actor.Context) (int, error) {
	s.order <- "init"
	return behaviour.InitContinue(0, "setup")
}
func (s contSrv) HandleContinue(_ *actor.Context, arg any, n int) behaviour.Result[int] {
	s.order <- "continue " + arg.(string)
	if arg == "stop" {
		return behaviour.Stop(errors.New("from continue"), n)
	}
	return behaviour.NoReply(n + 1)
}
func (s contSrv) HandleCall(_ *actor.Context, _ behaviour.From, req any, n int) behaviour.Result[int] {
	s.order <- "call"
	if req == "again" {
		return behaviour.Reply(n, n).Continue("stop")
	}
	return behaviour.Reply(n, n)
}

func TestGenServerContinueAndCrashReport(t *testing.T) {
	var buf testkit.LogBuffer
	n := actortest.NewNode(t, actor.WithLogger(zerolog.New(&buf)))
	ctx := actortest.Context(t)
	order := make(chan string, 8)
	pid, err := behaviour.Start[int](n, contSrv{order}, behaviour.WithName("cont"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := behaviour.CallAs[int](ctx, pid, "x"); v != 1 || err != nil {
		t.Errorf("call after continue: %v %v", v, err)
	}
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, pid)
	behaviour.Call(ctx, pid, "again")
	if d := actortest.ReceiveAs[actor.Down](t, ib); d.Reason.Error() != "from continue" {
		t.Errorf("stop from continue: %v", d.Reason)
	}
	close(order)
	var got []string
	for o := range order {
		got = append(got, o)
	}
	if !slices.Equal(got, []string{"init", "continue setup", "call", "call", "continue stop"}) {
		t.Errorf("order %q", got)
	}
	testkit.Eventually(t, actortest.Timeout, func() error {
		if c := strings.Count(buf.String(), `"event":"crash_report"`); c != 1 {
			return fmt.Errorf("%d crash reports in %s", c, buf.String())
		}
		return nil
	})
	if !strings.Contains(buf.String(), `"server":"cont"`) || !strings.Contains(buf.String(), "from continue") {
		t.Errorf("crash report: %s", buf.String())
	}
	// a shutdown is not a crash
	_, p2 := startProbeSrv(t, n)
	behaviour.StopServer(ctx, n, p2, actor.Shutdown)
	if c := strings.Count(buf.String(), `"event":"crash_report"`); c != 1 {
		t.Errorf("a shutdown logged a crash report: %s", buf.String())
	}
}

// TestStartNilServer: Start and StartLink refuse a nil Server with
// actor.ErrNilReceiver (it used to start a process whose Init panicked).
func TestStartNilServer(t *testing.T) {
	n := actortest.NewNode(t)
	if pid, err := behaviour.Start[int](n, nil); !errors.Is(err, actor.ErrNilReceiver) || !pid.IsZero() {
		t.Errorf("start nil: %v %v", pid, err)
	}
	ib := actortest.NewInbox(t, n)
	ib.Do(actortest.Context(t), func(c *actor.Context) error {
		if _, err := behaviour.StartLink[int](c, nil); !errors.Is(err, actor.ErrNilReceiver) {
			t.Errorf("start link nil: %v", err)
		}
		return nil
	})
}

type callPanics struct{ term chan error }

func (callPanics) HandleEvent(string) error { return nil }
func (callPanics) HandleCall(req any) (any, error) {
	if req == "panic" {
		panic("in handle call")
	}
	return nil, errors.New("declined")
}
func (h callPanics) TerminateHandler(r error) { h.term <- r }

// TestEventHandlerCallErrorAndPanic: an error from a handler's HandleCall
// is the call's error and keeps the handler; a panic removes it, as a
// crash in gen_event's handle_call does: Terminate and the owner hear of it.
func TestEventHandlerCallErrorAndPanic(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner := actortest.NewInbox(t, n)
	h := callPanics{term: make(chan error, 1)}
	if err := m.AddSupervisedHandler(ctx, owner.PID(), "h", h); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CallHandler(ctx, "h", "x"); err == nil || err.Error() != "declined" {
		t.Errorf("handler call error: %v", err)
	}
	if ids, _ := m.WhichHandlers(ctx); !slices.Equal(ids, []string{"h"}) {
		t.Errorf("handlers after a call error %v", ids)
	}
	var pe *actor.PanicError
	if _, err := m.CallHandler(ctx, "h", "panic"); !errors.As(err, &pe) {
		t.Errorf("handler call panic: %v", err)
	}
	if r := <-h.term; !errors.As(r, &pe) {
		t.Errorf("terminate after a call panic: %v", r)
	}
	if hr := actortest.ReceiveAs[behaviour.HandlerRemoved](t, owner); hr.ID != "h" || !errors.As(hr.Reason, &pe) {
		t.Errorf("owner told %+v", hr)
	}
	if ids, _ := m.WhichHandlers(ctx); len(ids) != 0 {
		t.Errorf("handlers after a call panic %v", ids)
	}
}

func semMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type exitInfoSrv struct{ infos chan any }

func (s exitInfoSrv) Init(c *actor.Context) (int, error) { return 0, nil }
func (s exitInfoSrv) HandleInfo(_ *actor.Context, msg any, n int) behaviour.Result[int] {
	s.infos <- msg
	return behaviour.NoReply(n)
}
func (s exitInfoSrv) HandleCall(c *actor.Context, _ behaviour.From, req any, n int) behaviour.Result[int] {
	if p, ok := req.(actor.PID); ok {
		c.Link(p)
	}
	return behaviour.Reply(nil, n)
}

// TestTrappingServerGetsExitOfOtherLinks: a GenServer trapping exits gets
// the exit of a linked process other than its parent in HandleInfo, and
// lives on; one not trapping dies with it, without Terminate.
func TestTrappingServerGetsExitOfOtherLinks(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	s := exitInfoSrv{infos: make(chan any, 4)}
	pid, err := behaviour.Start[int](n, s, behaviour.WithTrapExit())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := n.Spawn(actortest.ExitOnError)
	behaviour.Call(ctx, pid, other)
	boom := errors.New("boom")
	n.Send(other, boom)
	select {
	case m := <-s.infos:
		if x, ok := m.(actor.Exit); !ok || x.From != other || !errors.Is(x.Reason, boom) {
			t.Errorf("info %#v", m)
		}
	case <-ctx.Done():
		t.Fatal("no exit in HandleInfo")
	}
	if _, err := behaviour.Call(ctx, pid, nil); err != nil {
		t.Errorf("server after a linked exit: %v", err)
	}
}

// TestNilEventHandlerRefused: a nil handler is refused and nothing changes
// (it used to be installed, and removed again, logged, at the first event).
func TestNilEventHandlerRefused(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	m, _ := behaviour.StartEventManager[string](n)
	owner := actortest.NewInbox(t, n)
	semMust(t, m.AddHandler(ctx, "old", &pEvH{name: "old", log: new([]string), mu: new(sync.Mutex)}))
	for what, err := range map[string]error{
		"add":             m.AddHandler(ctx, "x", nil),
		"add supervised":  m.AddSupervisedHandler(ctx, owner.PID(), "x", nil),
		"swap":            m.SwapHandler(ctx, "old", "x", nil),
		"swap supervised": m.SwapSupervisedHandler(ctx, owner.PID(), "old", "x", nil),
	} {
		if !errors.Is(err, behaviour.ErrNilHandler) {
			t.Errorf("%s a nil handler: %v", what, err)
		}
	}
	if ids, _ := m.WhichHandlers(ctx); !slices.Equal(ids, []string{"old"}) {
		t.Errorf("handlers %v", ids)
	}
}

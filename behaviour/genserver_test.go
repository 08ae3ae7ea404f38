package behaviour_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

var errBoom = errors.New("boom")

// probe is a GenServer whose behaviour the tests drive by message.
type probe struct {
	report   actor.PID // where Terminate and Timeout reports go
	init     func(ctx *actor.Context) (*probeState, error)
	contGate chan struct{} // if set, HandleContinue waits for it to close
}

type probeState struct {
	n       int
	pending behaviour.From
}

type (
	get          struct{}
	hold         struct{}                  // NoReply, answered by release
	release      struct{ v any }           // cast: answer the held call
	stopWith     struct{ reason error }    // call: Stop
	stopReplying struct{ reason error }    // call: StopReply
	crash        struct{}                  // call: panic
	idle         struct{ d time.Duration } // call: reply with a timeout
	cont         struct{}                  // call: reply, then continue
	terminated   struct{ reason error }
	timedOut     struct{}
	continued    struct{ n int }
	callSelf     struct{}
	infoMsg      struct{ v string } // info: reported as gotInfo
	gotInfo      struct{ v string }
	ping         struct{}               // call: report "pong"
	busyIdle     struct{}               // call: queue an infoMsg to self, then reply with Timeout(0)
	contStop     struct{ reason error } // continue argument: Stop
)

func (p *probe) Init(ctx *actor.Context) (*probeState, error) {
	if p.init != nil {
		return p.init(ctx)
	}
	return &probeState{}, nil
}

func (p *probe) HandleCall(ctx *actor.Context, from behaviour.From, req any, s *probeState) behaviour.Result[*probeState] {
	switch r := req.(type) {
	case get:
		return behaviour.Reply(s.n, s)
	case hold:
		s.pending = from
		_ = ctx.Send(p.report, "held")
		return behaviour.NoReply(s)
	case stopWith:
		return behaviour.Stop(r.reason, s)
	case stopReplying:
		return behaviour.StopReply(r.reason, "bye", s)
	case crash:
		panic("crash")
	case idle:
		return behaviour.Reply("ok", s).Timeout(r.d)
	case cont:
		return behaviour.Reply("ok", s).Continue(7)
	case callSelf:
		_, err := behaviour.Call(ctx, ctx.Self(), get{})
		return behaviour.Reply(err, s)
	case ping:
		_ = ctx.Send(p.report, "pong")
		return behaviour.Reply("pong", s)
	case busyIdle:
		_ = ctx.Send(ctx.Self(), infoMsg{"waiting"})
		return behaviour.Reply("ok", s).Timeout(0)
	}
	s.n++
	return behaviour.Reply(s.n, s)
}

func (p *probe) HandleCast(ctx *actor.Context, msg any, s *probeState) behaviour.Result[*probeState] {
	if r, ok := msg.(release); ok {
		s.pending.Reply(r.v)
	}
	return behaviour.NoReply(s)
}

func (p *probe) HandleInfo(ctx *actor.Context, msg any, s *probeState) behaviour.Result[*probeState] {
	switch m := msg.(type) {
	case behaviour.Timeout:
		_ = ctx.Send(p.report, timedOut{})
	case infoMsg:
		_ = ctx.Send(p.report, gotInfo(m))
	}
	return behaviour.NoReply(s)
}

func (p *probe) HandleContinue(ctx *actor.Context, arg any, s *probeState) behaviour.Result[*probeState] {
	if p.contGate != nil {
		<-p.contGate
	}
	if st, ok := arg.(contStop); ok {
		return behaviour.Stop(st.reason, s)
	}
	s.n += arg.(int)
	_ = ctx.Send(p.report, continued{s.n})
	return behaviour.NoReply(s)
}

func (p *probe) Terminate(ctx *actor.Context, reason error, s *probeState) {
	_ = ctx.Send(p.report, terminated{reason})
}

func startProbe(t *testing.T, n *actor.Node, opts ...behaviour.Option) (actor.PID, *actor.Inbox) {
	t.Helper()
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := behaviour.Start[*probeState](n, &probe{report: ib.PID()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return pid, ib
}

func TestCallReply(t *testing.T) {
	n := newNode(t)
	pid, _ := startProbe(t, n)
	ctx := ctxT(t)
	for want := 1; want <= 3; want++ {
		got, err := behaviour.CallAs[int](ctx, pid, "inc")
		if err != nil || got != want {
			t.Fatalf("call %d: %v %v", want, got, err)
		}
	}
	if _, err := behaviour.CallAs[string](ctx, pid, get{}); err == nil {
		t.Fatal("CallAs with the wrong type should fail")
	}
}

// TestCallAsTypeErrorNamesBothTypes: the error of a reply of the wrong type
// says what came back and what was wanted.
func TestCallAsTypeErrorNamesBothTypes(t *testing.T) {
	n := newNode(t)
	pid, _ := startProbe(t, n)
	_, err := behaviour.CallAs[string](ctxT(t), pid, get{})
	var te *behaviour.ReplyTypeError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "int") || !strings.Contains(msg, "string") {
		t.Fatalf("error %q does not name both types", msg)
	}
	if te.Got != 0 || te.Want.String() != "string" {
		t.Fatalf("error fields %+v", te)
	}
}

func TestCallCalleeDiesMidCall(t *testing.T) {
	n := newNode(t)
	pid, ib := startProbe(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() { _, err := behaviour.Call(ctx, pid, hold{}); errc <- err }()
	if m := recv(t, ib); m != "held" { // the callee holds the call
		t.Fatalf("got %v", m)
	}
	start := time.Now()
	_ = n.Exit(pid, errBoom)
	err := <-errc
	if !errors.Is(err, errBoom) {
		t.Fatalf("call error = %v", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("call should fail at once, not at its deadline")
	}
}

func TestCallDeadCallee(t *testing.T) {
	n := newNode(t)
	pid, _ := startProbe(t, n)
	if err := behaviour.StopServer(ctxT(t), n, pid, nil); err != nil {
		t.Fatal(err)
	}
	_, err := behaviour.Call(ctxT(t), pid, get{})
	var ce *actor.CallError
	if !errors.Is(err, actor.NoProc) || !errors.As(err, &ce) || ce.PID != pid {
		t.Fatalf("call to dead: %v", err)
	}
}

func TestCallSelf(t *testing.T) {
	n := newNode(t)
	pid, _ := startProbe(t, n)
	v, err := behaviour.Call(ctxT(t), pid, callSelf{})
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := v.(error); !errors.Is(e, actor.ErrCallSelf) {
		t.Fatalf("self call returned %v", v)
	}
}

func TestCallDeadline(t *testing.T) {
	n := newNode(t)
	pid, _ := startProbe(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := behaviour.Call(ctx, pid, hold{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The late reply is dropped; the server lives on and answers again.
	if err := behaviour.Cast(ctxT(t), pid, release{v: "late"}); err != nil {
		t.Fatal(err)
	}
	if got, err := behaviour.CallAs[int](ctxT(t), pid, get{}); err != nil || got != 0 {
		t.Fatalf("after deadline: %v %v", got, err)
	}
}

func TestInitFailureLeavesNoProcessNoName(t *testing.T) {
	n := newNode(t)
	before := n.CountProcesses()
	_, err := behaviour.Start[*probeState](n, &probe{init: func(*actor.Context) (*probeState, error) {
		return nil, errBoom
	}}, behaviour.WithName("svc"))
	if !errors.Is(err, errBoom) {
		t.Fatalf("start: %v", err)
	}
	if _, ok := n.WhereIs("svc"); ok || n.CountProcesses() != before {
		t.Fatal("a failed Init left a process or a name")
	}
	_, err = behaviour.Start[*probeState](n, &probe{init: func(*actor.Context) (*probeState, error) {
		return nil, behaviour.Ignore
	}})
	if !errors.Is(err, behaviour.Ignore) || n.CountProcesses() != before {
		t.Fatalf("ignore: %v", err)
	}
}

func TestTerminateOnReturnedStop(t *testing.T) {
	n := newNode(t)
	pid, ib := startProbe(t, n)
	_, err := behaviour.Call(ctxT(t), pid, stopWith{errBoom})
	if !errors.Is(err, errBoom) {
		t.Fatalf("call: %v", err)
	}
	if m := recv(t, ib).(terminated); m.reason != errBoom {
		t.Fatalf("terminate reason %v", m.reason)
	}
	pid, ib = startProbe(t, n)
	if v, err := behaviour.Call(ctxT(t), pid, stopReplying{actor.Normal}); v != "bye" || err != nil {
		t.Fatalf("stop reply: %v %v", v, err)
	}
	if m := recv(t, ib).(terminated); m.reason != actor.Normal {
		t.Fatalf("terminate reason %v", m.reason)
	}
}

func TestTerminateOnStopServer(t *testing.T) {
	n := newNode(t)
	pid, ib := startProbe(t, n)
	if err := behaviour.StopServer(ctxT(t), n, pid, actor.Shutdown); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, ib).(terminated); m.reason != actor.Shutdown {
		t.Fatalf("terminate reason %v", m.reason)
	}
}

func TestTerminateOnPanic(t *testing.T) {
	n := newNode(t)
	pid, ib := startProbe(t, n)
	_, err := behaviour.Call(ctxT(t), pid, crash{})
	var pe *actor.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("call: %v", err)
	}
	m := recv(t, ib).(terminated)
	if !errors.As(m.reason, &pe) || pe.Value != "crash" {
		t.Fatalf("terminate reason %v", m.reason)
	}
}

// TestTerminateOnParentExit: a trapping server linked to its parent runs
// Terminate when the parent exits.
func TestTerminateOnParentExit(t *testing.T) {
	n := newNode(t)
	ib, _ := n.NewInbox()
	var child actor.PID
	parent, err := n.Spawn(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
		if msg == "start" {
			var err error
			child, err = behaviour.StartLink[*probeState](c, &probe{report: ib.PID()}, behaviour.WithTrapExit())
			return err
		}
		return msg.(error)
	}))
	if err != nil {
		t.Fatal(err)
	}
	watch := n.WatchExit(parent)
	_ = n.Send(parent, "start")
	_ = n.Send(parent, actor.Shutdown)
	<-watch
	if m := recv(t, ib).(terminated); m.reason != actor.Shutdown {
		t.Fatalf("terminate reason %v", m.reason)
	}
	if reason := <-n.WatchExit(child); reason != actor.Shutdown && reason != actor.NoProc {
		t.Fatalf("child exit reason %v", reason)
	}
}

func TestIdleTimeout(t *testing.T) {
	n := newNode(t)
	pid, ib := startProbe(t, n)
	if _, err := behaviour.Call(ctxT(t), pid, idle{d: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, ok := recv(t, ib).(timedOut); !ok {
		t.Fatal("no timeout")
	}
}

func TestContinue(t *testing.T) {
	n := newNode(t)
	pid, ib := startProbe(t, n)
	if _, err := behaviour.Call(ctxT(t), pid, cont{}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, ib).(continued); m.n != 7 {
		t.Fatalf("continue state %d", m.n)
	}
	// InitContinue runs HandleContinue before any message.
	ib2, _ := n.NewInbox()
	_, err := behaviour.Start[*probeState](n, &probe{report: ib2.PID(), init: func(*actor.Context) (*probeState, error) {
		return behaviour.InitContinue(&probeState{n: 1}, 2)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if m := recv(t, ib2).(continued); m.n != 3 {
		t.Fatalf("init continue state %d", m.n)
	}
}

func TestNamedStart(t *testing.T) {
	n := newNode(t)
	pid, _ := startProbe(t, n, behaviour.WithName("probe"))
	if got, ok := n.WhereIs("probe"); !ok || got != pid {
		t.Fatal("name not registered")
	}
	_, err := behaviour.Start[*probeState](n, &probe{}, behaviour.WithName("probe"))
	if !errors.Is(err, actor.ErrNameTaken) {
		t.Fatalf("second start: %v", err)
	}
}

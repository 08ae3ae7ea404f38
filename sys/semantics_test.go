package sys_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/arbor-otp/arbor/sys"
)

type semCounter struct{}

func (semCounter) Init(*actor.Context) (int, error) { return 0, nil }
func (semCounter) HandleCall(c *actor.Context, _ behaviour.From, req any, n int) behaviour.Result[int] {
	if req == "self" {
		_, err := sys.GetState(c, c.Node(), c.Self())
		return behaviour.Reply(err, n)
	}
	return behaviour.Reply(n, n)
}
func (semCounter) HandleCast(_ *actor.Context, _ any, n int) behaviour.Result[int] {
	return behaviour.NoReply(n + 1)
}

func TestSysSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	pid, err := behaviour.Start[int](n, semCounter{}, behaviour.WithName("cnt"))
	if err != nil {
		t.Fatal(err)
	}
	behaviour.Cast(ctx, pid, nil)
	behaviour.Call(ctx, pid, nil)
	if s, err := sys.GetStateAs[int](ctx, n, pid); s != 1 || err != nil {
		t.Errorf("get state %v %v", s, err)
	}
	if _, err := sys.GetStateAs[string](ctx, n, pid); !errors.Is(err, sys.ErrStateType) {
		t.Errorf("get state of a wrong type: %v", err)
	}
	if s, err := sys.ReplaceState(ctx, n, pid, func(s int) int { return s + 41 }); s != 42 || err != nil {
		t.Errorf("replace %v %v", s, err)
	}
	var pe *actor.PanicError
	if _, err := sys.ReplaceState(ctx, n, pid, func(int) int { panic("no") }); !errors.As(err, &pe) {
		t.Errorf("a panicking replace: %v, want a *actor.PanicError", err)
	}
	if s, _ := sys.GetStateAs[int](ctx, n, pid); s != 42 {
		t.Errorf("state after a panicking replace %v", s)
	}
	if v, _ := behaviour.Call(ctx, pid, "self"); v == nil || !errors.Is(v.(error), actor.ErrCallSelf) {
		t.Errorf("sys on self: %v", v)
	}
	st, err := sys.GetStatus(ctx, n, pid)
	if err != nil || st.Name != "cnt" || st.Behaviour != "gen_server" || st.Mode != sys.Running || st.State != 42 {
		t.Errorf("status %+v %v", st, err)
	}
	// suspend: calls wait and time out; casts queue; resume handles them in order
	if err := sys.Suspend(ctx, n, pid); err != nil {
		t.Fatal(err)
	}
	behaviour.Cast(ctx, pid, nil)
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	_, err = behaviour.Call(short, pid, nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call to a suspended server: %v", err)
	}
	if st, _ := sys.GetStatus(ctx, n, pid); st.Mode != sys.Suspended || st.QueueLen < 1 {
		t.Errorf("suspended status %+v", st)
	}
	if err := sys.Resume(ctx, n, pid); err != nil {
		t.Fatal(err)
	}
	if v, err := behaviour.CallAs[int](ctx, pid, nil); v != 43 || err != nil {
		t.Errorf("after resume %v %v", v, err)
	}
	// statistics
	if _, err := sys.Statistics(ctx, n, pid); !errors.Is(err, sys.ErrStatisticsOff) {
		t.Errorf("statistics off: %v", err)
	}
	sys.SetStatistics(ctx, n, pid, true)
	behaviour.Call(ctx, pid, nil)
	behaviour.Cast(ctx, pid, nil)
	behaviour.Call(ctx, pid, nil)
	if s, err := sys.Statistics(ctx, n, pid); err != nil || s.MessagesIn != 3 || s.RepliesOut != 2 {
		t.Errorf("statistics %+v %v", s, err)
	}
	// trace
	var buf testkit.LogBuffer
	if err := sys.Trace(ctx, n, pid, true, sys.TraceTo(zerolog.New(&buf))); err != nil {
		t.Fatal(err)
	}
	behaviour.Call(ctx, pid, "traced")
	sys.Trace(ctx, n, pid, false)
	if out := buf.String(); !strings.Contains(out, `"event":"in"`) || !strings.Contains(out, `"event":"out"`) || !strings.Contains(out, "traced") {
		t.Errorf("trace: %s", out)
	}
	// other behaviours
	m, _ := behaviour.StartEventManager[string](n)
	if s, err := sys.GetStateAs[behaviour.EventManagerState](ctx, n, m.PID()); err != nil || len(s.Handlers) != 0 {
		t.Errorf("event manager state %+v %v", s, err)
	}
	if st, _ := sys.GetStatus(ctx, n, m.PID()); st.Behaviour != "gen_event" || !st.TrapExit {
		t.Errorf("event manager status %+v", st)
	}
	sup, _ := supervision.Start(n, nil, supervision.WithName("sup"))
	if s, err := sys.GetStateAs[supervision.SupervisorState](ctx, n, sup); err != nil || s.Name != "sup" {
		t.Errorf("supervisor state %+v %v", s, err)
	}
	if _, err := sys.ReplaceState(ctx, n, sup, func(s supervision.SupervisorState) supervision.SupervisorState { return s }); !errors.Is(err, sys.ErrUnsupported) {
		t.Errorf("replace supervisor state: %v", err)
	}
	for _, p := range []actor.PID{m.PID(), sup} {
		var tb testkit.LogBuffer
		if err := sys.Trace(ctx, n, p, true, sys.TraceTo(zerolog.New(&tb))); err != nil {
			t.Fatal(err)
		}
		if p == sup {
			supervision.CountChildren(ctx, sup)
		} else {
			m.SyncNotify(ctx, "ev")
		}
		sys.Trace(ctx, n, p, false)
		if out := tb.String(); !strings.Contains(out, `"event":"in"`) || !strings.Contains(out, `"event":"out"`) {
			t.Errorf("trace of %v: %s", p, out)
		}
	}
	if err := sys.Suspend(ctx, n, sup); err != nil {
		t.Error(err)
	}
	sys.Resume(ctx, n, sup)
	ds, _ := supervision.StartDynamic(n, supervision.Template[int]{Start: func(c *actor.Context, _ int) (actor.PID, error) {
		return c.SpawnLink(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	}}, supervision.WithMaxChildren(3))
	ds.StartChild(ctx, 1)
	if s, err := sys.GetStateAs[supervision.SupervisorState](ctx, n, ds.PID()); err != nil || len(s.Children) != 1 {
		t.Errorf("dynamic supervisor state %+v %v", s, err)
	}
	if st, _ := sys.GetStatus(ctx, n, ds.PID()); st.Behaviour != "dynamic_supervisor" {
		t.Errorf("dynamic supervisor behaviour %q", st.Behaviour)
	}
	d, _ := supervision.StartDirector(n, supervision.DirectorInit[int](func(*actor.Context) ([]supervision.DirectorSpec[int], supervision.DefaultSpec[int], error) {
		return nil, supervision.DefaultSpec[int]{}, nil
	}))
	if st, err := sys.GetStatus(ctx, n, d.PID()); err != nil || st.Behaviour != "director" {
		t.Errorf("director status %+v %v", st, err)
	}
	if _, err := sys.GetStateAs[supervision.SupervisorState](ctx, n, d.PID()); err != nil {
		t.Errorf("director state: %v", err)
	}
	if st, err := sys.GetStatus(ctx, n, sup); err != nil || st.Behaviour != "supervisor" {
		t.Errorf("supervisor status %+v %v", st, err)
	}
	plain, _ := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	if _, err := sys.GetState(ctx, n, plain); !errors.Is(err, sys.ErrUnsupported) {
		t.Errorf("plain get state: %v", err)
	}
	if st, err := sys.GetStatus(ctx, n, plain); err != nil || st.Behaviour != "" {
		t.Errorf("plain status %+v %v", st, err)
	}
	// dead and zero PIDs
	behaviour.StopServer(ctx, n, pid, nil)
	for _, p := range []actor.PID{pid, {}} {
		if _, err := sys.GetStatus(ctx, n, p); !errors.Is(err, actor.NoProc) {
			t.Errorf("status of %v: %v", p, err)
		}
		if err := sys.Suspend(ctx, n, p); !errors.Is(err, actor.NoProc) {
			t.Errorf("suspend of %v: %v", p, err)
		}
	}
}

// TestSuspendedSupervisorRestartsNothing: a suspended supervisor leaves a
// dead child's exit in its queue until Resume.
func TestSuspendedSupervisorRestartsNothing(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	sup, err := supervision.Start(n, []supervision.ChildSpec{{ID: "c", Start: func(c *actor.Context) (actor.PID, error) {
		return c.SpawnLink(actortest.ExitOnError)
	}}})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := sys.GetStateAs[supervision.SupervisorState](ctx, n, sup)
	old := st.Children[0].PID
	if err := sys.Suspend(ctx, n, sup); err != nil {
		t.Fatal(err)
	}
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, old)
	n.Send(old, errors.New("boom"))
	actortest.ReceiveAs[actor.Down](t, ib)
	st, _ = sys.GetStateAs[supervision.SupervisorState](ctx, n, sup)
	if st.Children[0].PID != old || st.Restarts != 0 {
		t.Errorf("suspended supervisor acted: %+v", st)
	}
	if err := sys.Resume(ctx, n, sup); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, actortest.Timeout, func() error {
		cs, err := supervision.WhichChildren(ctx, sup)
		if err != nil || cs[0].PID == old || cs[0].PID.IsZero() {
			return fmt.Errorf("after resume: %+v %v", cs, err)
		}
		return nil
	})
}

// TestTraceNilOption: a nil TraceOption is skipped (it used to panic).
func TestTraceNilOption(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	p, _ := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	if err := sys.Trace(ctx, n, p, true, nil); err != nil {
		t.Errorf("trace with a nil option: %v", err)
	}
	if st, _ := sys.GetStatus(ctx, n, p); !st.Tracing {
		t.Error("trace not on")
	}
}

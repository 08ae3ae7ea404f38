package sys_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/sys"
)

func TestGetStateOfGenServer(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	_ = behaviour.Cast(ctx, pid, 41)
	if _, err := behaviour.Call(ctx, pid, 1); err != nil {
		t.Fatal(err)
	}
	got, err := sys.GetStateAs[int](ctx, n, pid)
	if err != nil || got != 42 {
		t.Fatalf("GetStateAs = %v, %v; want 42", got, err)
	}
	if v, err := sys.GetState(ctx, n, pid); err != nil || v != 42 {
		t.Fatalf("GetState = %v, %v; want 42", v, err)
	}
	if _, err := sys.GetStateAs[string](ctx, n, pid); !errors.Is(err, sys.ErrStateType) {
		t.Fatalf("GetStateAs[string] err = %v, want ErrStateType", err)
	}
}

func TestReplaceState(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	got, err := sys.ReplaceState(ctx, n, pid, func(s int) int { return s + 100 })
	if err != nil || got != 100 {
		t.Fatalf("ReplaceState = %v, %v; want 100", got, err)
	}
	if v, _ := behaviour.CallAs[int](ctx, pid, "get"); v != 100 {
		t.Fatalf("state after replace = %d, want 100", v)
	}
	if _, err := sys.ReplaceState(ctx, n, pid, func(s string) string { return s }); !errors.Is(err, sys.ErrStateType) {
		t.Fatalf("ReplaceState[string] err = %v, want ErrStateType", err)
	}
}

func TestReplaceStatePanicLeavesStateUnchanged(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	_ = behaviour.Cast(ctx, pid, 7)
	_, err := sys.ReplaceState(ctx, n, pid, func(s int) int { panic("boom") })
	var pe *actor.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("ReplaceState err = %v, want a *PanicError of boom", err)
	}
	if v, err := behaviour.CallAs[int](ctx, pid, "get"); err != nil || v != 7 {
		t.Fatalf("after a panicking replace: %d, %v; want 7 and the server alive", v, err)
	}
}

func TestSuspendResume(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	if err := sys.Suspend(ctx, n, pid); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		_ = behaviour.Cast(ctx, pid, i)
	}
	// A call to a suspended server waits and times out, as in OTP.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := behaviour.Call(short, pid, "get")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call to a suspended server: %v, want DeadlineExceeded", err)
	}
	// sys requests still run.
	st, err := sys.GetStatus(ctx, n, pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != sys.Suspended || st.QueueLen != 4 || st.State != 0 {
		t.Fatalf("status of suspended server: mode %v, queue %d, state %v; want suspended, 4, 0", st.Mode, st.QueueLen, st.State)
	}
	if err := sys.Resume(ctx, n, pid); err != nil {
		t.Fatal(err)
	}
	if v, err := behaviour.CallAs[int](ctx, pid, "get"); err != nil || v != 6 {
		t.Fatalf("after resume: %d, %v; want 6", v, err)
	}
	if st, _ := sys.GetStatus(ctx, n, pid); st.Mode != sys.Running {
		t.Fatalf("mode after resume = %v", st.Mode)
	}
}

func TestSuspendedProcessStillTakesExitSignals(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	if err := sys.Suspend(ctx, n, pid); err != nil {
		t.Fatal(err)
	}
	exited := n.WatchExit(pid)
	calling := make(chan error, 1)
	go func() { _, err := behaviour.Call(ctx, pid, "get"); calling <- err }()
	testkitEventually(t, func() error {
		if st, err := sys.GetStatus(ctx, n, pid); err != nil || st.QueueLen != 1 {
			return errors.New("call not queued yet")
		}
		return nil
	})
	n.Exit(pid, actor.Kill)
	if reason := <-exited; !errors.Is(reason, actor.Killed) {
		t.Fatalf("exit reason = %v, want Killed", reason)
	}
	if err := <-calling; !errors.Is(err, actor.Killed) {
		t.Fatalf("queued call = %v, want it to fail with Killed", err)
	}
}

func TestSuspendedTrappedExitWaitsForResume(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	ib, err := n.NewInbox(actor.WithTrapExit())
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	if err := sys.Suspend(ctx, n, ib.PID()); err != nil {
		t.Fatal(err)
	}
	n.Exit(ib.PID(), errors.New("go away"))
	if st, err := sys.GetStatus(ctx, n, ib.PID()); err != nil || st.QueueLen != 1 || ib.Len() != 0 {
		t.Fatalf("suspended: status %+v, %v, inbox %d; want the Exit queued, not handled", st, err, ib.Len())
	}
	if err := sys.Resume(ctx, n, ib.PID()); err != nil {
		t.Fatal(err)
	}
	m, err := ib.Receive(ctx)
	if ex, ok := m.(actor.Exit); err != nil || !ok || ex.Reason.Error() != "go away" {
		t.Fatalf("after resume got %v, %v; want the trapped Exit", m, err)
	}
}

func TestStatistics(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	if _, err := sys.Statistics(ctx, n, pid); !errors.Is(err, sys.ErrStatisticsOff) {
		t.Fatalf("statistics while off: %v", err)
	}
	if err := sys.SetStatistics(ctx, n, pid, true); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_ = behaviour.Cast(ctx, pid, 1)
	}
	for range 2 {
		if _, err := behaviour.Call(ctx, pid, "get"); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sys.Statistics(ctx, n, pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.MessagesIn != 5 || st.RepliesOut != 2 || st.Since.IsZero() {
		t.Fatalf("statistics = %+v; want 5 in, 2 out", st)
	}
	if status, _ := sys.GetStatus(ctx, n, pid); status.Stats == nil || status.Stats.MessagesIn != 5 {
		t.Fatalf("status stats = %+v", status.Stats)
	}
	if err := sys.SetStatistics(ctx, n, pid, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Statistics(ctx, n, pid); !errors.Is(err, sys.ErrStatisticsOff) {
		t.Fatalf("statistics after off: %v", err)
	}
}

func TestGetStatus(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	var pid actor.PID
	if err := ib.Do(ctx, func(c *actor.Context) error {
		var err error
		pid, err = behaviour.StartLink[int](c, counter{}, behaviour.WithName("counter"))
		return err
	}); err != nil || pid.IsZero() {
		t.Fatalf("start: %v", err)
	}
	_, _ = ib.Monitor(ctx, pid)
	st, err := sys.GetStatus(ctx, n, pid)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case st.PID != pid, st.Name != "counter", st.Behaviour != "gen_server", st.Mode != sys.Running:
		t.Fatalf("status %+v", st)
	case st.Parent != ib.PID(), len(st.Links) != 1 || st.Links[0] != ib.PID():
		t.Fatalf("parent %v links %v; want the inbox", st.Parent, st.Links)
	case len(st.MonitoredBy) != 1 || st.MonitoredBy[0] != ib.PID():
		t.Fatalf("monitored by %v", st.MonitoredBy)
	case st.State != 0, st.Started.IsZero(), st.Uptime < 0, st.Memory <= 0, st.Tracing, st.Stats != nil:
		t.Fatalf("status %+v", st)
	}
}

func TestPlainProcess(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	if _, err := sys.GetState(ctx, n, ib.PID()); !errors.Is(err, sys.ErrUnsupported) {
		t.Fatalf("GetState of a plain process: %v, want ErrUnsupported", err)
	}
	if _, err := sys.ReplaceState(ctx, n, ib.PID(), func(s int) int { return s }); !errors.Is(err, sys.ErrUnsupported) {
		t.Fatalf("ReplaceState of a plain process: %v, want ErrUnsupported", err)
	}
	st, err := sys.GetStatus(ctx, n, ib.PID())
	if err != nil || st.Behaviour != "" || st.State != nil {
		t.Fatalf("status %+v, %v", st, err)
	}
	if err := sys.Suspend(ctx, n, ib.PID()); err != nil {
		t.Fatal(err)
	}
	_ = n.Send(ib.PID(), "held")
	if err := sys.Resume(ctx, n, ib.PID()); err != nil {
		t.Fatal(err)
	}
	if m, err := ib.Receive(ctx); err != nil || m != "held" {
		t.Fatalf("after resume got %v, %v", m, err)
	}
}

func TestErrors(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	other := newNode(t)
	pid := startCounter(t, n)
	foreign := startCounter(t, other)
	if err := behaviour.StopServer(ctx, n, pid, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.GetStatus(ctx, n, pid); !errors.Is(err, actor.NoProc) {
		t.Fatalf("dead pid: %v, want NoProc", err)
	}
	if err := sys.Suspend(ctx, n, actor.PID{}); !errors.Is(err, actor.ErrZeroPID) {
		t.Fatalf("zero pid: %v", err)
	}
	if _, err := sys.GetState(ctx, n, foreign); !errors.Is(err, sys.ErrNotLocal) {
		t.Fatalf("pid of another node: %v, want ErrNotLocal", err)
	}
}

func TestBusyProcessTimesOut(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	b := block{entered: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { _, err := behaviour.Call(ctx, pid, b); done <- err }()
	<-b.entered
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err := sys.GetState(short, n, pid)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetState of a busy server: %v, want DeadlineExceeded", err)
	}
	// A Suspend that timed out did not suspend it, and never will.
	short, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
	err = sys.Suspend(short, n, pid)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Suspend of a busy server: %v, want DeadlineExceeded", err)
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v, err := sys.GetStateAs[int](ctx, n, pid); err != nil || v != 0 {
		t.Fatalf("GetState after: %v, %v", v, err)
	}
	if st, err := sys.GetStatus(ctx, n, pid); err != nil || st.Mode != sys.Running {
		t.Fatalf("after a timed-out Suspend: %v, %v; want running", st.Mode, err)
	}
}

func TestSysFromInsideTheProcess(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	var selfErr error
	var listed []sys.ProcessInfo
	if err := ib.Do(ctx, func(c *actor.Context) error {
		selfErr = sys.Suspend(c, n, c.Self())
		listed = sys.Processes(c, n)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(selfErr, actor.ErrCallSelf) {
		t.Fatalf("sys on itself: %v, want ErrCallSelf", selfErr)
	}
	if len(listed) != 1 || !listed[0].Answered || listed[0].PID != ib.PID() {
		t.Fatalf("Processes from inside: %+v", listed)
	}
}

// A node stops with a process still suspended: the Kill of Stop wakes it.
func TestNodeStopsWithSuspendedProcess(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	if err := sys.Suspend(ctx, n, pid); err != nil {
		t.Fatal(err)
	}
	_ = behaviour.Cast(ctx, pid, 1)
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("stop node with a suspended process: %v", err)
	}
	if n.IsAlive(pid) {
		t.Fatal("suspended process survived the node")
	}
}

// copying is a GenServer whose map state sys sees through CopyState.
type copying struct{}

func (copying) Init(*actor.Context) (map[string]int, error) { return map[string]int{"a": 1}, nil }

func (copying) HandleCast(_ *actor.Context, msg any, s map[string]int) behaviour.Result[map[string]int] {
	s[msg.(string)]++
	return behaviour.NoReply(s)
}

func (copying) CopyState(s map[string]int) map[string]int {
	out := make(map[string]int, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

func TestStateCopier(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid, err := behaviour.Start[map[string]int](n, copying{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sys.GetStateAs[map[string]int](ctx, n, pid)
	if err != nil || s["a"] != 1 {
		t.Fatalf("state %v, %v", s, err)
	}
	for range 100 { // the server changes its map while the test reads the copy
		_ = behaviour.Cast(ctx, pid, "a")
		_ = s["a"]
	}
	if s["a"] != 1 {
		t.Fatalf("the copy changed: %v", s)
	}
}

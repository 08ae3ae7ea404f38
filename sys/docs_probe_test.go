package sys_test

import (
	"errors"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/sys"
)

// TestProbeSuspendedProcessSignals checks docs/otp-mapping.md's promises
// for sys:suspend: a suspended process still answers sys requests, an exit
// signal ends one that does not trap exits, a trapped exit waits in its
// queue until Resume, and a sys request overtakes queued messages.
func TestProbeSuspendedProcessSignals(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	boom := errors.New("boom")

	pid, err := behaviour.Start[int](n, semCounter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Suspend(ctx, n, pid); err != nil {
		t.Fatal(err)
	}
	if err := sys.Suspend(ctx, n, pid); err != nil {
		t.Errorf("suspend of a suspended process: %v", err)
	}
	for range 3 {
		behaviour.Cast(ctx, pid, nil)
	}
	// the sys request overtakes the three casts
	if s, err := sys.GetStateAs[int](ctx, n, pid); err != nil || s != 0 {
		t.Errorf("state of a suspended server %v %v", s, err)
	}
	if s, err := sys.ReplaceState(ctx, n, pid, func(s int) int { return s + 10 }); err != nil || s != 10 {
		t.Errorf("replace state of a suspended server %v %v", s, err)
	}
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, pid)
	if err := n.Exit(pid, boom); err != nil {
		t.Fatal(err)
	}
	if d := actortest.ReceiveAs[actor.Down](t, ib); !errors.Is(d.Reason, boom) {
		t.Errorf("exit signal to a suspended process: %v", d.Reason)
	}

	// trapping: the Exit waits until Resume, then the handler sees it
	got := make(chan any, 4)
	tr, err := n.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		got <- msg
		return nil
	}), actor.WithTrapExit())
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Suspend(ctx, n, tr); err != nil {
		t.Fatal(err)
	}
	n.Send(tr, "first")
	if err := n.Exit(tr, boom); err != nil {
		t.Fatal(err)
	}
	if st, err := sys.GetStatus(ctx, n, tr); err != nil || st.Mode != sys.Suspended || st.QueueLen != 2 {
		t.Errorf("suspended trapper: %+v %v", st, err)
	}
	if len(got) != 0 {
		t.Errorf("a suspended process handled %v", <-got)
	}
	if err := sys.Resume(ctx, n, tr); err != nil {
		t.Fatal(err)
	}
	if err := sys.Resume(ctx, n, tr); err != nil {
		t.Errorf("resume of a running process: %v", err)
	}
	if m := <-got; m != "first" {
		t.Errorf("first after resume: %v", m)
	}
	if x, ok := (<-got).(actor.Exit); !ok || !errors.Is(x.Reason, boom) {
		t.Errorf("second after resume: %+v", x)
	}
	// an event manager refuses replace_state
	m, err := behaviour.StartEventManager[string](n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.ReplaceState(ctx, n, m.PID(), func(s behaviour.EventManagerState) behaviour.EventManagerState { return s }); !errors.Is(err, sys.ErrUnsupported) {
		t.Errorf("replace state of an event manager: %v", err)
	}
	n.Kill(tr)
}

// TestNilNodeRefused: every function of sys given a nil node returns an
// error wrapping actor.ErrNilNode (or, for Processes, an empty list); they
// panicked.
func TestNilNodeRefused(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	pid, err := n.Spawn(actortest.ExitOnError)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.GetState(ctx, nil, pid); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("GetState: %v", err)
	}
	if _, err := sys.GetStatus(ctx, nil, pid); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("GetStatus: %v", err)
	}
	if err := sys.Suspend(ctx, nil, pid); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("Suspend: %v", err)
	}
	if _, err := sys.Tree(ctx, nil, pid); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("Tree: %v", err)
	}
	if _, err := sys.ApplicationTrees(ctx, nil); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("ApplicationTrees: %v", err)
	}
	if l := sys.Processes(ctx, nil); len(l) != 0 {
		t.Errorf("Processes: %v", l)
	}
	n.Kill(pid)
}

// TestProbeStatusOfALinkedServer: sys:get_status names the parent of a
// server started with StartLink and its links, and what it monitors.
func TestProbeStatusOfALinkedServer(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	parent := actortest.NewInbox(t, n)
	var pid actor.PID
	if err := parent.Do(ctx, func(c *actor.Context) error {
		var err error
		pid, err = behaviour.StartLink[int](c, semCounter{}, behaviour.WithName("linked"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st, err := sys.GetStatus(ctx, n, pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Parent != parent.PID() || len(st.Links) != 1 || st.Links[0] != parent.PID() || st.Name != "linked" || st.Behaviour != "gen_server" {
		t.Errorf("status %+v", st)
	}
	if _, err := parent.Monitor(ctx, pid); err != nil {
		t.Fatal(err)
	}
	st, _ = sys.GetStatus(ctx, n, pid)
	if len(st.MonitoredBy) != 1 || st.MonitoredBy[0] != parent.PID() {
		t.Errorf("monitored by %v", st.MonitoredBy)
	}
	if err := behaviour.StopServer(ctx, n, pid, nil); err != nil {
		t.Fatal(err)
	}
}

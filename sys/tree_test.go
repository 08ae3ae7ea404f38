package sys_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/arbor-otp/arbor/sys"
)

func counterSpec(id string) supervision.ChildSpec {
	return supervision.ChildSpec{ID: id, Start: func(c *actor.Context) (actor.PID, error) {
		return behaviour.StartLink[int](c, counter{})
	}}
}

func counterTemplate() supervision.Template[int] {
	return supervision.Template[int]{Start: func(c *actor.Context, _ int) (actor.PID, error) {
		return behaviour.StartLink[int](c, counter{})
	}}
}

func directorSpec(id string) supervision.ChildSpec {
	return supervision.DirectorChildSpec(id, supervision.DirectorInit[int](
		func(*actor.Context) ([]supervision.DirectorSpec[int], supervision.DefaultSpec[int], error) {
			return []supervision.DirectorSpec[int]{{ID: "d1", Start: func(c *actor.Context, _ []int) (actor.PID, error) {
				return behaviour.StartLink[int](c, counter{})
			}}}, supervision.DefaultSpec[int]{}, nil
		}))
}

func TestTree(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	root, err := supervision.Start(n, []supervision.ChildSpec{
		counterSpec("w1"),
		supervision.SupervisorSpec("inner", []supervision.ChildSpec{counterSpec("w2"), counterSpec("w3")}),
		supervision.DynamicSpec("dyn", counterTemplate()),
		directorSpec("dir"),
	}, supervision.WithName("root"))
	if err != nil {
		t.Fatal(err)
	}
	defer supervision.Stop(ctx, n, root)
	kids, _ := supervision.WhichChildren(ctx, root)
	if _, err := supervision.DynamicOf[int](kids[2].PID).StartChild(ctx, 0); err != nil {
		t.Fatal(err)
	}

	tree, err := sys.Tree(ctx, n, root)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(tree); got != "supervisor(w1:gen_server inner:supervisor(w2:gen_server w3:gen_server) dyn:dynamic_supervisor(:gen_server) dir:director(d1:gen_server))" {
		t.Fatalf("tree = %s", got)
	}
	if _, err := sys.Tree(ctx, n, kids[0].PID); !errors.Is(err, supervision.ErrNotSupervisor) {
		t.Fatalf("tree of a worker: %v, want ErrNotSupervisor", err)
	}

	st, err := sys.GetStateAs[supervision.SupervisorState](ctx, n, root)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "root" || st.Strategy != supervision.OneForOne || len(st.Children) != 4 || st.MaxRestarts != supervision.DefaultMaxRestarts {
		t.Fatalf("supervisor state %+v", st)
	}
	if _, err := sys.ReplaceState(ctx, n, root, func(s supervision.SupervisorState) supervision.SupervisorState { return s }); !errors.Is(err, sys.ErrUnsupported) {
		t.Fatalf("replace a supervisor's state: %v, want ErrUnsupported", err)
	}
	if st, err := sys.GetStateAs[supervision.SupervisorState](ctx, n, kids[2].PID); err != nil || len(st.Children) != 1 {
		t.Fatalf("dynamic supervisor state %+v, %v", st, err)
	}
	if st, err := sys.GetStateAs[supervision.SupervisorState](ctx, n, kids[3].PID); err != nil || len(st.Children) != 1 || st.Children[0].ID != "d1" {
		t.Fatalf("director state %+v, %v", st, err)
	}

	// Suspending a supervisor delays its restarts until Resume.
	if err := sys.Suspend(ctx, n, root); err != nil {
		t.Fatal(err)
	}
	exited := n.WatchExit(kids[0].PID)
	_ = n.Kill(kids[0].PID)
	<-exited
	if st, _ := sys.GetStatus(ctx, n, root); st.QueueLen != 1 {
		t.Fatalf("suspended supervisor queue = %d, want its child's Exit", st.QueueLen)
	}
	if err := sys.Resume(ctx, n, root); err != nil {
		t.Fatal(err)
	}
	after, _ := supervision.WhichChildren(ctx, root)
	if after[0].State != supervision.Running || after[0].PID == kids[0].PID {
		t.Fatalf("after resume: %+v, want w1 restarted", after[0])
	}
}

// render prints a tree as behaviour(id:behaviour ...).
func render(t sys.TreeNode) string {
	var b strings.Builder
	b.WriteString(t.Behaviour)
	if t.Children == nil {
		return b.String()
	}
	b.WriteString("(")
	for i, c := range t.Children {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(c.ID + ":" + render(c))
	}
	b.WriteString(")")
	return b.String()
}

type note struct{ got []string }

func (h *note) HandleEvent(e string) error { h.got = append(h.got, e); return nil }

func TestEventManagerState(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	m, err := behaviour.StartEventManager[string](n)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx, n)
	if err := m.AddHandler(ctx, "a", &note{}); err != nil {
		t.Fatal(err)
	}
	_ = m.SyncNotify(ctx, "hello")
	st, err := sys.GetStateAs[behaviour.EventManagerState](ctx, n, m.PID())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Handlers) != 1 || st.Handlers[0].ID != "a" || st.Handlers[0].Handler.(*note).got[0] != "hello" {
		t.Fatalf("event manager state %+v", st)
	}
	if status, _ := sys.GetStatus(ctx, n, m.PID()); status.Behaviour != "gen_event" {
		t.Fatalf("behaviour %q", status.Behaviour)
	}
	if _, err := sys.ReplaceState(ctx, n, m.PID(), func(s behaviour.EventManagerState) behaviour.EventManagerState { return s }); !errors.Is(err, sys.ErrUnsupported) {
		t.Fatalf("replace an event manager's state: %v, want ErrUnsupported", err)
	}
}

func TestProcesses(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	root, err := supervision.Start(n, []supervision.ChildSpec{counterSpec("w1")}, supervision.WithName("root"))
	if err != nil {
		t.Fatal(err)
	}
	defer supervision.Stop(ctx, n, root)
	busy := startCounter(t, n, behaviour.WithName("busy"))
	b := block{entered: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { _, err := behaviour.Call(ctx, busy, b); done <- err }()
	<-b.entered
	_ = behaviour.Cast(ctx, busy, 1)
	_ = behaviour.Cast(ctx, busy, 1)

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	ps := sys.Processes(short, n)
	cancel()
	close(b.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	byPID := map[actor.PID]sys.ProcessInfo{}
	for _, p := range ps {
		byPID[p.PID] = p
	}
	if len(ps) != n.CountProcesses() {
		t.Fatalf("listed %d processes, node has %d", len(ps), n.CountProcesses())
	}
	r := byPID[root]
	if !r.Answered || r.Name != "root" || r.Behaviour != "supervisor" || len(r.Links) != 1 || r.Memory <= 0 {
		t.Fatalf("root listed as %+v", r)
	}
	if p := byPID[busy]; p.Answered || p.Name != "busy" || p.Behaviour != "gen_server" || p.QueueLen != 2 {
		t.Fatalf("busy process listed as answered: %+v", p)
	}

	// Once it is free it answers, with its queue.
	if v, err := behaviour.CallAs[int](ctx, busy, "get"); err != nil || v != 2 {
		t.Fatalf("busy after release: %d, %v", v, err)
	}
	if err := sys.Suspend(ctx, n, busy); err != nil {
		t.Fatal(err)
	}
	_ = behaviour.Cast(ctx, busy, 1)
	for _, p := range sys.Processes(ctx, n) {
		if p.PID == busy && (!p.Answered || p.Name != "busy" || p.Mode != sys.Suspended || p.QueueLen != 1) {
			t.Fatalf("busy listed as %+v", p)
		}
	}
}

func TestTrace(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	var buf testkit.LogBuffer
	l := zerolog.New(&buf)
	if err := sys.Trace(ctx, n, pid, true, sys.TraceTo(l)); err != nil {
		t.Fatal(err)
	}
	_ = behaviour.Cast(ctx, pid, 2)
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	if err := ib.Do(ctx, func(c *actor.Context) error { _, err := behaviour.Call(c, pid, 3); return err }); err != nil {
		t.Fatal(err)
	}
	if st, _ := sys.GetStatus(ctx, n, pid); !st.Tracing {
		t.Fatal("status does not show the trace")
	}
	if err := sys.Trace(ctx, n, pid, false); err != nil {
		t.Fatal(err)
	}
	_ = behaviour.Cast(ctx, pid, 1) // not traced
	if _, err := behaviour.Call(ctx, pid, "get"); err != nil {
		t.Fatal(err)
	}
	ev := buf.Events(t)
	if len(ev) != 3 {
		t.Fatalf("%d trace events, want 3: %v", len(ev), ev)
	}
	want := []map[string]any{
		{"event": "in", "kind": "cast", "type": "int", "msg": "2"},
		{"event": "in", "kind": "call", "type": "int", "msg": "3", "from": ib.PID().String()},
		{"event": "out", "to": ib.PID().String(), "type": "int", "reply": "5"},
	}
	for i, w := range want {
		for k, v := range w {
			if ev[i][k] != v {
				t.Fatalf("event %d: %s = %v, want %v (%v)", i, k, ev[i][k], v, ev[i])
			}
		}
		if ev[i]["sys"] != "trace" || ev[i]["pid"] != pid.String() {
			t.Fatalf("event %d lacks sys/pid: %v", i, ev[i])
		}
	}
}

func TestTraceLimit(t *testing.T) {
	n, ctx := newNode(t), ctxT(t)
	pid := startCounter(t, n)
	var buf testkit.LogBuffer
	if err := sys.Trace(ctx, n, pid, true, sys.TraceTo(zerolog.New(&buf)), sys.TraceLimit(3), sys.TracePerSecond(1000)); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		_ = behaviour.Cast(ctx, pid, 1)
	}
	if v, _ := behaviour.CallAs[int](ctx, pid, "get"); v != 20 {
		t.Fatalf("state %d", v)
	}
	ev := buf.Events(t)
	if len(ev) != 4 || ev[3]["event"] != "limit" {
		t.Fatalf("want 3 events and the limit: %v", ev)
	}
}

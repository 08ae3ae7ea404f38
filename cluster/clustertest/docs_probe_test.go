package clustertest_test

// The code of docs/testing.md, as written there (with the helpers it
// leaves to the reader filled in), run as tests: what the page shows must
// compile and do what its comments say.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// docHandler is the page's myHandler: it records the unregistrations.
type docHandler struct {
	testkit.List[string]
}

func (h *docHandler) OnProcessUnregistered(_, name string, _ actor.PID, _ any, r registry.Reason) {
	h.Add(fmt.Sprintf("%s %T", name, r))
}

func docSpawn(t *testing.T, n *actor.Node) actor.PID {
	t.Helper()
	pid, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func docRegister(t *testing.T, reg *registry.Registry, name string, pid actor.PID) {
	t.Helper()
	if err := reg.Register(ctxT(t), "s", name, pid, nil); err != nil {
		t.Fatal(err)
	}
}

// TestDocsMyService is "A cluster in a test": after the partition each
// side gets NodeDown, a monitor across fires with NoConnection and a call
// across fails with it; after HealAll, WaitConnected returns.
func TestDocsMyService(t *testing.T) {
	ctx := ctxT(t)
	c := clustertest.Start(t, 3) // n1@mem:1, n2@mem:2, n3@mem:3, connected
	n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
	if n1.Name() != "n1@mem:1" || n3.Name() != "n3@mem:3" {
		t.Errorf("names %s %s, as the page says n1@mem:1, n3@mem:3", n1.Name(), n3.Name())
	}
	watcher := newInbox(t, n1)
	if err := n1.MonitorNodes(watcher.PID(), true); err != nil {
		t.Fatal(err)
	}
	srv, err := n2.Node().Spawn(echo)
	if err != nil {
		t.Fatal(err)
	}
	mon := newInbox(t, n1)
	if _, err := mon.Monitor(ctx, srv); err != nil {
		t.Fatal(err)
	}
	c.Partition([]*cluster.Cluster{n1}, []*cluster.Cluster{n2, n3})
	downs := map[string]bool{}
	for len(downs) < 2 {
		if d, ok := recvAny(t, watcher).(cluster.NodeDown); ok {
			downs[d.Node] = true
		}
	}
	if !downs[n2.Name()] || !downs[n3.Name()] {
		t.Errorf("n1's NodeDowns %v", downs)
	}
	if d := recv[actor.Down](t, mon); d.PID != srv || !errors.Is(d.Reason, actor.NoConnection) {
		t.Errorf("monitor across the split: %+v", d)
	}
	if _, err := actor.Call(actor.WithNode(ctx, n1.Node()), srv, wrapperspb.String("ping")); !errors.Is(err, actor.NoConnection) {
		t.Errorf("call across the split: %v, want NoConnection", err)
	}
	c.HealAll()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
}

func recvAny(t *testing.T, ib *actor.Inbox) any { return recv[any](t, ib) }

// TestDocsLeaderConflict is "A registry handler through a netsplit".
func TestDocsLeaderConflict(t *testing.T) {
	regs, handlers := map[string]*registry.Registry{}, map[string]*docHandler{}
	c := clustertest.Start(t, 3, clustertest.WithSetup(func(n *cluster.Cluster) error {
		reg, h := registry.NewCluster(n), &docHandler{}
		regs[n.Name()], handlers[n.Name()] = reg, h
		return reg.AddScope("s", registry.WithEventHandler(h))
	}))
	n1, n2 := c.Node(0), c.Node(1)
	n3 := c.Node(2)
	c.Partition([]*cluster.Cluster{n1}, []*cluster.Cluster{n2, n3})
	// Wait until the scopes saw the split: s.Nodes() on n1 is empty.
	testkit.Eventually(t, 10*time.Second, func() error {
		s, err := regs[n1.Name()].Scope("s")
		if err != nil {
			return err
		}
		if nodes := s.Nodes(); len(nodes) != 0 {
			return fmt.Errorf("n1's scope still sees %v", nodes)
		}
		return nil
	})
	p1, p2 := docSpawn(t, n1.Node()), docSpawn(t, n2.Node())
	exited := n1.Node().WatchExit(p1)
	docRegister(t, regs[n1.Name()], "leader", p1)
	docRegister(t, regs[n2.Name()], "leader", p2) // later: the default keeps it
	c.HealAll()
	// Wait until every node's Lookup("s", "leader") is p2; then:
	testkit.Eventually(t, 10*time.Second, func() error {
		for name, reg := range regs {
			if pid, _, err := reg.Lookup("s", "leader"); err != nil || pid != p2 {
				return fmt.Errorf("%s: %v %v", name, pid, err)
			}
		}
		return nil
	})
	var ce *registry.ConflictError
	if err := <-exited; !errors.As(err, &ce) {
		t.Fatalf("the loser exited with %v", err)
	}
	// ... handlers[n1.Name()] saw OnProcessUnregistered with ConflictResolution ...
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, e := range handlers[n1.Name()].All() {
			if e == "leader registry.ConflictResolution" {
				return nil
			}
		}
		return fmt.Errorf("n1's handler saw %v", handlers[n1.Name()].All())
	})
}

// TestDocsSplitFakeTime is "Fake time and seeds": a cluster made and
// stopped inside a synctest bubble, a silent cut seen as
// ErrHeartbeatTimeout in no real time.
func TestDocsSplitFakeTime(t *testing.T) {
	start := time.Now()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // fake time
		defer cancel()
		c, err := clustertest.New(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Stop(ctx)
		n1, n2 := c.Node(0), c.Node(1)
		ib, err := n1.Node().NewInbox()
		if err != nil {
			t.Fatal(err)
		}
		defer ib.Close()
		if err := n1.MonitorNodes(ib.PID(), true); err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		c.Cut(n1, n2)
		for {
			m, err := ib.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := m.(cluster.NodeDown); ok {
				if d.Node != n2.Name() || !errors.Is(d.Reason, cluster.ErrHeartbeatTimeout) {
					t.Fatalf("NodeDown %+v, want n2 with ErrHeartbeatTimeout", d)
				}
				break
			}
		}
		// "after the heartbeat timeout (600 ms by default here) plus an interval"
		if took := time.Since(before); took < 600*time.Millisecond || took > 2*time.Second {
			t.Errorf("NodeDown after %v of fake time", took)
		}
		c.HealAll()
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the fake-time split took %v of real time", took)
	}
}

// TestDocsNamedCalls: docs/clustering.md and cluster's method docs on calls
// by name: CallNamed to a name nobody holds on another node is a
// *CallError naming it and wrapping NoProc; SendNamed to a local free name
// is ErrUnknownName and to a remote one is dropped without error; MultiCall
// lists the node without the name as bad, in the order given.
func TestDocsNamedCalls(t *testing.T) {
	ctx := ctxT(t)
	c := clustertest.Start(t, 3)
	a, b, d := c.Node(0), c.Node(1), c.Node(2)
	srv, err := b.Node().Spawn(echo)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Node().Register("svc", srv); err != nil {
		t.Fatal(err)
	}
	if v, err := a.CallNamed(ctx, b.Name(), "svc", wrapperspb.String("hi")); err != nil || v.(*wrapperspb.StringValue).GetValue() != "hi" {
		t.Fatalf("CallNamed: %v %v", v, err)
	}
	_, err = a.CallNamed(ctx, b.Name(), "nobody", wrapperspb.String("hi"))
	var ce *actor.CallError
	if !errors.As(err, &ce) || !errors.Is(err, actor.NoProc) || ce.Name != "nobody" || ce.Node != b.Name() {
		t.Errorf("CallNamed of a free name: %v (%+v)", err, ce)
	}
	if _, err := a.CallNamed(ctx, b.Name(), "svc", "not protobuf"); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Errorf("CallNamed with a string: %v", err)
	}
	if err := a.SendNamed(a.Name(), "nobody", wrapperspb.String("x")); !errors.Is(err, actor.ErrUnknownName) {
		t.Errorf("SendNamed to a local free name: %v", err)
	}
	if err := a.SendNamed(b.Name(), "nobody", wrapperspb.String("x")); err != nil {
		t.Errorf("SendNamed to a remote free name: %v, want a silent drop", err)
	}
	if err := a.CastNamed(b.Name(), "svc", "not protobuf"); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Errorf("CastNamed with a string: %v", err)
	}
	replies, bad := a.MultiCall(ctx, []string{d.Name(), b.Name()}, "svc", wrapperspb.String("m"))
	if len(replies) != 1 || replies[b.Name()] == nil || len(bad) != 1 || bad[0] != d.Name() {
		t.Errorf("MultiCall: replies %v bad %v", replies, bad)
	}
}

// TestDocsExitSignalsCross: exit/2 across nodes (docs/clustering.md: a
// PID from any node works with Node.Exit and the Context's calls): a
// trapping process of b gets Exit{From, Reason} with From the sending
// process of a; Normal is ignored by a process that does not trap exits;
// Kill is untrappable and ends the target with Killed.
func TestDocsExitSignalsCross(t *testing.T) {
	ctx := ctxT(t)
	c := clustertest.Start(t, 2)
	a, b := c.Node(0), c.Node(1)
	boom := errors.New("boom")

	trapper := newInbox(t, b)
	if err := trapper.TrapExit(ctx, true); err != nil {
		t.Fatal(err)
	}
	sender := newInbox(t, a)
	if err := sender.Do(ctx, func(c *actor.Context) error { c.Exit(trapper.PID(), boom); return nil }); err != nil {
		t.Fatal(err)
	}
	if x := recv[actor.Exit](t, trapper); x.From != sender.PID() || x.Reason == nil || x.Reason.Error() != boom.Error() {
		t.Errorf("exit/2 across nodes to a trapper: %+v", x)
	}

	plain, err := b.Node().Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	watch := newInbox(t, b)
	if _, err := watch.Monitor(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if err := a.Node().Exit(plain, actor.Normal); err != nil {
		t.Fatalf("Node.Exit across nodes: %v", err)
	}
	// Normal is ignored; then Kill ends even a trapper, with Killed
	if _, err := watch.Monitor(ctx, trapper.PID()); err != nil {
		t.Fatal(err)
	}
	if err := a.Node().Exit(trapper.PID(), actor.Kill); err != nil {
		t.Fatal(err)
	}
	d := recv[actor.Down](t, watch)
	if d.PID != trapper.PID() || !errors.Is(d.Reason, actor.Killed) {
		t.Errorf("kill across nodes: %+v, want the trapper's Down with Killed", d)
	}
	// (a sys request is handled after the signals queued before it)
	if _, err := b.Node().ProcessInfo(ctx, plain); err != nil || !b.Node().IsAlive(plain) {
		t.Error("a Normal exit signal across nodes ended a process that does not trap exits")
	}
	b.Node().Kill(plain)
}

// kindSrv reports which callback each message reached.
type kindSrv struct{ got chan string }

func (kindSrv) Init(*actor.Context) (int, error) { return 0, nil }
func (s kindSrv) HandleCast(_ *actor.Context, msg any, n int) behaviour.Result[int] {
	s.got <- "cast " + msg.(*wrapperspb.StringValue).GetValue()
	return behaviour.NoReply(n)
}
func (s kindSrv) HandleInfo(_ *actor.Context, msg any, n int) behaviour.Result[int] {
	if m, ok := msg.(*wrapperspb.StringValue); ok {
		s.got <- "info " + m.GetValue()
	}
	return behaviour.NoReply(n)
}

// TestDocsCastAcrossNodes: otp-mapping.md's gen_server:cast rows: Cast and
// CastNamed from another node reach HandleCast, a plain send (SendNamed,
// actor.Send) reaches HandleInfo.
func TestDocsCastAcrossNodes(t *testing.T) {
	ctx := ctxT(t)
	c := clustertest.Start(t, 2)
	a, b := c.Node(0), c.Node(1)
	got := make(chan string, 8)
	pid, err := behaviour.Start[int](b.Node(), kindSrv{got}, behaviour.WithName("kinds"))
	if err != nil {
		t.Fatal(err)
	}
	from := actor.WithNode(ctx, a.Node())
	if err := behaviour.Cast(from, pid, wrapperspb.String("1")); err != nil {
		t.Fatal(err)
	}
	if err := a.CastNamed(b.Name(), "kinds", wrapperspb.String("2")); err != nil {
		t.Fatal(err)
	}
	if err := a.SendNamed(b.Name(), "kinds", wrapperspb.String("3")); err != nil {
		t.Fatal(err)
	}
	if err := actor.Send(from, pid, wrapperspb.String("4")); err != nil {
		t.Fatal(err)
	}
	want := []string{"cast 1", "cast 2", "info 3", "info 4"}
	for _, w := range want {
		select {
		case g := <-got:
			if g != w {
				t.Errorf("got %q, want %q", g, w)
			}
		case <-ctx.Done():
			t.Fatalf("no %q", w)
		}
	}
}

package clustertest_test

// Black-box probes of the test kit's promise that its nodes are real
// cluster nodes: what crosses between two of them obeys the network's
// faults and wire rules, even though they share one Go process.

import (
	"errors"
	"testing"

	pa "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
)

// TestWithNodeOriginCrossesTheNetwork: a Call, Send or Cast made outside any
// process with actor.WithNode(ctx, a) to a process of node b goes from a
// over the network (WithNode's promise), so a cut between a and b fails it
// and a message that is not protobuf is refused, as between two machines.
// It was delivered by b itself, because b runs in the same Go process:
// the calls went through the cut, and strings crossed "nodes".
func TestWithNodeOriginCrossesTheNetwork(t *testing.T) {
	c := clustertest.Start(t, 2)
	a, b := c.Node(0), c.Node(1)
	ib := newInbox(t, b)
	ctx := actor.WithNode(ctxT(t), a.Node())

	if err := actor.Send(ctx, ib.PID(), "not protobuf"); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("Send of a string from a to b: %v, want ErrNotProtoMessage", err)
	}
	if err := actor.Cast(ctx, ib.PID(), "not protobuf"); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("Cast of a string from a to b: %v, want ErrNotProtoMessage", err)
	}
	if _, err := actor.Call(ctx, ib.PID(), "not protobuf"); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("Call with a string from a to b: %v, want ErrNotProtoMessage", err)
	}
	if err := actor.Send(ctx, ib.PID(), wrapperspb.String("hi")); err != nil {
		t.Fatal(err)
	}
	if got := recv[*wrapperspb.StringValue](t, ib); got.GetValue() != "hi" {
		t.Fatalf("b got %v", got)
	}

	srv, err := b.Node().Spawn(echo)
	if err != nil {
		t.Fatal(err)
	}
	c.Cut(a, b)
	c.Reset(a, b) // loud: the session ends at once
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if v, err := actor.Call(ctx, srv, wrapperspb.String("ping")); err == nil {
		t.Fatalf("a call from a to b across a cut returned %v", v)
	}
	c.HealAll()
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if v, err := actor.Call(ctx, srv, wrapperspb.String("ping")); err != nil || v.(*wrapperspb.StringValue).GetValue() != "ping" {
		t.Fatalf("a call from a to b after the heal: %v, %v", v, err)
	}
	// Without WithNode, outside any process, the PID's own node sends.
	if v, err := actor.Call(ctxT(t), srv, "local"); err != nil || v != "local" {
		t.Fatalf("a call with a plain context: %v, %v", v, err)
	}
}

// watcher is a process that monitors (or links to, trapping exits) the
// PIDs it is sent and hands every Down and Exit to got.
type watcher struct {
	got chan any
}

type watchCmd struct {
	pid  actor.PID
	link bool
}

func (w watcher) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case watchCmd:
		if m.link {
			ctx.TrapExit(true)
			ctx.Link(m.pid)
		} else {
			ctx.Monitor(m.pid)
		}
		w.got <- "watching"
	case actor.Down, actor.Exit:
		w.got <- m
	}
	return nil
}

func startWatcher(t *testing.T, n *cluster.Cluster, target actor.PID, link bool) chan any {
	t.Helper()
	got := make(chan any, 4)
	w, err := n.Node().Spawn(watcher{got: got})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Node().Send(w, watchCmd{pid: target, link: link}); err != nil {
		t.Fatal(err)
	}
	if m := next(t, got); m != "watching" {
		t.Fatalf("watcher: %v", m)
	}
	return got
}

func next(t *testing.T, ch chan any) any {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-ctxT(t).Done():
		t.Fatal("nothing arrived")
		return nil
	}
}

func idleOn(t *testing.T, n *cluster.Cluster) actor.PID {
	t.Helper()
	pid, err := n.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			if _, ok := r.Message().(*wrapperspb.StringValue); ok {
				return nil // never answers
			}
			r.Reply(r.Message())
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestProbeCrashFiresNoConnection: monitors and links across nodes fire
// with actor.NoConnection when the other node dies as with kill -9, and a
// pending call to it fails promptly with it; subscribers get NodeDown and,
// after the restart, NodeUp; a PID of the earlier boot gets NoProc.
func TestProbeCrashFiresNoConnection(t *testing.T) {
	c := clustertest.Start(t, 2)
	a, b := c.Node(0), c.Node(1)
	target := idleOn(t, b)
	mon := startWatcher(t, a, target, false)
	lnk := startWatcher(t, a, target, true)
	nodes := newInbox(t, a)
	if err := a.MonitorNodes(nodes.PID(), true); err != nil {
		t.Fatal(err)
	}
	callErr := make(chan error, 1)
	go func() {
		_, err := actor.Call(actor.WithNode(ctxT(t), a.Node()), target, wrapperspb.String("hang"))
		callErr <- err
	}()
	bName := b.Name()
	if err := c.Crash(ctxT(t), b); err != nil {
		t.Fatal(err)
	}
	if d, ok := next(t, mon).(actor.Down); !ok || d.PID != target || !errors.Is(d.Reason, actor.NoConnection) {
		t.Fatalf("monitor: %v, want Down NoConnection", d)
	}
	if e, ok := next(t, lnk).(actor.Exit); !ok || e.From != target || !errors.Is(e.Reason, actor.NoConnection) {
		t.Fatalf("link: %v, want Exit NoConnection", e)
	}
	select {
	case err := <-callErr:
		if !errors.Is(err, actor.NoConnection) {
			t.Fatalf("pending call: %v, want NoConnection", err)
		}
	case <-ctxT(t).Done():
		t.Fatal("the pending call did not fail")
	}
	if d := recv[cluster.NodeDown](t, nodes); d.Node != bName {
		t.Fatalf("NodeDown %v", d)
	}
	b2, err := c.Restart(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if u := recv[cluster.NodeUp](t, nodes); u.Node != bName {
		t.Fatalf("NodeUp %v", u)
	}
	_ = b2
	ctx := actor.WithNode(ctxT(t), a.Node())
	if _, err := actor.Call(ctx, target, wrapperspb.Int32(1)); !errors.Is(err, actor.NoProc) {
		t.Fatalf("a call to a PID of the earlier boot: %v, want NoProc", err)
	}
	mon2 := startWatcher(t, a, target, false)
	if d, ok := next(t, mon2).(actor.Down); !ok || !errors.Is(d.Reason, actor.NoProc) {
		t.Fatalf("a monitor of a PID of the earlier boot: %v, want Down NoProc", d)
	}
}

// TestProbeExitReasonsCross: a monitor across nodes gets the process's
// own exit reason; a clean StopNode gives Killed to monitors and NodeDown
// with ErrNodeLeft.
func TestProbeExitReasonsCross(t *testing.T) {
	c := clustertest.Start(t, 2)
	a, b := c.Node(0), c.Node(1)
	boom := errors.New("boom")
	dying, err := b.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if _, ok := msg.(*wrapperspb.StringValue); ok {
			return boom
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	normal := idleOn(t, b)
	mon := startWatcher(t, a, dying, false)
	monN := startWatcher(t, a, normal, false)
	// b stops normal itself, below: a call behind the monitor on a's
	// queue to b makes sure b has set the monitor up first.
	if _, err := actor.Call(actor.WithNode(ctxT(t), a.Node()), normal, wrapperspb.Int32(0)); err != nil {
		t.Fatal(err)
	}
	if err := actor.Send(actor.WithNode(ctxT(t), a.Node()), dying, wrapperspb.String("die")); err != nil {
		t.Fatal(err)
	}
	d, ok := next(t, mon).(actor.Down)
	if !ok || d.Reason == nil || d.Reason.Error() != boom.Error() {
		t.Fatalf("monitor of a crash across nodes: %v, want Down boom", d)
	}
	if err := b.Node().Exit(normal, actor.Normal); err != nil {
		t.Fatal(err)
	}
	// An exit signal Normal does not kill a process (OTP): the next Down
	// is the Shutdown's.
	if err := b.Node().Exit(normal, actor.Shutdown); err != nil {
		t.Fatal(err)
	}
	if d, ok := next(t, monN).(actor.Down); !ok || !errors.Is(d.Reason, actor.Shutdown) {
		t.Fatalf("monitor of a process shut down across nodes: %v, want Down Shutdown", d)
	}

	other := idleOn(t, b)
	monK := startWatcher(t, a, other, false)
	// The monitor travels a's queue to b: a call behind it on the same
	// queue returns once b has set it up (else the stop below may kill
	// other first, and the monitor then rightly gets NoProc).
	if _, err := actor.Call(actor.WithNode(ctxT(t), a.Node()), other, wrapperspb.Int32(0)); err != nil {
		t.Fatal(err)
	}
	nodes := newInbox(t, a)
	if err := a.MonitorNodes(nodes.PID(), true); err != nil {
		t.Fatal(err)
	}
	if err := c.StopNode(ctxT(t), b); err != nil {
		t.Fatal(err)
	}
	if d, ok := next(t, monK).(actor.Down); !ok || !errors.Is(d.Reason, actor.Killed) {
		t.Fatalf("monitor of a process of a node that stopped: %v, want Down Killed", d)
	}
	if d := recv[cluster.NodeDown](t, nodes); !errors.Is(d.Reason, cluster.ErrNodeLeft) {
		t.Fatalf("NodeDown %v, want ErrNodeLeft", d)
	}
}

// TestProbeOrderPerPair: messages from one process to a process of
// another node arrive in order, interleaved with calls.
func TestProbeOrderPerPair(t *testing.T) {
	c := clustertest.Start(t, 2)
	a, b := c.Node(0), c.Node(1)
	ib := newInbox(t, b)
	done := make(chan error, 1)
	sender, err := a.Node().Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
		if msg != "go" {
			return nil
		}
		for i := range 500 {
			if err := ctx.Send(ib.PID(), wrapperspb.Int32(int32(i))); err != nil {
				done <- err
				return nil
			}
		}
		done <- nil
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Node().Send(sender, "go"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if got := recv[*wrapperspb.Int32Value](t, ib); got.GetValue() != int32(i) {
			t.Fatalf("message %d arrived as %d", i, got.GetValue())
		}
	}
}

// TestProtoActorPIDsAcrossMemoryNodes: a protoactor actor spawned with the
// actor system of one node of the in-memory network has a PID that names
// its node, so another node's Cluster.Proxy reaches it there (docs/
// protoactor.md, step 6), as on the real network. Every node's actors
// carried protoactor's "nonhost": a node took another's actor for one of
// its own, and its proxy named a process of its own actor system (noproc,
// or another actor with the same id).
func TestProtoActorPIDsAcrossMemoryNodes(t *testing.T) {
	c := clustertest.Start(t, 2)
	a, b := c.Node(0), c.Node(1)
	respond := func(on string) *pa.Props {
		return pa.PropsFromFunc(func(ctx pa.Context) {
			if m, ok := ctx.Message().(*wrapperspb.StringValue); ok {
				ctx.Respond(wrapperspb.String(on + ":" + m.GetValue()))
			}
		})
	}
	onA := a.Node().ActorSystem().Root.Spawn(respond("a")) // the same id as b's below
	onB := b.Node().ActorSystem().Root.Spawn(respond("b"))
	if onA.Address == onB.Address {
		t.Fatalf("actors of two nodes share the address %q", onA.Address)
	}
	px, err := a.Proxy(ctxT(t), onB)
	if err != nil {
		t.Fatal(err)
	}
	if px.NodeName() != b.Name() {
		t.Fatalf("proxy of b's actor %v runs on %s, want %s", onB, px.NodeName(), b.Name())
	}
	v, err := a.Node().Call(ctxT(t), px, wrapperspb.String("x"))
	if err != nil || v.(*wrapperspb.StringValue).GetValue() != "b:x" {
		t.Fatalf("call through the proxy: %v, %v, want b:x", v, err)
	}
	local, err := a.Proxy(ctxT(t), onA)
	if err != nil || local.NodeName() != a.Name() {
		t.Fatalf("proxy of a's own actor: %v, %v", local, err)
	}
	v, err = a.Node().Call(ctxT(t), local, wrapperspb.String("y"))
	if err != nil || v.(*wrapperspb.StringValue).GetValue() != "a:y" {
		t.Fatalf("call through the local proxy: %v, %v, want a:y", v, err)
	}
}

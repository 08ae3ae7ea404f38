package clustertest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newInbox(t testing.TB, c *cluster.Cluster) *actor.Inbox {
	t.Helper()
	ib, err := c.Node().NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ib.Close)
	return ib
}

func recv[T any](t testing.TB, ib *actor.Inbox) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := ib.Receive(ctx)
	if err != nil {
		var zero T
		t.Fatalf("waiting for %T: %v", zero, err)
	}
	v, ok := m.(T)
	if !ok {
		var zero T
		t.Fatalf("got %T %v, want %T", m, m, zero)
	}
	return v
}

var echo = actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
	if r, ok := msg.(*actor.Request); ok {
		r.Reply(r.Message())
	}
	return nil
})

// TestNoProtoactorRemote: a node of the memory network never starts
// protoactor remote (whose start replaces gRPC's process-wide logger, the
// race that kept real nodes one per process).
func TestNoProtoactorRemote(t *testing.T) {
	c := clustertest.Start(t, 3)
	for _, n := range c.Nodes() {
		started := func() (ok bool) {
			defer func() { _ = recover() }() // GetRemote panics without the extension
			return remote.GetRemote(n.Node().ActorSystem()) != nil
		}()
		if started {
			t.Errorf("%s runs protoactor remote", n.Name())
		}
	}
}

// TestNetsplitAndHeal: three nodes, n1 split from n2 and n3. A link and a
// monitor across the split fire with NoConnection, a call fails with it,
// n2 and n3 keep their session; once healed every pair reconnects and
// calls work again.
func TestNetsplitAndHeal(t *testing.T) {
	c := clustertest.Start(t, 3)
	n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
	events := newInbox(t, n1)
	if err := n1.MonitorNodes(events.PID(), true); err != nil {
		t.Fatal(err)
	}
	pid, err := n2.Node().Spawn(echo, actor.WithName("echo"))
	if err != nil {
		t.Fatal(err)
	}
	watcher := newInbox(t, n1)
	ref, err := watcher.Monitor(ctxT(t), pid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Node().Call(ctxT(t), pid, wrapperspb.String("sync")); err != nil {
		t.Fatal(err)
	}

	c.Partition([]*cluster.Cluster{n1}, []*cluster.Cluster{n2, n3})
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var down []string
	for range 2 {
		d := recv[cluster.NodeDown](t, events)
		if !errors.Is(d.Reason, cluster.ErrHeartbeatTimeout) {
			t.Errorf("NodeDown %+v, want a heartbeat timeout", d)
		}
		down = append(down, d.Node)
	}
	slices.Sort(down)
	if want := []string{n2.Name(), n3.Name()}; !slices.Equal(down, want) {
		t.Fatalf("down %v, want %v", down, want)
	}
	d := recv[actor.Down](t, watcher)
	if d.Ref != ref || !errors.Is(d.Reason, actor.NoConnection) {
		t.Fatalf("down %+v, want NoConnection", d)
	}
	if got := n2.Nodes(); !slices.Equal(got, []string{n3.Name()}) {
		t.Fatalf("n2's nodes during the split: %v", got)
	}
	if _, err := n1.CallNamed(ctxT(t), n2.Name(), "echo", wrapperspb.String("x")); !errors.Is(err, actor.NoConnection) {
		t.Fatalf("call across the split: %v, want NoConnection", err)
	}

	c.HealAll()
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	v, err := n1.CallNamed(ctxT(t), n2.Name(), "echo", wrapperspb.String("back"))
	if err != nil || v.(*wrapperspb.StringValue).GetValue() != "back" {
		t.Fatalf("call after the heal: %v %v", v, err)
	}
}

// TestDelayKeepsOrder: a delay under the heartbeat timeout keeps the
// session and the order of messages; one past it ends the session.
func TestDelayKeepsOrder(t *testing.T) {
	c := clustertest.Start(t, 2)
	n1, n2 := c.Node(0), c.Node(1)
	ib := newInbox(t, n2)
	c.Delay(n1, n2, 50*time.Millisecond)
	for i := range 100 {
		if err := n1.Node().Send(ib.PID(), wrapperspb.Int32(int32(i))); err != nil {
			t.Fatal(err)
		}
		if i == 50 {
			c.Delay(n1, n2, 0) // the rest may not overtake what is delayed
		}
	}
	for i := range 100 {
		if got := recv[*wrapperspb.Int32Value](t, ib).GetValue(); got != int32(i) {
			t.Fatalf("message %d is %d", i, got)
		}
	}
	if got := n1.Nodes(); !slices.Equal(got, []string{n2.Name()}) {
		t.Fatalf("n1's nodes after the delay: %v", got)
	}

	events := newInbox(t, n2)
	if err := n2.MonitorNodes(events.PID(), true); err != nil {
		t.Fatal(err)
	}
	c.Delay(n1, n2, 5*clustertest.DefaultHeartbeatTimeout)
	if d := recv[cluster.NodeDown](t, events); d.Node != n1.Name() {
		t.Fatalf("NodeDown %+v", d)
	}
	c.HealAll()
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestOneWayCut: with what n1 sends to n2 cut, n2 declares n1 down; once
// healed both have the session again.
func TestOneWayCut(t *testing.T) {
	c := clustertest.Start(t, 2)
	n1, n2 := c.Node(0), c.Node(1)
	events := newInbox(t, n2)
	if err := n2.MonitorNodes(events.PID(), true); err != nil {
		t.Fatal(err)
	}
	c.CutOneWay(n1, n2)
	if d := recv[cluster.NodeDown](t, events); d.Node != n1.Name() || !errors.Is(d.Reason, cluster.ErrHeartbeatTimeout) {
		t.Fatalf("NodeDown %+v, want n1 by heartbeat timeout", d)
	}
	c.Heal(n1, n2)
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestStallThenHeal: a stall shorter than the heartbeat timeout loses
// nothing; what it held arrives in order once healed. (In a synctest
// bubble, so that "nothing arrives for a second" is a fact of fake time.)
func TestStallThenHeal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := clustertest.New(ctx, 2, clustertest.WithClusterOptions(cluster.WithHeartbeat(100*time.Millisecond, time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Stop(ctx) }() // also when the test fails: nothing outlives the bubble
		n1, n2 := c.Node(0), c.Node(1)
		ib, _ := n2.Node().NewInbox()
		c.Stall(n1, n2)
		for i := range 10 {
			if err := n1.Node().Send(ib.PID(), wrapperspb.Int32(int32(i))); err != nil {
				t.Fatal(err)
			}
		}
		wait, stop := context.WithTimeout(ctx, time.Second)
		if m, err := ib.Receive(wait); err == nil {
			t.Fatalf("got %v through a stall", m)
		}
		stop()
		c.Heal(n1, n2)
		for i := range 10 {
			m, err := ib.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.(*wrapperspb.Int32Value).GetValue(); got != int32(i) {
				t.Fatalf("message %d is %d", i, got)
			}
		}
		if got := n1.Nodes(); !slices.Equal(got, []string{n2.Name()}) {
			t.Fatalf("n1's nodes after the stall: %v", got)
		}
		ib.Close()
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSynctest: the nodes run inside a synctest bubble, whose fake clock
// drives their heartbeats: a cut is detected within the bound of fake
// time, in no real time, and the same on every run.
func TestSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := clustertest.New(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Stop(ctx) }() // also when the test fails: nothing outlives the bubble
		n1, n2 := c.Node(0), c.Node(1)
		events, _ := n1.Node().NewInbox()
		if err := n1.MonitorNodes(events.PID(), true); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c.Cut(n1, n2)
		m, err := events.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if d, ok := m.(cluster.NodeDown); !ok || d.Node != n2.Name() {
			t.Fatalf("got %v, want NodeDown of n2", m)
		}
		bound := clustertest.DefaultHeartbeatTimeout + 2*clustertest.DefaultHeartbeatInterval
		if took < clustertest.DefaultHeartbeatTimeout || took > bound {
			t.Fatalf("cut seen after %v of fake time, want within [%v, %v]", took, clustertest.DefaultHeartbeatTimeout, bound)
		}
		c.Heal(n1, n2)
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		events.Close()
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestNetsplitCycles splits three nodes and heals them again and again
// inside a synctest bubble, where every heartbeat timeout passes in fake
// time: the cycles go as fast as the nodes can react.
func TestNetsplitCycles(t *testing.T) {
	const cycles = 20
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		c, err := clustertest.New(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Stop(ctx) }() // also when the test fails: nothing outlives the bubble
		n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
		for i := range cycles {
			// Each node of the three in turn is the one cut off.
			alone := []*cluster.Cluster{n1, n2, n3}[i%3]
			var rest []*cluster.Cluster
			for _, n := range c.Nodes() {
				if n != alone {
					rest = append(rest, n)
				}
			}
			c.Partition([]*cluster.Cluster{alone}, rest)
			if err := c.WaitConnected(ctx); err != nil {
				t.Fatalf("cycle %d, split: %v", i, err)
			}
			c.HealAll()
			if err := c.WaitConnected(ctx); err != nil {
				t.Fatalf("cycle %d, heal: %v", i, err)
			}
		}
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStopIsNodeLeft: a node that stops tells its peers it left.
func TestStopIsNodeLeft(t *testing.T) {
	c := clustertest.Start(t, 2)
	n1, n2 := c.Node(0), c.Node(1)
	events := newInbox(t, n2)
	if err := n2.MonitorNodes(events.PID(), true); err != nil {
		t.Fatal(err)
	}
	if err := n1.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if d := recv[cluster.NodeDown](t, events); d.Node != n1.Name() || !errors.Is(d.Reason, cluster.ErrNodeLeft) {
		t.Fatalf("n2 got %+v, want NodeDown with ErrNodeLeft", d)
	}
}

// TestOldSessionNotDelivered: what a session sent on connections that
// froze is delivered late, once healed, while a new session between the
// same two boots is open on new connections: the new session drops it.
func TestOldSessionNotDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		c, err := clustertest.New(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Stop(ctx) }() // also when the test fails: nothing outlives the bubble
		n1, n2 := c.Node(0), c.Node(1)
		ib, _ := n2.Node().NewInbox()
		events, _ := n2.Node().NewInbox()
		if err := n2.MonitorNodes(events.PID(), true); err != nil {
			t.Fatal(err)
		}
		sendRange := func(from, to int) {
			for i := from; i < to; i++ {
				if err := n1.Node().Send(ib.PID(), wrapperspb.Int32(int32(i))); err != nil {
					t.Fatal(err)
				}
			}
		}
		expect := func(from, to int) {
			for i := from; i < to; i++ {
				m, err := ib.Receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got := m.(*wrapperspb.Int32Value).GetValue(); got != int32(i) {
					t.Fatalf("got message %d, want %d", got, i)
				}
			}
		}
		sendRange(0, 10)
		expect(0, 10)
		c.StallConnections(n1, n2)
		sendRange(10, 20) // onto the old session's frozen connection
		for _, want := range []string{"down", "up"} {
			m, err := events.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			switch m.(type) {
			case cluster.NodeDown:
				if want != "down" {
					t.Fatalf("got %v, want NodeUp", m)
				}
			case cluster.NodeUp:
				if want != "up" {
					t.Fatalf("got %v, want NodeDown", m)
				}
			}
		}
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		sendRange(20, 30)
		expect(20, 30)
		before := n2.Stats().Dropped
		c.Heal(n1, n2) // the old connection delivers 10..19 late
		wait, stop := context.WithTimeout(ctx, time.Second)
		defer stop()
		if m, err := ib.Receive(wait); err == nil {
			t.Fatalf("got %v from the old session", m)
		}
		if st := n2.Stats(); st.Dropped < before+10 {
			t.Fatalf("n2 dropped %d after the heal, want the 10 late messages", st.Dropped-before)
		}
		ib.Close()
		events.Close()
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCrashAndRestart: a crashed node's peers see it down at once (its
// connections reset, not a heartbeat timeout), a monitor of its process
// fires with NoConnection (its exit signal never left), and the setup runs
// again on the node Restart starts, which the others reconnect to.
func TestCrashAndRestart(t *testing.T) {
	var setups []string
	c := clustertest.Start(t, 3, clustertest.WithClusterOptions(cluster.WithHeartbeat(100*time.Millisecond, time.Hour)),
		clustertest.WithSetup(func(n *cluster.Cluster) error {
			setups = append(setups, n.Name())
			_, err := n.Node().Spawn(echo, actor.WithName("echo"))
			return err
		}))
	n1, n2 := c.Node(0), c.Node(1)
	events := newInbox(t, n1)
	if err := n1.MonitorNodes(events.PID(), true); err != nil {
		t.Fatal(err)
	}
	pid, err := n2.Node().Spawn(echo)
	if err != nil {
		t.Fatal(err)
	}
	watcher := newInbox(t, n1)
	ref, err := watcher.Monitor(ctxT(t), pid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Node().Call(ctxT(t), pid, wrapperspb.String("sync")); err != nil {
		t.Fatal(err)
	}
	if err := c.Crash(ctxT(t), n2); err != nil {
		t.Fatal(err)
	}
	if d := recv[cluster.NodeDown](t, events); d.Node != n2.Name() || errors.Is(d.Reason, cluster.ErrHeartbeatTimeout) || errors.Is(d.Reason, cluster.ErrNodeLeft) {
		t.Fatalf("NodeDown %+v, want n2 by a lost connection (the heartbeat timeout is an hour)", d)
	}
	if d := recv[actor.Down](t, watcher); d.Ref != ref || !errors.Is(d.Reason, actor.NoConnection) {
		t.Fatalf("down %+v, want NoConnection", d)
	}
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.Crash(ctxT(t), n2); err == nil {
		t.Fatal("crashed a crashed node")
	}
	n2b, err := c.Restart(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Node(1) != n2b || n2b.Name() != n2.Name() {
		t.Fatalf("Node(1) after the restart: %v", c.Node(1).Name())
	}
	if up := recv[cluster.NodeUp](t, events); up.Node != n2.Name() {
		t.Fatalf("NodeUp %+v", up)
	}
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if want := []string{"n1@mem:1", "n2@mem:2", "n3@mem:3", "n2@mem:2"}; !slices.Equal(setups, want) {
		t.Fatalf("setups %v, want %v", setups, want)
	}
	v, err := n1.CallNamed(ctxT(t), n2.Name(), "echo", wrapperspb.String("back"))
	if err != nil || v.(*wrapperspb.StringValue).GetValue() != "back" {
		t.Fatalf("call to the restarted node's setup process: %v %v", v, err)
	}
}

// TestLoudCut: a cut followed by Reset is seen at once, not at the
// heartbeat timeout.
func TestLoudCut(t *testing.T) {
	c := clustertest.Start(t, 2, clustertest.WithClusterOptions(cluster.WithHeartbeat(100*time.Millisecond, time.Hour)))
	n1, n2 := c.Node(0), c.Node(1)
	events := newInbox(t, n1)
	if err := n1.MonitorNodes(events.PID(), true); err != nil {
		t.Fatal(err)
	}
	c.Cut(n1, n2)
	c.Reset(n1, n2)
	if d := recv[cluster.NodeDown](t, events); d.Node != n2.Name() || errors.Is(d.Reason, cluster.ErrHeartbeatTimeout) {
		t.Fatalf("NodeDown %+v, want n2 by a lost connection", d)
	}
	c.Heal(n1, n2)
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestSetupError: a setup's error fails New, and every node started is
// stopped (goleak checks it at the end).
func TestSetupError(t *testing.T) {
	boom := errors.New("boom")
	_, err := clustertest.New(ctxT(t), 2, clustertest.WithSetup(func(n *cluster.Cluster) error {
		if n.Name() == "n2@mem:2" {
			return boom
		}
		return nil
	}))
	if !errors.Is(err, boom) {
		t.Fatalf("New: %v, want the setup's error", err)
	}
}

// TestStopNodeAndRestart: a node StopNode ends left cleanly (its peers
// see ErrNodeLeft, a monitor of its process the process's exit reason), is no
// longer waited for, cannot be stopped or crashed again, and Restart
// starts it again.
func TestStopNodeAndRestart(t *testing.T) {
	c := clustertest.Start(t, 3)
	n1, n2 := c.Node(0), c.Node(1)
	events := newInbox(t, n1)
	if err := n1.MonitorNodes(events.PID(), true); err != nil {
		t.Fatal(err)
	}
	pid, err := n2.Node().Spawn(echo)
	if err != nil {
		t.Fatal(err)
	}
	watcher := newInbox(t, n1)
	ref, err := watcher.Monitor(ctxT(t), pid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Node().Call(ctxT(t), pid, wrapperspb.String("sync")); err != nil {
		t.Fatal(err)
	}
	c.Cut(n1, n2) // lifted by StopNode, so that the Goodbye gets through
	if err := c.StopNode(ctxT(t), n2); err != nil {
		t.Fatal(err)
	}
	if d := recv[cluster.NodeDown](t, events); d.Node != n2.Name() || !errors.Is(d.Reason, cluster.ErrNodeLeft) {
		t.Fatalf("NodeDown %+v, want n2 with ErrNodeLeft", d)
	}
	if d := recv[actor.Down](t, watcher); d.Ref != ref || !errors.Is(d.Reason, actor.Killed) {
		t.Fatalf("down %+v, want Killed (its node stopped it), not NoConnection", d)
	}
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.StopNode(ctxT(t), n2); err == nil {
		t.Fatal("stopped a stopped node")
	}
	if err := c.Crash(ctxT(t), n2); err == nil {
		t.Fatal("crashed a stopped node")
	}
	n2b, err := c.Restart(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if up := recv[cluster.NodeUp](t, events); up.Node != n2b.Name() {
		t.Fatalf("NodeUp %+v", up)
	}
	if err := c.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

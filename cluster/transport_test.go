package cluster_test

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
)

// withChild starts a node here and one in a child process that knows it,
// and waits for the session. ev receives this node's NodeUp/NodeDown.
func withChild(t *testing.T, env ...string) (a *cluster.Cluster, b *child, ev *actor.Inbox) {
	t.Helper()
	a = shared
	ev = newInbox(t, a.Node())
	t.Cleanup(ev.Close)
	if err := a.MonitorNodes(ev.PID(), true); err != nil {
		t.Fatal(err)
	}
	b = startChild(t, "b", append([]string{"CHILD_PEERS=" + a.Name()}, env...)...)
	recvNodeUp(t, ev, b.name, 10*time.Second)
	return a, b, ev
}

func TestRemoteSendCallMonitor(t *testing.T) {
	a, b, _ := withChild(t)
	if got := a.Nodes(); !slices.Contains(got, b.name) {
		t.Fatalf("a.Nodes() = %v", got)
	}
	ib := newInbox(t, a.Node())
	w := b.spawn(t, a)

	// A message there, and one back.
	if err := a.Node().Send(w, wrapperspb.Bytes(cluster.MarshalPID(ib.PID()))); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := recvType[*wrapperspb.StringValue](t, ib, 5*time.Second); got.Value != "hi" {
		t.Fatalf("got %q", got.Value)
	}
	// A non-protobuf message fails on the sender.
	if err := a.Node().Send(w, struct{}{}); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("send non-proto: %v, want ErrNotProtoMessage", err)
	}
	if _, err := a.Node().Call(ctxT(t), w, 42); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("call non-proto: %v, want ErrNotProtoMessage", err)
	}
	// A call.
	v, err := a.Node().Call(ctxT(t), w, wrapperspb.String("ping"))
	if err != nil || v.(*wrapperspb.StringValue).Value != "ping" {
		t.Fatalf("call: %v %v", v, err)
	}
	// A monitor, then the callee dies during a call.
	ref, err := ib.Monitor(ctxT(t), w)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Node().Call(ctxT(t), w, wrapperspb.String("die"))
	var re *cluster.RemoteError
	if !errors.As(err, &re) || re.Text != "asked to die" {
		t.Fatalf("call to a dying process: %v", err)
	}
	d := recvType[actor.Down](t, ib, 5*time.Second)
	if d.Ref != ref || d.PID != w || d.Reason.Error() != "asked to die" {
		t.Fatalf("down %+v", d)
	}
	// The process is gone now.
	if _, err := a.Node().Call(ctxT(t), w, wrapperspb.String("x")); !errors.Is(err, actor.NoProc) {
		t.Fatalf("call to dead process: %v, want NoProc", err)
	}
	ref2, _ := ib.Monitor(ctxT(t), w)
	if d := recvType[actor.Down](t, ib, 5*time.Second); d.Ref != ref2 || !errors.Is(d.Reason, actor.NoProc) {
		t.Fatalf("down %+v, want NoProc", d)
	}
	// multi_call: ctl answers on b; nobody holds the name here.
	replies, bad := a.MultiCall(ctxT(t), []string{a.Name(), b.name}, "ctl", wrapperspb.String("m"))
	if len(replies) != 1 || replies[b.name].(*wrapperspb.StringValue).Value != "m" || !slices.Equal(bad, []string{a.Name()}) {
		t.Fatalf("multicall: %v %v", replies, bad)
	}
}

// TestMessageSizes sends messages near and over cluster.MaxMessageBytes:
// a large one crosses, one over the bound fails on its sender with
// ErrTooLarge (a reply over it fails the call), and the session survives.
// The child waits testHeartbeatTimeout (3 s) for the shared node: with a
// 600 ms timeout, a loaded child could go that long without reading a
// frame while it took in and answered the 3 MiB ones, and dropped the
// session for a heartbeat timeout (2 runs in 60 at load 17-25).
func TestMessageSizes(t *testing.T) {
	a, b, _ := withChild(t)
	big := strings.Repeat("y", 3<<20)
	v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String(big))
	if err != nil || v.(*wrapperspb.StringValue).Value != big {
		t.Fatalf("3 MiB call: %v", err)
	}
	over := wrapperspb.String(strings.Repeat("z", cluster.MaxMessageBytes+1))
	if _, err := a.CallNamed(ctxT(t), b.name, "ctl", over); !errors.Is(err, cluster.ErrTooLarge) {
		t.Fatalf("call over the bound: %v, want ErrTooLarge", err)
	}
	if err := a.SendNamed(b.name, "ctl", over); !errors.Is(err, cluster.ErrTooLarge) {
		t.Fatalf("send over the bound: %v, want ErrTooLarge", err)
	}
	_, err = a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("huge"))
	var re *cluster.RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Text, cluster.ErrTooLarge.Error()) {
		t.Fatalf("reply over the bound: %v, want a RemoteError saying %q", err, cluster.ErrTooLarge)
	}
	if v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("ping")); err != nil || v.(*wrapperspb.StringValue).Value != "ping" {
		t.Fatalf("call after: %v %v", v, err)
	}
}

func TestRemoteLinkExit(t *testing.T) {
	a, b, _ := withChild(t)
	ib := newInbox(t, a.Node())
	if err := ib.TrapExit(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	w := b.spawn(t, a)
	if err := ib.Link(ctxT(t), w); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Node().Call(ctxT(t), w, wrapperspb.String("die")); err == nil {
		t.Fatal("call to a dying process succeeded")
	}
	ex := recvType[actor.Exit](t, ib, 5*time.Second)
	if ex.From != w || ex.Reason.Error() != "asked to die" {
		t.Fatalf("exit %+v", ex)
	}
}

// watchTwo spawns two processes on b and watches them from a trapping inbox
// on a: the first through a monitor (whose ref it returns), the second
// through a link. It returns once both have reached b.
func watchTwo(t *testing.T, a *cluster.Cluster, b *child) (*actor.Inbox, actor.PID, actor.PID, actor.Ref) {
	t.Helper()
	ib := newInbox(t, a.Node())
	if err := ib.TrapExit(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	w1, w2 := b.spawn(t, a), b.spawn(t, a)
	ref, _ := ib.Monitor(ctxT(t), w1)
	if err := ib.Link(ctxT(t), w2); err != nil {
		t.Fatal(err)
	}
	// The monitor and link reached b once a call made after them returns.
	if _, err := a.Node().Call(ctxT(t), w1, wrapperspb.String("sync")); err != nil {
		t.Fatal(err)
	}
	return ib, w1, w2, ref
}

// lostNode checks what a node sees when the child's node is lost: NodeDown
// within bound, and NoConnection on a monitor, a link and a pending call.
func lostNode(t *testing.T, lose func(b *child), bound time.Duration, reasons ...error) {
	a, b, ev := withChild(t)
	ib, _, w2, ref := watchTwo(t, a, b)
	start := time.Now()
	lose(b)
	down := recvNodeDown(t, ev, b.name, bound+time.Second)
	took := time.Since(start)
	if down.Node != b.name || !slices.ContainsFunc(reasons, func(r error) bool { return errors.Is(down.Reason, r) }) {
		t.Fatalf("NodeDown %+v, want one of %v", down, reasons)
	}
	t.Logf("node loss detected in %v (bound %v): %v", took, bound, down.Reason)
	if took > bound {
		t.Errorf("detected in %v, bound %v", took, bound)
	}
	got := 0
	for got < 2 {
		switch m := recvType[any](t, ib, 5*time.Second).(type) {
		case actor.Down:
			if m.Ref != ref || !errors.Is(m.Reason, actor.NoConnection) {
				t.Fatalf("down %+v", m)
			}
		case actor.Exit:
			if m.From != w2 || !errors.Is(m.Reason, actor.NoConnection) {
				t.Fatalf("exit %+v", m)
			}
		default:
			t.Fatalf("unexpected %T %v", m, m)
		}
		got++
	}
	if n := a.Nodes(); slices.Contains(n, b.name) {
		t.Fatalf("a.Nodes() = %v after losing b", n)
	}
}

func TestKilledNode(t *testing.T) {
	lostNode(t, (*child).kill, time.Second, cluster.ErrConnectionLost)
}

// A node that stops cleanly kills its processes first: a remote monitor
// and link see their real exit reason, then NodeDown says the node left.
func TestStoppedNode(t *testing.T) {
	a, b, ev := withChild(t)
	ib, w1, w2, ref := watchTwo(t, a, b)
	start := time.Now()
	b.stop()
	down := recvNodeDown(t, ev, b.name, 3*time.Second)
	if !errors.Is(down.Reason, cluster.ErrNodeLeft) {
		t.Fatalf("NodeDown %+v, want ErrNodeLeft", down)
	}
	t.Logf("clean stop seen in %v", time.Since(start))
	for range 2 {
		switch m := recvType[any](t, ib, 5*time.Second).(type) {
		case actor.Down:
			if m.Ref != ref || m.PID != w1 || !errors.Is(m.Reason, actor.Killed) {
				t.Fatalf("down %+v, want Killed", m)
			}
		case actor.Exit:
			if m.From != w2 || !errors.Is(m.Reason, actor.Killed) {
				t.Fatalf("exit %+v, want Killed", m)
			}
		default:
			t.Fatalf("unexpected %T %v", m, m)
		}
	}
	if n := a.Nodes(); slices.Contains(n, b.name) {
		t.Fatalf("a.Nodes() = %v after b left", n)
	}
}

func TestFrozenNode(t *testing.T) {
	// The shared node heartbeats every 100 ms and waits testHeartbeatTimeout.
	lostNode(t, func(c *child) { c.signal(syscall.SIGSTOP) }, testHeartbeatTimeout+2*time.Second, cluster.ErrHeartbeatTimeout)
}

func TestFrozenNodeRejoins(t *testing.T) {
	a, b, ev := withChild(t)
	b.signal(syscall.SIGSTOP)
	recvNodeDown(t, ev, b.name, testHeartbeatTimeout+3*time.Second)
	b.signal(syscall.SIGCONT)
	recvNodeUp(t, ev, b.name, 10*time.Second)
	// The node that was frozen does not blame this one for the silence it
	// slept through, so the session that just opened is not reset again:
	// a call on it succeeds at once.
	v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("again"))
	if err != nil || v.(*wrapperspb.StringValue).Value != "again" {
		t.Fatalf("call after rejoin: %v %v", v, err)
	}
	if got := a.Nodes(); !slices.Contains(got, b.name) {
		t.Fatalf("a.Nodes() = %v after the call", got)
	}
}

func TestRestartedNodeOldPIDGetsNoProc(t *testing.T) {
	a, b, ev := withChild(t)
	w := b.spawn(t, a)
	addr, err := cluster.NodeAddr(b.name)
	if err != nil {
		t.Fatal(err)
	}
	b.kill()
	recvNodeDown(t, ev, b.name, 2*time.Second)
	b2 := startChild(t, "b", "CHILD_PEERS="+a.Name(), "CHILD_LISTEN="+addr)
	if b2.name != b.name {
		t.Fatalf("restarted as %s, want %s", b2.name, b.name)
	}
	recvNodeUp(t, ev, b.name, 10*time.Second)
	if _, err := a.Node().Call(ctxT(t), w, wrapperspb.String("x")); !errors.Is(err, actor.NoProc) {
		t.Fatalf("call to a PID of the previous boot: %v, want NoProc", err)
	}
	ib := newInbox(t, a.Node())
	ref, _ := ib.Monitor(ctxT(t), w)
	if d := recvType[actor.Down](t, ib, 5*time.Second); d.Ref != ref || !errors.Is(d.Reason, actor.NoProc) {
		t.Fatalf("down %+v, want NoProc", d)
	}
	// The new boot's processes work.
	w2 := b2.spawn(t, a)
	if _, err := a.Node().Call(ctxT(t), w2, wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
}

// TestDefaultDetectionBounds measures failure detection with the default
// settings, between two child nodes that use them: a killed node within
// 1 s, a frozen one within 5 s (DefaultHeartbeatTimeout plus
// DefaultHeartbeatInterval: 3.5 s).
func TestDefaultDetectionBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the default heartbeat timeout")
	}
	b := startChild(t, "b", "CHILD_DEFAULTS=1", "CHILD_EVENTS=1")
	c := startChild(t, "c", "CHILD_DEFAULTS=1", "CHILD_EVENTS=1", "CHILD_PEERS="+b.name)
	// Up on both sides: b's stream to c is open too.
	b.expectEvent(t, "up", c.name, 10*time.Second)
	c.expectEvent(t, "up", b.name, 10*time.Second)
	start := time.Now()
	c.signal(syscall.SIGSTOP)
	reason := b.expectEvent(t, "down", c.name, 10*time.Second)
	frozen := time.Since(start)
	if frozen > 5*time.Second || !strings.Contains(reason, cluster.ErrHeartbeatTimeout.Error()) {
		t.Errorf("frozen node: down after %v (%s); want a heartbeat timeout within 5 s", frozen, reason)
	}
	c.signal(syscall.SIGCONT)
	b.expectEvent(t, "up", c.name, 10*time.Second)
	start = time.Now()
	c.kill()
	reason = b.expectEvent(t, "down", c.name, 5*time.Second)
	killed := time.Since(start)
	if killed > time.Second {
		t.Errorf("killed node: down after %v (%s); want within 1 s", killed, reason)
	}
	t.Logf("defaults: frozen node detected in %v, killed node in %v", frozen, killed)
}

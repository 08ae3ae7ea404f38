package cluster_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
)

// echo answers every call with its request and forwards other messages to
// the process named in the message.
type echo struct{}

func (echo) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case *actor.Request:
		if s, ok := m.Message().(*wrapperspb.StringValue); ok && s.Value == "die" {
			return errors.New("asked to die")
		}
		m.Reply(m.Message())
	}
	return nil
}

// pair starts two nodes that know each other and waits for both sessions.
func pair(t *testing.T) (a, b *cluster.Cluster, evA *actor.Inbox) {
	t.Helper()
	a = startNode(t, "a")
	evA = newInbox(t, a.Node())
	if err := a.MonitorNodes(evA.PID(), true); err != nil {
		t.Fatal(err)
	}
	b = startNode(t, "b", cluster.WithProvider(cluster.Static(a.Name())))
	up := recvType[cluster.NodeUp](t, evA, 5*time.Second)
	if up.Node != b.Name() {
		t.Fatalf("NodeUp %s, want %s", up.Node, b.Name())
	}
	return a, b, evA
}

func TestRemoteSendCallMonitor(t *testing.T) {
	a, b, _ := pair(t)
	if got := a.Nodes(); !slices.Equal(got, []string{b.Name()}) {
		t.Fatalf("a.Nodes() = %v", got)
	}
	ibA := newInbox(t, a.Node())
	// Send from b to a.
	if err := b.Node().Send(ibA.PID(), wrapperspb.String("hello")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := recvType[*wrapperspb.StringValue](t, ibA, 5*time.Second); got.Value != "hello" {
		t.Fatalf("got %q", got.Value)
	}
	// A non-protobuf message fails on the sender.
	if err := b.Node().Send(ibA.PID(), struct{}{}); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("send non-proto: %v, want ErrNotProtoMessage", err)
	}
	// Call from a to a process on b.
	srv, err := b.Node().Spawn(echo{}, actor.WithName("echo"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Node().Call(ctxT(t), srv, wrapperspb.String("ping"))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if v.(*wrapperspb.StringValue).Value != "ping" {
		t.Fatalf("reply %v", v)
	}
	v, err = a.CallNamed(ctxT(t), b.Name(), "echo", wrapperspb.String("named"))
	if err != nil || v.(*wrapperspb.StringValue).Value != "named" {
		t.Fatalf("call named: %v %v", v, err)
	}
	// Monitor, then the callee dies during a call.
	ref, err := ibA.Monitor(ctxT(t), srv)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Node().Call(ctxT(t), srv, wrapperspb.String("die"))
	var re *cluster.RemoteError
	if !errors.As(err, &re) || re.Text != "asked to die" {
		t.Fatalf("call to a dying process: %v", err)
	}
	d := recvType[actor.Down](t, ibA, 5*time.Second)
	if d.Ref != ref || d.PID != srv {
		t.Fatalf("down %+v", d)
	}
	// The process is gone now.
	if _, err := a.Node().Call(ctxT(t), srv, wrapperspb.String("x")); !errors.Is(err, actor.NoProc) {
		t.Fatalf("call to dead process: %v, want NoProc", err)
	}
	ref2, _ := ibA.Monitor(ctxT(t), srv)
	if d := recvType[actor.Down](t, ibA, 5*time.Second); d.Ref != ref2 || !errors.Is(d.Reason, actor.NoProc) {
		t.Fatalf("down %+v, want NoProc", d)
	}
	replies, bad := a.MultiCall(ctxT(t), []string{a.Name(), b.Name()}, "echo", wrapperspb.String("m"))
	if len(replies) != 0 || !slices.Equal(bad, []string{a.Name(), b.Name()}) {
		t.Fatalf("multicall: %v %v", replies, bad)
	}
}

func TestRemoteLinkExit(t *testing.T) {
	a, b, _ := pair(t)
	ibA := newInbox(t, a.Node())
	if err := ibA.TrapExit(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	srv, _ := b.Node().Spawn(echo{})
	if err := ibA.Link(ctxT(t), srv); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Node().Call(ctxT(t), srv, wrapperspb.String("die")); err == nil {
		t.Fatal("call to a dying process succeeded")
	}
	ex := recvType[actor.Exit](t, ibA, 5*time.Second)
	if ex.From != srv || ex.Reason.Error() != "asked to die" {
		t.Fatalf("exit %+v", ex)
	}
}

func TestNodeStopGivesNoConnection(t *testing.T) {
	a, b, evA := pair(t)
	ibA := newInbox(t, a.Node())
	if err := ibA.TrapExit(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	srv, _ := b.Node().Spawn(echo{})
	ref, _ := ibA.Monitor(ctxT(t), srv)
	srv2, _ := b.Node().Spawn(echo{})
	if err := ibA.Link(ctxT(t), srv2); err != nil {
		t.Fatal(err)
	}
	// Make sure the monitor and link reached b before it stops.
	if _, err := a.Node().Call(ctxT(t), srv, wrapperspb.String("sync")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stopNode(t, b)
	down := recvType[cluster.NodeDown](t, evA, 5*time.Second)
	if down.Node != b.Name() {
		t.Fatalf("NodeDown %+v", down)
	}
	got := map[string]bool{}
	for range 2 {
		m, err := ibA.Receive(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case actor.Down:
			// b stops its processes after closing its sessions, so the
			// watcher may see either their exit or the lost node.
			if m.Ref != ref || !(errors.Is(m.Reason, actor.NoConnection) || errors.Is(m.Reason, actor.Killed)) {
				t.Fatalf("down %+v", m)
			}
			got["down"] = true
		case actor.Exit:
			if m.From != srv2 || !(errors.Is(m.Reason, actor.NoConnection) || errors.Is(m.Reason, actor.Killed)) {
				t.Fatalf("exit %+v", m)
			}
			got["exit"] = true
		default:
			t.Fatalf("unexpected %T %v", m, m)
		}
	}
	t.Logf("stopped node detected in %v", time.Since(start))
	if len(a.Nodes()) != 0 {
		t.Fatalf("a.Nodes() = %v after b stopped", a.Nodes())
	}
}

package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
)

func TestSignalSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	idle := func() actor.PID {
		p, err := n.Spawn(actortest.ExitOnError)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ib := actortest.NewInbox(t, n)
	// exit(Pid, normal) to a process that does not trap exits does nothing
	p := idle()
	if err := n.Exit(p, actor.Normal); err != nil {
		t.Fatal(err)
	}
	ib.Monitor(ctx, p)
	n.Send(p, errors.New("later"))
	if d := actortest.ReceiveAs[actor.Down](t, ib); d.Reason.Error() != "later" {
		t.Errorf("a normal exit signal ended the process: %v", d.Reason)
	}
	// monitor of a dead process: Down NoProc at once
	ref, err := ib.Monitor(ctx, p)
	if err != nil {
		t.Logf("monitor dead: %v", err)
	} else if d := actortest.ReceiveAs[actor.Down](t, ib); d.Ref != ref || !errors.Is(d.Reason, actor.NoProc) {
		t.Errorf("monitor of a dead process: %+v", d)
	}
	// link to a dead process from a trapping inbox: Exit NoProc (or error)
	tr := actortest.NewInbox(t, n)
	tr.TrapExit(ctx, true)
	if err := tr.Link(ctx, p); err == nil {
		if x := actortest.ReceiveAs[actor.Exit](t, tr); !errors.Is(x.Reason, actor.NoProc) {
			t.Errorf("link to a dead process: %+v", x)
		}
	} else if !errors.Is(err, actor.NoProc) {
		t.Errorf("link to a dead process: %v", err)
	}
	// kill is untrappable and travels as killed
	q, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }), actor.WithTrapExit())
	if err != nil {
		t.Fatal(err)
	}
	tr.Link(ctx, q)
	n.Exit(q, actor.Kill)
	if x := actortest.ReceiveAs[actor.Exit](t, tr); x.From != q || !errors.Is(x.Reason, actor.Killed) {
		t.Errorf("linked exit of a killed process: %+v", x)
	}
	// zero PID
	if err := n.Send(actor.PID{}, "x"); !errors.Is(err, actor.ErrZeroPID) || !errors.Is(err, actor.NoProc) {
		t.Errorf("send to zero: %v", err)
	}
	if _, err := actor.Call(actor.WithNode(ctx, n), actor.PID{}, "x"); !errors.Is(err, actor.NoProc) {
		t.Errorf("call zero: %v", err)
	}
	if err := n.Exit(actor.PID{}, actor.Kill); !errors.Is(err, actor.NoProc) {
		t.Errorf("exit zero: %v", err)
	}
	if err := n.SendNamed("nobody", "x"); !errors.Is(err, actor.ErrUnknownName) {
		t.Errorf("send named: %v", err)
	}
}

// TestCallWithEndedContextSendsNothing: a Call whose ctx has ended already
// fails with ctx's error and the callee never gets the request (it used to
// handle it, so a registry write, say, took effect behind an error).
func TestCallWithEndedContextSendsNothing(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	got := 0
	pid, err := n.Spawn(actor.ReceiverFunc(func(_ *actor.Context, m any) error {
		if r, ok := m.(*actor.Request); ok {
			got++
			r.Reply(got)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []struct {
		ctx  context.Context
		want error
	}{{cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		_, err := actor.Call(c.ctx, pid, "x")
		var ce *actor.CallError
		if !errors.Is(err, c.want) || !errors.As(err, &ce) || ce.PID != pid {
			t.Errorf("call with an ended ctx: %v, want a *CallError wrapping %v", err, c.want)
		}
		if _, err := n.Call(c.ctx, pid, "x"); !errors.Is(err, c.want) {
			t.Errorf("Node.Call with an ended ctx: %v", err)
		}
	}
	if v, err := actor.Call(ctx, pid, "x"); v != 1 || err != nil {
		t.Errorf("requests handled: %v %v, want only this one", v, err)
	}
}

// TestSpawnNilReceiver: a nil Receiver is refused at Spawn (it used to start
// a process that crashed on its first message).
func TestSpawnNilReceiver(t *testing.T) {
	n := actortest.NewNode(t)
	before := n.CountProcesses()
	if pid, err := n.Spawn(nil); !errors.Is(err, actor.ErrNilReceiver) || !pid.IsZero() {
		t.Errorf("spawn nil: %v %v", pid, err)
	}
	ib := actortest.NewInbox(t, n)
	err := ib.Do(actortest.Context(t), func(c *actor.Context) error {
		if _, err := c.SpawnLink(nil); !errors.Is(err, actor.ErrNilReceiver) {
			t.Errorf("spawn link nil: %v", err)
		}
		if _, _, err := c.SpawnMonitor(nil); !errors.Is(err, actor.ErrNilReceiver) {
			t.Errorf("spawn monitor nil: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := n.CountProcesses(); after != before+1 { // the inbox
		t.Errorf("processes %d -> %d", before, after)
	}
}

// TestNilOptionsSkipped: a nil NodeOption or SpawnOption is skipped (it
// used to panic).
func TestNilOptionsSkipped(t *testing.T) {
	n := actortest.NewNode(t, nil)
	if _, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }), nil); err != nil {
		t.Errorf("spawn with a nil option: %v", err)
	}
}

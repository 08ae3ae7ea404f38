package actor_test

import (
	"errors"
	"testing"

	"github.com/arbor-otp/arbor/actor"
)

// TestInboxCloseIsNormal checks that Close ends an inbox with reason
// Normal, as documented: a linked process that does not trap exits lives
// on, a trapping one gets Exit with Normal, a monitor gets Down with Normal.
func TestInboxCloseIsNormal(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	linked, err := n.Spawn(dieOn{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ib.Link(ctx, linked); err != nil {
		t.Fatal(err)
	}
	trapper := newInbox(t, n)
	if err := trapper.TrapExit(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := trapper.Link(ctx, ib.PID()); err != nil {
		t.Fatal(err)
	}
	observer := newInbox(t, n)
	ref, err := observer.Monitor(ctx, ib.PID())
	if err != nil {
		t.Fatal(err)
	}
	linkedRef, err := observer.Monitor(ctx, linked)
	if err != nil {
		t.Fatal(err)
	}

	ib.Close()

	d := recvType[actor.Down](t, observer)
	if d.Ref != ref || d.Reason != actor.Normal {
		t.Fatalf("observer got %+v, want the inbox's Down with Normal", d)
	}
	ex := recvType[actor.Exit](t, trapper)
	if ex.From != ib.PID() || ex.Reason != actor.Normal {
		t.Fatalf("trapper got %+v, want Exit from the inbox with Normal", ex)
	}
	// The linked process survived: told to end with errBoom, it ends with
	// errBoom (had the close killed it, its Down would carry Killed).
	if err := n.Send(linked, die{reason: errBoom}); err != nil {
		t.Fatalf("linked process died with the inbox: %v", err)
	}
	if d := recvType[actor.Down](t, observer); d.Ref != linkedRef || d.Reason != errBoom {
		t.Fatalf("observer got %+v, want the linked process's Down with %v", d, errBoom)
	}
	ib.Close() // a second Close returns at once
}

// TestInboxReceiveAfterExit: once the inbox process has exited (a crash
// along a link it does not trap, or Close), Receive hands out what it had
// taken and then returns NoProc at once, for every waiting Receive, instead
// of waiting for ctx to end; so does Receive on an Inbox not made by
// NewInbox.
func TestInboxReceiveAfterExit(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t) // long: a Receive that waits for it fails the test's deadline
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	crasher, err := n.Spawn(dieOn{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ib.Link(ctx, crasher); err != nil {
		t.Fatal(err)
	}
	if err := n.Send(ib.PID(), "before"); err != nil {
		t.Fatal(err)
	}
	waiters := make(chan error, 2)
	m, err := ib.Receive(ctx)
	if err != nil || m != "before" {
		t.Fatalf("first Receive = %v, %v", m, err)
	}
	for range 2 {
		go func() { _, err := ib.Receive(ctx); waiters <- err }()
	}
	exit := n.WatchExit(ib.PID())
	if err := n.Send(crasher, die{reason: errors.New("crash")}); err != nil {
		t.Fatal(err)
	}
	<-exit
	for range 2 {
		if err := <-waiters; !errors.Is(err, actor.NoProc) {
			t.Fatalf("waiting Receive after the exit: %v, want NoProc", err)
		}
	}
	if _, err := ib.Receive(ctx); !errors.Is(err, actor.NoProc) {
		t.Fatalf("Receive after the exit: %v, want NoProc", err)
	}

	closed, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(closed.PID(), "queued"); err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if m, err := closed.Receive(ctx); err != nil || m != "queued" {
		t.Fatalf("Receive after Close = %v, %v, want the queued message", m, err)
	}
	if _, err := closed.Receive(ctx); !errors.Is(err, actor.NoProc) {
		t.Fatalf("second Receive after Close: %v, want NoProc", err)
	}
	var zero actor.Inbox
	if _, err := zero.Receive(ctx); !errors.Is(err, actor.NoProc) {
		t.Fatalf("zero Inbox's Receive: %v, want NoProc", err)
	}
}

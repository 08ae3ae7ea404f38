package actor_test

import (
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

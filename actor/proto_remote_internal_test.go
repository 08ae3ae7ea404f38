package actor

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

func newQuietNode(t *testing.T) *Node {
	t.Helper()
	n := NewNode(WithLogger(zerolog.Nop()))
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	return n
}

// TestProtoPIDRoundTrip checks that a ProtoPID of a process of this node or
// of another maps back to the same PID, creation included.
func TestProtoPIDRoundTrip(t *testing.T) {
	n := newQuietNode(t)
	pid, err := n.Spawn(ReceiverFunc(func(*Context, any) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	remote := newRemotePID("other@127.0.0.1:7000", 9, 3, 4)
	for _, p := range []PID{pid, remote} {
		pp := n.ProtoPID(p)
		got, ok := n.proto.arborPID(pp)
		if !ok || got != p {
			t.Errorf("ProtoPID(%v) = %v maps back to %v, %v", p, pp, got, ok)
		}
		if px, err := n.Proxy(pp); err != nil || px != p {
			t.Errorf("Proxy(ProtoPID(%v)) = %v, %v; want the PID itself", p, px, err)
		}
	}
	if n.ProtoPID(PID{}) != nil {
		t.Error("ProtoPID of the zero PID is not nil")
	}
}

// TestProtoPIDOfEarlierBoot checks that the ProtoPID of a process of an
// earlier boot of this node (same name, other creation) reaches dead
// letters, not the process that now holds the slot.
func TestProtoPIDOfEarlierBoot(t *testing.T) {
	n := newQuietNode(t)
	got := make(chan any, 1)
	pid, err := n.Spawn(ReceiverFunc(func(_ *Context, m any) error {
		if r, ok := m.(*Request); ok {
			got <- r.Message()
			r.Reply("answered")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	pp := n.ProtoPID(pid)
	old := &pa.PID{Address: pp.Address, Id: strconv.Itoa(int(pid.index)) + "." + strconv.Itoa(int(pid.serial)) + "." + strconv.Itoa(int(n.Creation()+1))}
	res, err := n.ActorSystem().Root.RequestFuture(old, "hello", 10*time.Second).Result()
	if !errors.Is(err, pa.ErrDeadLetter) {
		t.Fatalf("request to an earlier boot's ProtoPID: %v, %v; want ErrDeadLetter", res, err)
	}
	select {
	case m := <-got:
		t.Fatalf("the process of this boot received %v", m)
	default:
	}
}

// TestProtoRemoteWithoutTransport checks what protoactor code gets from the
// ProtoPID of a process of another node when there is no cluster: a
// request is answered with a *CallError wrapping ErrRemote, and a Watch
// gives Terminated with AddressTerminated.
func TestProtoRemoteWithoutTransport(t *testing.T) {
	n := newQuietNode(t)
	to := n.ProtoPID(newRemotePID("other@127.0.0.1:7000", 9, 3, 4))
	res, err := n.ActorSystem().Root.RequestFuture(to, "hello", 10*time.Second).Result()
	var ce *CallError
	if err != nil || !errors.As(res.(error), &ce) || !errors.Is(ce, ErrRemote) {
		t.Fatalf("request: %v, %v; want a *CallError wrapping ErrRemote", res, err)
	}
	terminated := make(chan *pa.Terminated, 1)
	n.ActorSystem().Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		switch m := c.Message().(type) {
		case *pa.Started:
			c.Watch(to)
		case *pa.Terminated:
			terminated <- m
		}
	}))
	select {
	case m := <-terminated:
		if m.Why != pa.TerminatedReason_AddressTerminated || m.Who.Id != to.Id {
			t.Fatalf("Terminated %v, want AddressTerminated of %v", m, to)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no Terminated")
	}
}

// TestProxyRefusesRemoteActor checks that Node.Proxy refuses a protoactor
// actor of another address: its messages would travel on protoactor
// remote's endpoints.
func TestProxyRefusesRemoteActor(t *testing.T) {
	n := newQuietNode(t)
	_, err := n.Proxy(&pa.PID{Address: "10.0.0.1:7000", Id: "$1"})
	if !errors.Is(err, ErrRemoteProtoPID) {
		t.Fatalf("Proxy of a remote actor: %v, want ErrRemoteProtoPID", err)
	}
}

// FuzzParseProtoID feeds arbitrary Ids to the parser of ProtoPIDs, which
// protoactor code (and protoactor PIDs from the wire) can reach: it never
// panics, and what it accepts formats back to the same PID.
func FuzzParseProtoID(f *testing.F) {
	f.Add("1.2.3")
	f.Add("4294967295.0.1")
	f.Add("..")
	f.Add("1.2")
	f.Add("-1.2.3")
	f.Add("1.2.3.4")
	b := &protoBridge{node: &Node{ident: internIdent("self@127.0.0.1:1", 1)}, addr: "arbor:self@127.0.0.1:1"}
	f.Fuzz(func(t *testing.T, id string) {
		pid, ok := parseProtoID("other@127.0.0.1:2", id)
		if !ok {
			return
		}
		back, ok := b.arborPID(b.protoPID(pid))
		if !ok || back != pid {
			t.Fatalf("%q parsed to %v, which maps back to %v, %v", id, pid, back, ok)
		}
	})
}

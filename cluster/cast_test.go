package cluster_test

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
)

// recorder is a GenServer that tells the process to (its state) how each
// StringValue reached it: "cast V" from HandleCast, "info V" from
// HandleInfo.
type recorder struct{ to actor.PID }

func (r recorder) Init(*actor.Context) (actor.PID, error) { return r.to, nil }

func (recorder) HandleCast(ctx *actor.Context, msg any, to actor.PID) behaviour.Result[actor.PID] {
	if v, ok := msg.(*wrapperspb.StringValue); ok {
		_ = ctx.Send(to, wrapperspb.String("cast "+v.Value))
	}
	return behaviour.NoReply(to)
}

func (recorder) HandleInfo(ctx *actor.Context, msg any, to actor.PID) behaviour.Result[actor.PID] {
	if v, ok := msg.(*wrapperspb.StringValue); ok {
		_ = ctx.Send(to, wrapperspb.String("info "+v.Value))
	}
	return behaviour.NoReply(to)
}

// TestRemoteCastReachesHandleCast checks that a cast to a GenServer on
// another node reaches its HandleCast, as gen_server:cast to a remote pid
// or to {Name, Node} reaches handle_cast, whichever way it is sent, while
// a plain send still reaches HandleInfo.
func TestRemoteCastReachesHandleCast(t *testing.T) {
	a, b, _ := withChild(t)
	ib := newInbox(t, a.Node())
	t.Cleanup(ib.Close)
	v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("recorder "+pidArg(ib.PID())))
	if err != nil {
		t.Fatalf("start recorder on %s: %v", b.name, err)
	}
	srv, err := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).Value)
	if err != nil {
		t.Fatal(err)
	}
	// A local process that casts to the server when told to.
	caster, err := a.Node().Spawn(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
		if v, ok := msg.(*wrapperspb.StringValue); ok {
			return actor.Cast(c, srv, v)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	nctx := actor.WithNode(ctxT(t), a.Node())
	steps := []struct {
		name string
		send func(v *wrapperspb.StringValue) error
		want string
	}{
		{"behaviour.Cast", func(v *wrapperspb.StringValue) error { return behaviour.Cast(nctx, srv, v) }, "cast"},
		{"Node.Send", func(v *wrapperspb.StringValue) error { return a.Node().Send(srv, v) }, "info"},
		{"actor.Cast from a process", func(v *wrapperspb.StringValue) error { return a.Node().Send(caster, v) }, "cast"},
		{"CastNamed", func(v *wrapperspb.StringValue) error { return a.CastNamed(b.name, "recorder", v) }, "cast"},
		{"SendNamed", func(v *wrapperspb.StringValue) error { return a.SendNamed(b.name, "recorder", v) }, "info"},
	}
	for i, s := range steps {
		v := wrapperspb.String(string(rune('a' + i)))
		if err := s.send(v); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		want := s.want + " " + v.Value
		if got := recvType[*wrapperspb.StringValue](t, ib, 10*time.Second); got.Value != want {
			t.Errorf("%s: the server got %q, want %q", s.name, got.Value, want)
		}
	}
}

// TestCastNamed checks CastNamed on this node and its errors.
func TestCastNamed(t *testing.T) {
	a := shared
	ib := newInbox(t, a.Node())
	t.Cleanup(ib.Close)
	srv, err := behaviour.Start[actor.PID](a.Node(), recorder{to: ib.PID()}, behaviour.WithName("cast-named-recorder"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = behaviour.StopServer(ctxT(t), a.Node(), srv, nil) })
	if err := a.CastNamed(a.Name(), "cast-named-recorder", wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	if got := recvType[*wrapperspb.StringValue](t, ib, 10*time.Second); got.Value != "cast x" {
		t.Errorf("the server got %q, want %q", got.Value, "cast x")
	}
	if err := a.CastNamed(a.Name(), "nobody-holds-this", wrapperspb.String("x")); !errors.Is(err, actor.ErrUnknownName) {
		t.Errorf("cast to a local name nobody holds: %v, want ErrUnknownName", err)
	}
	if err := a.CastNamed("other@127.0.0.1:1", "x", "not a proto message"); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Errorf("cast of a non-proto message to another node: %v, want ErrNotProtoMessage", err)
	}
}

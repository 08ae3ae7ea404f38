package cluster_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// protoCtl is ctl's "proto ..." calls, on the child's node:
//   - "spawn": spawn a protoactor echo actor (echoProps) from the root and
//     reply with its *pa.PID;
//   - "owned": spawn one with SpawnProto and reply with the owning
//     process's PID (MarshalPID);
//   - "genserver": start an echo GenServer, reply with its PID;
//   - "watch "+pidArg(target)+" "+pidArg(to): spawn a protoactor actor that
//     Watches target's ProtoPID and, on Terminated, sends Int64Value(Why)
//     to to's ProtoPID; reply "watching" once the Watch is sent.
func protoCtl(ctx *actor.Context, m *actor.Request, arg string) error {
	n := ctx.Node()
	switch {
	case arg == "spawn":
		p := n.ActorSystem().Root.Spawn(echoProps())
		m.Reply(&pa.PID{Address: p.Address, Id: p.Id})
	case arg == "owned":
		pid, err := n.SpawnProto(echoProps())
		if err != nil {
			return err
		}
		m.Reply(wrapperspb.Bytes(cluster.MarshalPID(pid)))
	case arg == "genserver":
		pid, err := behaviour.Start[int](n, echoServer{})
		if err != nil {
			return err
		}
		m.Reply(wrapperspb.Bytes(cluster.MarshalPID(pid)))
	case strings.HasPrefix(arg, "watch "):
		f := strings.Fields(arg)
		target, err1 := decodePIDArg(f[1])
		to, err2 := decodePIDArg(f[2])
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		watching := make(chan struct{})
		n.ActorSystem().Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
			switch t := c.Message().(type) {
			case *pa.Started:
				c.Watch(n.ProtoPID(target))
				close(watching)
			case *pa.Terminated:
				c.Send(n.ProtoPID(to), wrapperspb.Int64(int64(t.Why)))
			}
		}))
		<-watching
		m.Reply(wrapperspb.String("watching"))
	default:
		m.Reply(wrapperspb.String("unknown proto command " + arg))
	}
	return nil
}

// echoProps is a protoactor actor: it counts the Int64Values it is sent,
// and answers a StringValue request "count" with the count, "stop" with
// "stopping" before stopping itself, "boom" by panicking, any other V with
// "pong:V".
func echoProps() *pa.Props {
	count := int64(0)
	return pa.PropsFromFunc(func(c pa.Context) {
		switch m := c.Message().(type) {
		case *wrapperspb.Int64Value:
			count += m.Value
		case *wrapperspb.StringValue:
			switch m.Value {
			case "count":
				c.Respond(wrapperspb.Int64(count))
			case "stop":
				c.Respond(wrapperspb.String("stopping"))
				c.Stop(c.Self())
			case "boom":
				panic("boom")
			default:
				c.Respond(wrapperspb.String("pong:" + m.Value))
			}
		}
	})
}

// echoServer is a GenServer answering a StringValue V with "gen:V".
type echoServer struct{}

func (echoServer) Init(*actor.Context) (int, error) { return 0, nil }

func (echoServer) HandleCall(_ *actor.Context, _ behaviour.From, req any, s int) behaviour.Result[int] {
	if v, ok := req.(*wrapperspb.StringValue); ok {
		return behaviour.Reply(wrapperspb.String("gen:"+v.Value), s)
	}
	return behaviour.Reply(req, s)
}

// protoCall asks the child's ctl for a "proto" command.
func protoCall(t *testing.T, a *cluster.Cluster, b *child, cmd string) any {
	t.Helper()
	v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("proto "+cmd))
	if err != nil {
		t.Fatalf("proto %s on %s: %v", cmd, b.name, err)
	}
	return v
}

func protoCallPID(t *testing.T, a *cluster.Cluster, b *child, cmd string) actor.PID {
	t.Helper()
	pid, err := cluster.UnmarshalPID(protoCall(t, a, b, cmd).(*wrapperspb.BytesValue).Value)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

const protoWait = 20 * time.Second

// TestProtoAcrossNodesMessages checks messages both ways between
// protoactor actors and Arbor processes of two node processes: a
// protoactor request answered by a GenServer of the other node, a
// protoactor send reaching a process there, and an Arbor call and sends
// to a protoactor actor of the other node (through Cluster.Proxy)
// answered by ctx.Respond.
func TestProtoAcrossNodesMessages(t *testing.T) {
	a, b, _ := withChild(t)
	root := a.Node().ActorSystem().Root

	// protoactor on a → a GenServer on b: RequestFuture.
	gen := protoCallPID(t, a, b, "genserver")
	res, err := root.RequestFuture(a.Node().ProtoPID(gen), wrapperspb.String("hi"), protoWait).Result()
	if sv, _ := res.(*wrapperspb.StringValue); err != nil || sv.GetValue() != "gen:hi" {
		t.Fatalf("RequestFuture to a GenServer on %s: %v, %v", b.name, res, err)
	}
	// protoactor on a → a process on b: Send (b's relay sends it back).
	ib := newInbox(t, a.Node())
	t.Cleanup(ib.Close)
	v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("relay "+pidArg(ib.PID())))
	if err != nil {
		t.Fatal(err)
	}
	relay, _ := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).Value)
	root.Send(a.Node().ProtoPID(relay), wrapperspb.Int64(7))
	if got := recvType[*wrapperspb.Int64Value](t, ib, protoWait); got.Value != 7 {
		t.Fatalf("relayed %d, want 7", got.Value)
	}
	// A request to a dead process of b: DeadLetterResponse.
	w := b.spawn(t, a)
	if _, err := a.Node().Call(ctxT(t), w, wrapperspb.String("die")); err == nil {
		t.Fatal("worker survived die")
	}
	testkit.Eventually(t, protoWait, func() error {
		res, err := root.RequestFuture(a.Node().ProtoPID(w), wrapperspb.String("hi"), protoWait).Result()
		if !errors.Is(err, pa.ErrDeadLetter) {
			return fmt.Errorf("request to a killed process: %v, %v", res, err)
		}
		return nil
	})

	// Arbor on a → a protoactor actor on b: Proxy, Call, Send.
	target := protoCall(t, a, b, "spawn").(*pa.PID)
	px, err := a.Proxy(ctxT(t), target)
	if err != nil {
		t.Fatalf("Proxy(%v): %v", target, err)
	}
	if px.NodeName() != b.name {
		t.Fatalf("proxy %v is not on %s", px, b.name)
	}
	if again, err := a.Proxy(ctxT(t), target); err != nil || again != px {
		t.Fatalf("second Proxy = %v, %v; want %v", again, err, px)
	}
	reply, err := a.Node().Call(ctxT(t), px, wrapperspb.String("hi"))
	if err != nil || reply.(*wrapperspb.StringValue).GetValue() != "pong:hi" {
		t.Fatalf("Call through the proxy: %v, %v", reply, err)
	}
	for range 3 {
		if err := a.Node().Send(px, wrapperspb.Int64(2)); err != nil {
			t.Fatal(err)
		}
	}
	reply, err = a.Node().Call(ctxT(t), px, wrapperspb.String("count"))
	if err != nil || reply.(*wrapperspb.Int64Value).GetValue() != 6 {
		t.Fatalf("count after three sends of 2: %v, %v", reply, err)
	}
	// A protoactor request on a to the proxy of b's actor: the actor's
	// Respond answers it, across both bridges.
	res, err = root.RequestFuture(a.Node().ProtoPID(px), wrapperspb.String("there"), protoWait).Result()
	if err != nil || res.(*wrapperspb.StringValue).GetValue() != "pong:there" {
		t.Fatalf("RequestFuture to the proxy: %v, %v", res, err)
	}
	// Errors: no node at an address, a non-proto message.
	if _, err := a.Proxy(ctxT(t), &pa.PID{Address: "127.0.0.1:1", Id: "$1"}); !errors.Is(err, cluster.ErrUnknownProtoAddress) {
		t.Fatalf("Proxy of an unknown address: %v", err)
	}
	if _, err := a.Node().Call(ctxT(t), px, struct{}{}); !errors.Is(err, cluster.ErrNotProtoMessage) {
		t.Fatalf("Call with a non-proto message: %v", err)
	}
	res, err = root.RequestFuture(a.Node().ProtoPID(gen), struct{}{}, protoWait).Result()
	if err != nil || !errors.Is(asError(res), cluster.ErrNotProtoMessage) {
		t.Fatalf("RequestFuture with a non-proto message: %v, %v; want a *CallError wrapping ErrNotProtoMessage", res, err)
	}
}

// linker links to a process in its Init and reports the exit signals it
// traps.
type linker struct {
	to    actor.PID
	exits chan<- actor.Exit
}

func (l *linker) Init(c *actor.Context) error {
	c.Link(l.to)
	return nil
}

func (l *linker) Receive(_ *actor.Context, msg any) error {
	if e, ok := msg.(actor.Exit); ok {
		l.exits <- e
	}
	return nil
}

func asError(v any) error {
	err, _ := v.(error)
	return err
}

// TestProtoAcrossNodesWatch checks links, monitors and Watch across the
// boundary and across nodes: an Arbor monitor and link of a protoactor
// actor of another node (Normal on its stop, the panic of an owned one),
// a protoactor Watch of an Arbor process of the other node (Stopped),
// both directions; and the loss of the node (NoConnection,
// AddressTerminated).
func TestProtoAcrossNodesWatch(t *testing.T) {
	a, b, _ := withChild(t)
	n := a.Node()
	ib := newInbox(t, n)
	t.Cleanup(ib.Close)

	// Arbor on a monitors and links b's actor through its proxy.
	target := protoCall(t, a, b, "spawn").(*pa.PID)
	px, err := a.Proxy(ctxT(t), target)
	if err != nil {
		t.Fatal(err)
	}
	exits := make(chan actor.Exit, 1)
	if _, err := n.Spawn(&linker{to: px, exits: exits}, actor.WithTrapExit()); err != nil {
		t.Fatal(err)
	}
	ref, err := ib.Monitor(ctxT(t), px)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Node().Call(ctxT(t), px, wrapperspb.String("stop")); err != nil {
		t.Fatalf("stop: %v", err)
	}
	down := recvType[actor.Down](t, ib, protoWait)
	if down.Ref != ref || !errors.Is(down.Reason, actor.Normal) {
		t.Fatalf("Down %+v, want Normal for %v", down, ref)
	}
	select {
	case e := <-exits:
		if e.From != px || !errors.Is(e.Reason, actor.Normal) {
			t.Fatalf("Exit %+v, want Normal from %v", e, px)
		}
	case <-time.After(protoWait):
		t.Fatal("no Exit from the linked proxy")
	}

	// An owned actor of b that panics: Down with the panic.
	owned := protoCallPID(t, a, b, "owned")
	ref, _ = ib.Monitor(ctxT(t), owned)
	_ = n.Send(owned, wrapperspb.String("boom"))
	down = recvType[actor.Down](t, ib, protoWait)
	var pe *actor.PanicError
	if down.Ref != ref || !errors.As(down.Reason, &pe) || pe.Value != "boom" {
		t.Fatalf("Down %+v, want the panic boom", down)
	}

	// protoactor on a Watches a process of b: Stopped when it exits.
	terminated := make(chan *pa.Terminated, 4)
	watch := func(p actor.PID) {
		started := make(chan struct{})
		n.ActorSystem().Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
			switch m := c.Message().(type) {
			case *pa.Started:
				c.Watch(n.ProtoPID(p))
				close(started)
			case *pa.Terminated:
				terminated <- m
			}
		}))
		<-started
	}
	w := b.spawn(t, a)
	watch(w)
	// The watch's monitor is queued for b before the call below.
	if _, err := a.Node().Call(ctxT(t), w, wrapperspb.String("die")); err == nil {
		t.Fatal("worker survived die")
	}
	select {
	case m := <-terminated:
		if m.Why != pa.TerminatedReason_Stopped {
			t.Fatalf("Terminated %v, want Stopped", m)
		}
	case <-time.After(protoWait):
		t.Fatal("no Terminated for a process of the other node")
	}

	// protoactor on b Watches a process of a: Stopped, reported to ib.
	victim, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	protoCall(t, a, b, "watch "+pidArg(victim)+" "+pidArg(ib.PID()))
	_ = n.Exit(victim, errors.New("gone"))
	if got := recvType[*wrapperspb.Int64Value](t, ib, protoWait); got.Value != int64(pa.TerminatedReason_Stopped) {
		t.Fatalf("b's actor got Terminated %v, want Stopped", pa.TerminatedReason(got.Value))
	}

	// The loss of b: NoConnection and AddressTerminated.
	target = protoCall(t, a, b, "spawn").(*pa.PID)
	px, err = a.Proxy(ctxT(t), target)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ = ib.Monitor(ctxT(t), px)
	w = b.spawn(t, a)
	watch(w)
	// The Watch's monitor is queued for b before this call: once it is
	// answered, b holds the monitor.
	if _, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("ping")); err != nil {
		t.Fatal(err)
	}
	b.kill()
	down = recvType[actor.Down](t, ib, protoWait)
	if down.Ref != ref || !errors.Is(down.Reason, actor.NoConnection) {
		t.Fatalf("Down %+v after kill -9, want NoConnection", down)
	}
	select {
	case m := <-terminated:
		if m.Why != pa.TerminatedReason_AddressTerminated {
			t.Fatalf("Terminated %v after kill -9, want AddressTerminated", m)
		}
	case <-time.After(protoWait):
		t.Fatal("no Terminated after kill -9")
	}
}

// TestProtoAcrossNodesBadMessages checks that what protoactor code sends
// to a process of another node, of a type that node does not know or
// that does not decode there, is dropped, logged and counted by the
// receiver, which goes on; and that a bad ProtoProxyRequest is refused.
func TestProtoAcrossNodesBadMessages(t *testing.T) {
	a, b, _ := withChild(t)
	root := a.Node().ActorSystem().Root
	ib := newInbox(t, a.Node())
	t.Cleanup(ib.Close)
	v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("relay "+pidArg(ib.PID())))
	if err != nil {
		t.Fatal(err)
	}
	relay, _ := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).Value)
	to := a.Node().ProtoPID(relay)
	dropped := func() int64 {
		v, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("dropped"))
		if err != nil {
			t.Fatal(err)
		}
		return v.(*wrapperspb.Int64Value).Value
	}
	before := dropped()
	root.Send(to, unknownMessage(t))   // a type b does not know
	root.Send(to, malformedMessage(t)) // a StringValue that does not decode
	root.Send(to, wrapperspb.Int64(1))
	if got := recvType[*wrapperspb.Int64Value](t, ib, protoWait); got.Value != 1 {
		t.Fatalf("relayed %d, want 1", got.Value)
	}
	if d := dropped() - before; d != 2 {
		t.Fatalf("b dropped %d messages, want 2", d)
	}

	// The proxy service refuses a request of another version, or that is
	// none.
	for _, req := range []proto.Message{wrapperspb.String("not a request"), &clusterpb.ProtoProxyRequest{Version: 99, Id: "$1"}, &clusterpb.ProtoProxyRequest{Version: 4}} {
		r, err := a.CallNamed(ctxT(t), b.name, "arbor.protoactor", req)
		if err != nil {
			t.Fatal(err)
		}
		if rep := r.(*clusterpb.ProtoProxyReply); rep.GetError() == "" || rep.GetProxy() != nil {
			t.Fatalf("answer to %v: %v", req, rep)
		}
	}
	// A Proxy of an Id no actor has: the proxy exits with NoProc.
	px, err := a.Proxy(ctxT(t), &pa.PID{Address: strings.SplitN(b.name, "@", 2)[1], Id: "no-such-actor"})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := ib.Monitor(ctxT(t), px)
	if down := recvType[actor.Down](t, ib, protoWait); down.Ref != ref || !errors.Is(down.Reason, actor.NoProc) {
		t.Fatalf("Down %+v, want NoProc", down)
	}
}

// dynamicMessage builds a message of a type no binary links in: package
// pkg, message name, one field value of kind k.
func dynamicMessage(t *testing.T, pkg, name string, k descriptorpb.FieldDescriptorProto_Type) *dynamicpb.Message {
	t.Helper()
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("dynamic/" + pkg + "." + name + ".proto"),
		Package: proto.String(pkg),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String(name),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("value"), Number: proto.Int32(1), Type: k.Enum(),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String("value"),
			}},
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dynamicpb.NewMessage(fd.Messages().Get(0))
}

func unknownMessage(t *testing.T) proto.Message {
	m := dynamicMessage(t, "arbor.test.unknown", "Nobody", descriptorpb.FieldDescriptorProto_TYPE_STRING)
	m.Set(m.Descriptor().Fields().Get(0), protoreflect.ValueOfString("x"))
	return m
}

// malformedMessage is named google.protobuf.StringValue but carries bytes
// that are not UTF-8 in its string field: the receiver cannot decode it.
func malformedMessage(t *testing.T) proto.Message {
	m := dynamicMessage(t, "google.protobuf", "StringValue", descriptorpb.FieldDescriptorProto_TYPE_BYTES)
	m.Set(m.Descriptor().Fields().Get(0), protoreflect.ValueOfBytes([]byte{0xff, 0xfe}))
	return m
}

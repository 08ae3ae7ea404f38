package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	pa "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// protoEcho is a protoactor actor answering a StringValue request V with
// "pong:V".
func protoEcho() *pa.Props {
	return pa.PropsFromFunc(func(c pa.Context) {
		if m, ok := c.Message().(*wrapperspb.StringValue); ok && c.Sender() != nil {
			c.Respond(wrapperspb.String("pong:" + m.Value))
		}
	})
}

// protoActors holds the child's protoactor actors by label.
var protoActors sync.Map // label → *pa.PID

// proto is the child's "proto" commands:
//   - spawn A: spawn a protoEcho actor labelled A; reply "ADDRESS ID";
//   - register NAME A META / join GROUP A META: RegisterProto / JoinProto
//     of A; reply the proxy's PID;
//   - registerremote NAME ADDRESS ID META: RegisterProto of an actor of
//     another node; reply the proxy's PID;
//   - via NAME META: an owned protoEcho actor started under NAME
//     (SpawnProto with registry.Via); reply its PID;
//   - call NAME V: registry.Call(NAME, V); reply the answer;
//   - stop A: stop A and wait until it stopped.
func (ch *childCmds) proto(ctx context.Context, args []string) (string, error) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	n := ch.c.Node()
	root := n.ActorSystem().Root
	actorOf := func(label string) (*pa.PID, error) {
		v, ok := protoActors.Load(label)
		if !ok {
			return nil, fmt.Errorf("no protoactor actor %q", label)
		}
		return v.(*pa.PID), nil
	}
	switch arg(0) {
	case "spawn":
		p := root.Spawn(protoEcho())
		protoActors.Store(arg(1), p)
		return p.Address + " " + p.Id, nil
	case "register", "join":
		p, err := actorOf(arg(2))
		if err != nil {
			return "", err
		}
		var pid actor.PID
		if arg(0) == "register" {
			pid, err = ch.reg.RegisterProto(ctx, ch.scope, arg(1), p, wrapperspb.String(arg(3)))
		} else {
			pid, err = ch.reg.JoinProto(ctx, ch.scope, arg(1), p, wrapperspb.String(arg(3)))
		}
		return pidText(pid), err
	case "registerremote":
		pid, err := ch.reg.RegisterProto(ctx, ch.scope, arg(1), &pa.PID{Address: arg(2), Id: arg(3)}, wrapperspb.String(arg(4)))
		return pidText(pid), err
	case "via":
		pid, err := n.SpawnProto(protoEcho(), registry.Via(ch.scope, arg(1), registry.WithMeta(wrapperspb.String(arg(2)))))
		return pidText(pid), err
	case "call":
		v, err := registry.Call(actor.WithNode(ctx, n), ch.scope, arg(1), wrapperspb.String(arg(2)))
		if err != nil {
			return "", err
		}
		return v.(*wrapperspb.StringValue).GetValue(), nil
	case "stop":
		p, err := actorOf(arg(1))
		if err != nil {
			return "", err
		}
		return "", root.StopFuture(p).Wait()
	}
	return "", fmt.Errorf("unknown proto command %q", arg(0))
}

// TestProtoNamesReplicated checks a protoactor actor in a replicated
// scope, across two node processes: registered and joined on its node
// (RegisterProto, JoinProto), it is seen on the other with the same
// callbacks, a call by name from there reaches it and its Respond answers,
// its stop removes its entries everywhere with the exit reason Normal; an actor of
// the other node can be registered from here (its proxy runs on its own
// node); and an owned actor started with via naming is reached by name.
func TestProtoNamesReplicated(t *testing.T) {
	addrs := map[string]string{"a": addr(t), "b": addr(t)}
	env := func(l, other string) []string {
		return []string{"CHILD_LISTEN=" + addrs[l], "CHILD_PEERS=" + other + "@" + addrs[other], "CHILD_SCOPE=s"}
	}
	a := startNode(t, "a", env("a", "b")...)
	b := startNode(t, "b", env("b", "a")...)
	eventually(t, a, "b@"+addrs["b"], "nodes")
	eventually(t, b, "a@"+addrs["a"], "nodes")

	a.ok("proto spawn p1")
	px := a.ok("proto register n1 p1 m1")
	if got := a.ok("proto join g1 p1 mg"); got != px {
		t.Fatalf("JoinProto gave proxy %s, RegisterProto %s", got, px)
	}
	eventually(t, b, px+" m1", "lookup n1")
	eventuallyEvent(t, b, "registered n1 "+px+" m1 normal")
	eventually(t, b, px+":mg", "members g1")
	eventuallyEvent(t, b, "joined g1 "+px+" mg normal")
	if got := b.ok("proto call n1 hi"); got != "pong:hi" {
		t.Fatalf("call n1 from b: %q", got)
	}
	a.ok("proto stop p1")
	for _, n := range []*node{a, b} {
		eventually(t, n, "none", "lookup n1")
		eventuallyEvent(t, n, "unregistered n1 "+px+" m1 exit: normal")
		eventuallyEvent(t, n, "left g1 "+px+" mg exit: normal")
	}

	// b registers an actor of a: its proxy is a's process.
	addrID := strings.Fields(a.ok("proto spawn p2"))
	px2 := b.ok("proto registerremote n2 %s %s m2", addrID[0], addrID[1])
	if !strings.Contains(px2, "a@") {
		t.Fatalf("proxy of a's actor registered from b is %s, want a process of a", px2)
	}
	eventually(t, a, px2+" m2", "lookup n2")
	if got := a.ok("proto call n2 x"); got != "pong:x" {
		t.Fatalf("call n2 on a: %q", got)
	}

	// Via naming: an owned actor under a name, called from the other node.
	px3 := a.ok("proto via n3 m3")
	eventually(t, b, px3+" m3", "lookup n3")
	if got := b.ok("proto call n3 y"); got != "pong:y" {
		t.Fatalf("call n3 from b: %q", got)
	}
}

// protoRecorder records the names and groups callbacks of a local scope.
type protoRecorder struct {
	mu     sync.Mutex
	events []string
}

func (r *protoRecorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *protoRecorder) has(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e == s {
			return nil
		}
	}
	return fmt.Errorf("no event %q in %q", s, r.events)
}

func (r *protoRecorder) OnProcessRegistered(_, name string, pid actor.PID, _ any, why registry.Reason) {
	r.add(fmt.Sprintf("registered %s %v %v", name, pid, why))
}

func (r *protoRecorder) OnProcessUnregistered(_, name string, pid actor.PID, _ any, why registry.Reason) {
	r.add(fmt.Sprintf("unregistered %s %v %v", name, pid, why))
}

func (r *protoRecorder) OnProcessJoined(_, group string, pid actor.PID, _ any, why registry.Reason) {
	r.add(fmt.Sprintf("joined %s %v %v", group, pid, why))
}

func (r *protoRecorder) OnProcessLeft(_, group string, pid actor.PID, _ any, why registry.Reason) {
	r.add(fmt.Sprintf("left %s %v %v", group, pid, why))
}

func waitFor(t *testing.T, f func() error) {
	t.Helper()
	testkit.Eventually(t, converge, f)
}

// TestProtoNamesLocal checks a protoactor actor in a scope of one node:
// RegisterProto and JoinProto with their callbacks, Lookup and a call by
// name answered by Respond, Members, and the entries' removal with the exit
// reason Normal when the actor stops; a nil PID is refused.
func TestProtoNamesLocal(t *testing.T) {
	n := actor.NewNode()
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	reg := registry.New(n)
	rec := &protoRecorder{}
	if err := reg.AddScope("s", registry.WithEventHandler(rec)); err != nil {
		t.Fatal(err)
	}
	ctx := actor.WithNode(ctxT(t), n)
	target := n.ActorSystem().Root.Spawn(protoEcho())
	px, err := reg.RegisterProto(ctx, "s", "echo", target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := n.ProxyTarget(px); !ok || got.Id != target.Id {
		t.Fatalf("ProxyTarget(%v) = %v, %v", px, got, ok)
	}
	if _, err := reg.JoinProto(ctx, "s", "g", target, nil); err != nil {
		t.Fatal(err)
	}
	if pid, _, err := reg.Lookup("s", "echo"); err != nil || pid != px {
		t.Fatalf("Lookup = %v, %v; want %v", pid, err, px)
	}
	if ms, _ := reg.Members("s", "g"); len(ms) != 1 || ms[0].PID != px {
		t.Fatalf("Members = %v", ms)
	}
	v, err := registry.Call(ctx, "s", "echo", wrapperspb.String("hi"))
	if err != nil || v.(*wrapperspb.StringValue).GetValue() != "pong:hi" {
		t.Fatalf("Call by name: %v, %v", v, err)
	}
	waitFor(t, func() error { return rec.has(fmt.Sprintf("registered echo %v normal", px)) })
	waitFor(t, func() error { return rec.has(fmt.Sprintf("joined g %v normal", px)) })
	if err := n.ActorSystem().Root.StopFuture(target).Wait(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() error { return rec.has(fmt.Sprintf("unregistered echo %v exit: normal", px)) })
	waitFor(t, func() error { return rec.has(fmt.Sprintf("left g %v exit: normal", px)) })
	if _, _, err := reg.Lookup("s", "echo"); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("Lookup after the actor stopped: %v", err)
	}
	if _, err := reg.RegisterProto(ctx, "s", "nil", nil, nil); !errors.Is(err, actor.ErrNilProtoPID) {
		t.Fatalf("RegisterProto(nil): %v", err)
	}
}

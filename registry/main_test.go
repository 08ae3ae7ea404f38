package registry_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
		os.Exit(0)
	}
	testkit.VerifyTestMain(m)
}

func newNode(t testing.TB) *actor.Node { return actortest.NewNode(t) }

func ctxT(t testing.TB) context.Context { return actortest.Context(t) }

// newScope returns a registry on a fresh node with scope "s" added.
func newScope(t testing.TB, opts ...registry.ScopeOption) (*actor.Node, *registry.Registry, *registry.Scope) {
	t.Helper()
	n := newNode(t)
	r := registry.New(n)
	if err := r.AddScope("s", opts...); err != nil {
		t.Fatalf("add scope: %v", err)
	}
	s, err := r.Scope("s")
	if err != nil {
		t.Fatalf("scope: %v", err)
	}
	return n, r, s
}

// worker is a process that ends with the reason it is sent, and answers
// calls with its request.
type worker struct{}

type die struct{ reason error }

func (worker) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case die:
		return m.reason
	case *actor.Request:
		if d, ok := m.Message().(die); ok {
			return d.reason
		}
		m.Reply(m.Message())
	}
	return nil
}

func spawn(t testing.TB, n *actor.Node) actor.PID {
	t.Helper()
	pid, err := n.Spawn(worker{})
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	return pid
}

// kill ends pid with reason and waits until it has exited.
func kill(t testing.TB, n *actor.Node, pid actor.PID, reason error) {
	t.Helper()
	exited := n.WatchExit(pid)
	if err := n.Send(pid, die{reason}); err != nil {
		t.Fatalf("send die: %v", err)
	}
	select {
	case <-exited:
	case <-ctxT(t).Done():
		t.Fatalf("%v did not exit", pid)
	}
}

// sync waits until the scope has handled everything queued and run every
// callback produced so far.
func syncScope(t testing.TB, s *registry.Scope) {
	t.Helper()
	if err := registry.Sync(ctxT(t), s); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// recorder is an event handler implementing every callback; it records
// each call as a line.
type recorder struct{ testkit.List[string] }

func (r *recorder) add(format string, args ...any) { r.Add(fmt.Sprintf(format, args...)) }

func (r *recorder) OnProcessRegistered(scope, name string, pid actor.PID, meta any, reason registry.Reason) {
	r.add("registered %s %s %v %v %s", scope, name, pid, meta, reason)
}

func (r *recorder) OnProcessUnregistered(scope, name string, pid actor.PID, meta any, reason registry.Reason) {
	r.add("unregistered %s %s %v %v %s", scope, name, pid, meta, reason)
}

func (r *recorder) OnRegistryProcessUpdated(scope, name string, pid actor.PID, prev, meta any, reason registry.Reason) {
	r.add("updated %s %s %v %v->%v %s", scope, name, pid, prev, meta, reason)
}

func (r *recorder) OnProcessJoined(scope, group string, pid actor.PID, meta any, reason registry.Reason) {
	r.add("joined %s %s %v %v %s", scope, group, pid, meta, reason)
}

func (r *recorder) OnProcessLeft(scope, group string, pid actor.PID, meta any, reason registry.Reason) {
	r.add("left %s %s %v %v %s", scope, group, pid, meta, reason)
}

func (r *recorder) OnGroupProcessUpdated(scope, group string, pid actor.PID, prev, meta any, reason registry.Reason) {
	r.add("group-updated %s %s %v %v->%v %s", scope, group, pid, prev, meta, reason)
}

package singleton_test

// Black-box probes of the registry (Highlander) mode on the in-memory
// network, from docs/singletons.md: one instance cluster-wide, reached
// from any node, taken over when its node is lost.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// TestProbeHighlanderAnyNode: three nodes each run the singleton; exactly
// one instance runs, Whereis names it on every node, Call and Cast reach
// it from every node (plain contexts); a crash of its node (kill -9)
// brings exactly one new instance on another node, named everywhere.
func TestProbeHighlanderAnyNode(t *testing.T) {
	var mu sync.Mutex
	regs := map[string]*registry.Registry{}
	running := map[actor.PID]*actor.Node{}
	casts := make(chan string, 16)
	spec := func(node string) supervision.ChildSpec {
		return supervision.ChildSpec{ID: "billing", Shutdown: supervision.Timeout(2 * time.Second),
			Start: func(ctx *actor.Context) (actor.PID, error) {
				pid, err := ctx.SpawnLink(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
					switch m := msg.(type) {
					case *actor.Request:
						m.Reply(wrapperspb.String(node))
					case *wrapperspb.StringValue:
						casts <- node + ":" + m.GetValue()
					}
					return nil
				}))
				if err == nil {
					mu.Lock()
					running[pid] = ctx.Node()
					mu.Unlock()
				}
				return pid, err
			}}
	}
	c := clustertest.Start(t, 3, clustertest.WithSetup(func(n *cluster.Cluster) error {
		reg := registry.NewCluster(n)
		if err := singleton.AddScope(reg, "one"); err != nil {
			return err
		}
		mu.Lock()
		regs[n.Name()] = reg
		mu.Unlock()
		short, _, _ := strings.Cut(n.Name(), "@")
		_, err := supervision.Start(n.Node(), []supervision.ChildSpec{
			singleton.Spec(spec(short), singleton.WithRegistry(reg, "one")),
		})
		return err
	}))
	alive := func() []actor.PID {
		mu.Lock()
		defer mu.Unlock()
		var out []actor.PID
		for pid, n := range running {
			if n.IsAlive(pid) {
				out = append(out, pid)
			}
		}
		return out
	}
	agree := func(nodes []*cluster.Cluster) actor.PID {
		var inst actor.PID
		testkit.Eventually(t, 15*time.Second, func() error {
			a := alive()
			if len(a) != 1 {
				return fmt.Errorf("%d instances", len(a))
			}
			for _, n := range nodes {
				mu.Lock()
				reg := regs[n.Name()]
				mu.Unlock()
				if pid, err := singleton.Whereis(reg, "one", "billing"); err != nil || pid != a[0] {
					return fmt.Errorf("%s: Whereis %v %v, want %v", n.Name(), pid, err, a[0])
				}
			}
			inst = a[0]
			return nil
		})
		return inst
	}
	inst := agree(c.Nodes())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range c.Nodes() {
		mu.Lock()
		reg := regs[n.Name()]
		mu.Unlock()
		v, err := singleton.Call(ctx, reg, "one", "billing", wrapperspb.String("who"))
		if err != nil || v.(*wrapperspb.StringValue).GetValue() != inst.NodeName()[:2] {
			t.Fatalf("Call from %s: %v %v, want the instance on %s", n.Name(), v, err, inst.NodeName())
		}
		if err := singleton.Cast(ctx, reg, "one", "billing", wrapperspb.String(n.Name())); err != nil {
			t.Fatalf("Cast from %s: %v", n.Name(), err)
		}
		select {
		case got := <-casts:
			if got != inst.NodeName()[:2]+":"+n.Name() {
				t.Fatalf("cast from %s arrived as %q", n.Name(), got)
			}
		case <-ctx.Done():
			t.Fatalf("cast from %s did not arrive", n.Name())
		}
	}
	var holder *cluster.Cluster
	var rest []*cluster.Cluster
	for _, n := range c.Nodes() {
		if n.Name() == inst.NodeName() {
			holder = n
		} else {
			rest = append(rest, n)
		}
	}
	if err := c.Crash(ctx, holder); err != nil {
		t.Fatal(err)
	}
	next := agree(rest)
	if next == inst || next.NodeName() == holder.Name() {
		t.Fatalf("after the crash of %s: instance %v", holder.Name(), next)
	}
}

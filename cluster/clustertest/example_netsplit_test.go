package clustertest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// until polls cond until it holds or ctx ends (an Example has no
// testing.T; a test would use its own eventually helper).
func until(ctx context.Context, cond func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// A singleton in the registry (Highlander) mode through a netsplit: three
// nodes each run a supervisor with the singleton "billing"; n1 holds it.
// Split n1 from n2 and n3, and the majority side starts an instance of
// its own (the registry mode keeps one instance per connected part); heal
// the split, and the scope's resolver keeps the instance that served
// longest, n1's, and stops the other.
func Example_singleton() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	regs := map[string]*registry.Registry{}
	instance := map[string]actor.PID{} // node -> its instance, last started
	nodes := map[string]*actor.Node{}
	billing := func(node string) supervision.ChildSpec {
		return supervision.ChildSpec{ID: "billing", Start: func(ctx *actor.Context) (actor.PID, error) {
			pid, err := ctx.SpawnLink(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
				if r, ok := msg.(*actor.Request); ok {
					r.Reply(wrapperspb.String("billing on " + node))
				}
				return nil
			}))
			mu.Lock()
			instance[node] = pid
			mu.Unlock()
			return pid, err
		}}
	}
	// Each node, as it starts: its registry, the singletons' scope, and a
	// supervisor with the singleton. n1 starts first and claims it.
	c, err := clustertest.New(ctx, 3, clustertest.WithSetup(func(n *cluster.Cluster) error {
		short, _, _ := strings.Cut(n.Name(), "@")
		reg := registry.NewCluster(n)
		if err := singleton.AddScope(reg, "singletons"); err != nil {
			return err
		}
		mu.Lock()
		regs[short], nodes[short] = reg, n.Node()
		mu.Unlock()
		_, err := supervision.Start(n.Node(), []supervision.ChildSpec{
			singleton.Spec(billing(short), singleton.WithRegistry(reg, "singletons")),
		})
		return err
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(ctx)
	n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
	instances := func() (on []string) {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range []string{"n1", "n2", "n3"} {
			if pid, ok := instance[n]; ok && nodes[n].IsAlive(pid) {
				on = append(on, n)
			}
		}
		return on
	}
	who := func(node string) string {
		reply, err := singleton.Call(ctx, regs[node], "singletons", "billing", wrapperspb.String("who?"))
		if err != nil {
			return err.Error()
		}
		return reply.(*wrapperspb.StringValue).GetValue()
	}
	until(ctx, func() bool { return who("n3") == "billing on n1" })
	fmt.Println("before:", instances(), "n3 calls", who("n3"))

	c.Partition([]*cluster.Cluster{n1}, []*cluster.Cluster{n2, n3})
	until(ctx, func() bool { return len(instances()) == 2 })
	split := instances()
	fmt.Println("split: two instances:", len(split), "n1's still runs:", len(split) > 0 && split[0] == "n1")
	// n3 learns where n2's side started its instance once the claim's
	// update has replicated to it.
	sameOne := func() bool {
		w := who("n2")
		return w == who("n3") && strings.HasPrefix(w, "billing on ") && w != "billing on n1"
	}
	until(ctx, sameOne)
	fmt.Println("split: n2 and n3 reach the same one:", sameOne())

	c.HealAll()
	until(ctx, func() bool { return len(instances()) == 1 })
	until(ctx, func() bool { return who("n2") == "billing on n1" && who("n3") == "billing on n1" })
	fmt.Println("healed:", instances(), "n2 calls", who("n2"))
	// Output:
	// before: [n1] n3 calls billing on n1
	// split: two instances: 2 n1's still runs: true
	// split: n2 and n3 reach the same one: true
	// healed: [n1] n2 calls billing on n1
}

// conflicts is a registry event handler: it records the registrations
// that a conflict's resolution removed.
type conflicts struct {
	mu      sync.Mutex
	removed []string
}

func (h *conflicts) OnProcessUnregistered(_, name string, _ actor.PID, meta any, r registry.Reason) {
	if r == (registry.ConflictResolution{}) {
		h.mu.Lock()
		h.removed = append(h.removed, name+" "+meta.(*wrapperspb.StringValue).GetValue())
		h.mu.Unlock()
	}
}

// A registry handler through a netsplit: each side of a split registers
// the name "leader" for a process of its own. When the split heals, the
// scope resolves the conflict alike on every node (by default the later
// registration stays and the other process is killed with a
// registry.ConflictError), and the handler of the loser's node is called
// with ConflictResolution.
func Example_registry() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	regs := map[string]*registry.Registry{}
	handlers := map[string]*conflicts{}
	c, err := clustertest.New(ctx, 3, clustertest.WithSetup(func(n *cluster.Cluster) error {
		short, _, _ := strings.Cut(n.Name(), "@")
		reg, h := registry.NewCluster(n), &conflicts{}
		mu.Lock()
		regs[short], handlers[short] = reg, h
		mu.Unlock()
		return reg.AddScope("s", registry.WithEventHandler(h))
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(ctx)
	n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
	worker := actor.ReceiverFunc(func(*actor.Context, any) error { return nil })
	scopeNodes := func(node string) int {
		s, _ := regs[node].Scope("s")
		return len(s.Nodes())
	}

	c.Partition([]*cluster.Cluster{n1}, []*cluster.Cluster{n2, n3})
	until(ctx, func() bool { return scopeNodes("n1") == 0 && scopeNodes("n2") == 1 })
	p1, _ := n1.Node().Spawn(worker)
	p2, _ := n2.Node().Spawn(worker)
	exited := n1.Node().WatchExit(p1)
	fmt.Println(regs["n1"].Register(ctx, "s", "leader", p1, wrapperspb.String("from n1")))
	fmt.Println(regs["n2"].Register(ctx, "s", "leader", p2, wrapperspb.String("from n2")))

	c.HealAll()
	holder := func(node string) actor.PID { pid, _, _ := regs[node].Lookup("s", "leader"); return pid }
	until(ctx, func() bool { return holder("n1") == p2 && holder("n3") == p2 })
	fmt.Println("every node: leader is n2's:", holder("n1") == p2 && holder("n2") == p2 && holder("n3") == p2)
	var ce *registry.ConflictError
	fmt.Println("n1's process exited with a conflict:", errors.As(<-exited, &ce) && ce.Name == "leader")
	h := handlers["n1"]
	until(ctx, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.removed) > 0 })
	h.mu.Lock()
	fmt.Println("n1's handler:", h.removed)
	h.mu.Unlock()
	// Output:
	// <nil>
	// <nil>
	// every node: leader is n2's: true
	// n1's process exited with a conflict: true
	// n1's handler: [leader from n1]
}

package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// The randomized test runs a registry-mode (Highlander) cluster singleton
// on every node beside the registry's own writes, in a scope of its own
// ("hl", key "hl"): the singleton's child runs in the node processes, is
// stopped and started by the cuts, freezes, kills and heals, and after
// each heal and quiescence exactly one instance must run cluster-wide,
// named by Whereis on every node. (This file is in the external test
// package: cluster/singleton sits above registry, and only an external
// test may import it.)
func init() {
	childExtraCmds["singleton"] = singletonCmd
	randExtras = append(randExtras, randExtra{
		Name:  "singleton",
		Start: func(rc *randCluster, l string) { rc.nodes[l].ok("singleton start") },
		Check: checkSingleton,
	})
}

// singletonScope is the scope and the key of the randomized test's
// singleton.
const singletonScope = "hl"

// singletonState is a child node's singleton: its supervisor and its
// instances' starts and stops.
type singletonState struct {
	sup           actor.PID
	running       atomic.Int64
	stopsShutdown atomic.Int64
	stopsOther    atomic.Int64
}

// singletonInstance is the singleton's child: it traps exits, so the
// singleton's stop signal reaches its Receive (its Terminate) with the
// reason the singleton stops it with.
type singletonInstance struct{ st *singletonState }

func (i *singletonInstance) Init(ctx *actor.Context) error {
	ctx.TrapExit(true)
	i.st.running.Add(1)
	return nil
}

func (i *singletonInstance) Receive(ctx *actor.Context, msg any) error {
	if m, ok := msg.(actor.Exit); ok && m.From == ctx.Parent() {
		i.st.running.Add(-1)
		var se *actor.ShutdownError
		if errors.Is(m.Reason, actor.Shutdown) || errors.As(m.Reason, &se) {
			i.st.stopsShutdown.Add(1)
		} else {
			i.st.stopsOther.Add(1)
		}
		return m.Reason
	}
	return nil
}

// singletonCmd runs "singleton start" (add the scope, start the
// singleton under a supervisor, stopped before the node) and "singleton
// state" ("running N where LABEL|none shutdown N other N"; LABEL is the
// node Whereis names).
func singletonCmd(ch *childCmds, args []string) (string, error) {
	n := ch.c.Node()
	switch {
	case len(args) == 2 && args[1] == "start":
		if ch.extra != nil {
			return "", errors.New("singleton started already")
		}
		if err := singleton.AddScope(ch.reg, singletonScope); err != nil {
			return "", err
		}
		st := &singletonState{}
		child := supervision.ChildSpec{
			ID:       singletonScope,
			Shutdown: supervision.Timeout(time.Second),
			Start: func(ctx *actor.Context) (actor.PID, error) {
				return ctx.SpawnLink(&singletonInstance{st: st})
			},
		}
		sup, err := supervision.Start(n, []supervision.ChildSpec{
			singleton.Spec(child, singleton.WithRegistry(ch.reg, singletonScope)),
		})
		if err != nil {
			return "", err
		}
		st.sup = sup
		ch.extra = st
		ch.atStop = append(ch.atStop, func(ctx context.Context) { _ = supervision.Stop(ctx, n, sup) })
		return "", nil
	case len(args) == 2 && args[1] == "state":
		st, ok := ch.extra.(*singletonState)
		if !ok {
			return "", errors.New("singleton not started")
		}
		where := "none"
		if pid, err := singleton.Whereis(ch.reg, singletonScope, singletonScope); err == nil {
			where, _, _ = strings.Cut(pid.NodeName(), "@")
		}
		return fmt.Sprintf("running %d where %s shutdown %d other %d", st.running.Load(), where,
			st.stopsShutdown.Load(), st.stopsOther.Load()), nil
	}
	return "", fmt.Errorf("singleton: unknown command %q", args)
}

// singletonView is every node's singleton state at one moment.
type singletonView struct {
	running map[string]int // label -> instances running there
	where   map[string]string
	stops   map[string][2]int // label -> Shutdown and other stops so far
}

func lookSingleton(rc *randCluster) singletonView {
	v := singletonView{running: map[string]int{}, where: map[string]string{}, stops: map[string][2]int{}}
	for _, l := range rc.mn.labels {
		var run, shut, other int
		var where string
		r := rc.nodes[l].ok("singleton state")
		if _, err := fmt.Sscanf(r, "running %d where %s shutdown %d other %d", &run, &where, &shut, &other); err != nil {
			rc.t.Fatalf("node %s: singleton state %q: %v", l, r, err)
		}
		v.running[l], v.where[l], v.stops[l] = run, where, [2]int{shut, other}
	}
	return v
}

// problem says what keeps v from one instance named by every node.
func (v singletonView) problem() (instances int, disagree int, err error) {
	var on []string
	for l, r := range v.running {
		instances += r
		if r > 0 {
			on = append(on, l)
		}
	}
	if instances != 1 {
		return instances, 0, fmt.Errorf("%d instances, running on %v", instances, on)
	}
	for l, w := range v.where {
		if w != on[0] {
			disagree++
			err = fmt.Errorf("node %s names the instance on %s, it runs on %s", l, w, on[0])
		}
	}
	return instances, disagree, err
}

// singletonStopsSeen are the stops each node (by its process) had made
// at the last check, so that each check counts only the new ones.
var singletonStopsSeen = map[*node][2]int{}

// checkSingleton waits, after the registry's quiescence, until exactly
// one instance runs cluster-wide and every node's Whereis names it; it
// counts what is still wrong at the deadline, and any instance stopped
// with another reason than a Shutdown-class one.
func checkSingleton(rc *randCluster, cycle int) map[string]int {
	var v singletonView
	rec := &softFail{TB: rc.t}
	testkit.Eventually(rec, converge, func() error {
		v = lookSingleton(rc)
		_, _, err := v.problem()
		return err
	})
	out := map[string]int{
		"singleton duplicates after heal": 0,
		"singleton missing after heal":    0,
		"singleton whereis mismatches":    0,
		"singleton stops not by shutdown": 0,
	}
	if rec.failed != "" {
		rc.t.Logf("cycle %d: singleton not converged: %s", cycle, rec.failed)
		instances, disagree, _ := v.problem()
		out["singleton duplicates after heal"] = max(0, instances-1)
		if instances == 0 {
			out["singleton missing after heal"] = 1
		}
		out["singleton whereis mismatches"] = disagree
	}
	for _, l := range rc.mn.labels {
		n := rc.nodes[l]
		seen := singletonStopsSeen[n]
		if other := v.stops[l][1] - seen[1]; other > 0 {
			rc.t.Logf("cycle %d: node %s: %d singleton instances stopped by another reason than Shutdown", cycle, l, other)
			out["singleton stops not by shutdown"] += other
		}
		singletonStopsSeen[n] = v.stops[l]
	}
	return out
}

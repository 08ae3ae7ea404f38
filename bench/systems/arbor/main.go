// Command arbor runs the workloads on Arbor: GenServers (behaviour), a
// one_for_one Supervisor (supervision), node-local names (actor), groups
// (registry) and two cluster nodes (cluster).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/bench/internal/harness"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var (
	bg   = context.Background()
	node = actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
)

func main() {
	harness.Main(harness.System{
		Name:    "arbor",
		Modules: []string{"github.com/arbor-otp/arbor", "github.com/asynkron/protoactor-go"},
		Setting: []string{
			"logger: zerolog.New(io.Discard) on the node and the cluster",
			"supervisor: WithIntensity(1<<30, time.Second) so the benchmark's kills are never throttled",
			"names: actor.Node.Register (erlang:register); groups: registry scope (pg)",
			"stop: behaviour.StopServer (synchronous, like gen_server:stop)",
			"remote: cluster package, one framed TCP stream of Arbor's own per peer and direction, on the port of protoactor remote's gRPC server (ADR 0008); caller outside any process (Node.Call), whose calls go on a pooled call connection it reads itself (ADR 0011); messages wrapperspb.Int64Value",
		},
		Call:    newCall,
		Cast:    newCast,
		Spawn:   newSpawner,
		Restart: newRestarter,
		Names:   newNames,
		Groups:  newGroups,
		Peer:    peer,
		Remote:  remote,
		Cleanup: func() { _ = node.Stop(bg) },
	})
}

type echo struct{}

func (echo) Init(*actor.Context) (int, error) { return 0, nil }
func (echo) HandleCall(_ *actor.Context, _ behaviour.From, req any, s int) behaviour.Result[int] {
	return behaviour.Reply(req, s)
}

type callSrv struct{ pid actor.PID }

func newCall() (harness.CallServer, error) {
	pid, err := behaviour.Start(node, echo{})
	return &callSrv{pid}, err
}
func (s *callSrv) Call(i int) error {
	v, err := behaviour.Call(bg, s.pid, i)
	if err == nil && v != i {
		err = errors.New("wrong reply")
	}
	return err
}
func (s *callSrv) Close() { _ = behaviour.StopServer(bg, node, s.pid, actor.Normal) }

type counter struct {
	target int
	done   chan struct{}
}

func (c *counter) Init(*actor.Context) (int, error) { return 0, nil }
func (c *counter) HandleCast(_ *actor.Context, _ any, s int) behaviour.Result[int] {
	s++
	if s == c.target {
		close(c.done)
	}
	return behaviour.NoReply(s)
}

type castSrv struct {
	pid  actor.PID
	done chan struct{}
}

func newCast(total int) (harness.CastServer, error) {
	c := &counter{target: total, done: make(chan struct{})}
	pid, err := behaviour.Start[int](node, c)
	return &castSrv{pid, c.done}, err
}
func (s *castSrv) Send(_, i int) error { return behaviour.Cast(bg, s.pid, i) }
func (s *castSrv) Wait() error {
	select {
	case <-s.done:
		return nil
	case <-time.After(time.Minute):
		return errors.New("timeout")
	}
}
func (s *castSrv) Close() { _ = behaviour.StopServer(bg, node, s.pid, actor.Normal) }

// idle is an initialised idle GenServer with a little state.
type idle struct{}

func (idle) Init(*actor.Context) (int, error) { return 1, nil }

type spawner struct{}

func newSpawner() (harness.Spawner, error) { return spawner{}, nil }
func (spawner) SpawnIdle() (any, error)    { return behaviour.Start[int](node, idle{}) }
func (spawner) WaitInitialised(int) error  { return nil }
func (spawner) Stop(h any) error           { return behaviour.StopServer(bg, node, h.(actor.PID), actor.Normal) }
func (spawner) WaitStopped(int) error      { return nil }
func (spawner) Close()                     {}

type restarter struct{ sup actor.PID }

func newRestarter() (harness.Restarter, error) {
	sup, err := supervision.Start(node, []supervision.ChildSpec{{
		ID: "w",
		Start: func(ctx *actor.Context) (actor.PID, error) {
			return behaviour.StartLink[int](ctx, echo{}, behaviour.WithName("w"))
		},
	}}, supervision.WithIntensity(1<<30, time.Second))
	return &restarter{sup}, err
}
func (r *restarter) Current() (any, error) {
	pid, ok := node.WhereIs("w")
	if !ok {
		return nil, errors.New("no child")
	}
	return pid, nil
}
func (r *restarter) Kill(h any) error { return node.Kill(h.(actor.PID)) }
func (r *restarter) TryCall(old any) (any, bool) {
	pid, ok := node.WhereIs("w")
	if !ok || pid == old.(actor.PID) {
		return nil, false
	}
	if _, err := behaviour.Call(bg, pid, 1); err != nil {
		return nil, false
	}
	return pid, true
}
func (r *restarter) Close() { _ = supervision.Stop(bg, node, r.sup) }

func spawnIdle(n int, recv actor.Receiver) ([]actor.PID, error) {
	pids := make([]actor.PID, n)
	for i := range pids {
		var err error
		if pids[i], err = node.Spawn(recv); err != nil {
			return nil, err
		}
	}
	return pids, nil
}

var nop = actor.ReceiverFunc(func(*actor.Context, any) error { return nil })

type names struct {
	pids []actor.PID
	keys []string
}

func newNames(n int) (harness.Names, error) {
	pids, err := spawnIdle(n, nop)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "n" + strconv.Itoa(i)
	}
	return &names{pids, keys}, err
}
func (s *names) Register(i int) error { return node.Register(s.keys[i], s.pids[i]) }
func (s *names) Lookup(i int) error {
	if p, ok := node.WhereIs(s.keys[i]); !ok || p != s.pids[i] {
		return errors.New("wrong process")
	}
	return nil
}
func (s *names) Unregister(i int) error { return node.Unregister(s.keys[i]) }
func (s *names) Close() {
	for _, p := range s.pids {
		_ = node.Kill(p)
	}
}

type groups struct {
	scope   *registry.Scope
	members [][]actor.PID
	names   []string
	done    chan struct{}
	left    atomic.Int64
}

var scopeN atomic.Int64

func newGroups(ng, size int) (harness.Groups, error) {
	reg := registry.New(node)
	name := "bench" + strconv.FormatInt(scopeN.Add(1), 10)
	if err := reg.AddScope(name); err != nil {
		return nil, err
	}
	sc, err := reg.Scope(name)
	if err != nil {
		return nil, err
	}
	s := &groups{scope: sc, done: make(chan struct{}, 1)}
	recv := actor.ReceiverFunc(func(*actor.Context, any) error {
		if s.left.Add(-1) == 0 {
			s.done <- struct{}{}
		}
		return nil
	})
	for g := 0; g < ng; g++ {
		pids, err := spawnIdle(size, recv)
		if err != nil {
			return nil, err
		}
		s.members = append(s.members, pids)
		s.names = append(s.names, "g"+strconv.Itoa(g))
	}
	return s, nil
}
func (s *groups) Join(g, i int) error { return s.scope.Join(bg, s.names[g], s.members[g][i], nil) }
func (s *groups) Members(g int) (int, error) {
	return len(s.scope.Members(s.names[g])), nil
}
func (s *groups) Leave(g, i int) error { return s.scope.Leave(bg, s.names[g], s.members[g][i]) }
func (s *groups) Publish(g int) error {
	s.left.Store(int64(len(s.members[g])))
	if n := s.scope.Publish(bg, s.names[g], g); n != len(s.members[g]) {
		return fmt.Errorf("published to %d", n)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(time.Minute):
		return errors.New("timeout")
	}
}
func (s *groups) Close() {
	for _, ms := range s.members {
		for _, p := range ms {
			_ = node.Kill(p)
		}
	}
}

// Remote: the peer registers "echo" (replies with what it got; its own PID
// when asked) and "sink" (counts the messages it gets, answers calls with the
// count).

type pidEcho struct{}

func (pidEcho) Init(*actor.Context) (int, error) { return 0, nil }
func (pidEcho) HandleCall(ctx *actor.Context, _ behaviour.From, req any, s int) behaviour.Result[int] {
	if _, ok := req.(*wrapperspb.StringValue); ok {
		return behaviour.Reply(wrapperspb.Bytes(cluster.MarshalPID(ctx.Self())), s)
	}
	return behaviour.Reply(req, s)
}

type sink struct{}

func (sink) Init(*actor.Context) (int64, error) { return 0, nil }
func (sink) HandleInfo(_ *actor.Context, _ any, s int64) behaviour.Result[int64] {
	return behaviour.NoReply(s + 1)
}
func (sink) HandleCall(ctx *actor.Context, _ behaviour.From, req any, s int64) behaviour.Result[int64] {
	if _, ok := req.(*wrapperspb.StringValue); ok {
		return behaviour.Reply(wrapperspb.Bytes(cluster.MarshalPID(ctx.Self())), s)
	}
	return behaviour.Reply(wrapperspb.Int64(s), s)
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func peer(self, other int) error {
	c, err := cluster.Start(bg, "peer",
		cluster.WithListenAddr(addr(self)),
		cluster.WithProvider(cluster.Static("main@"+addr(other))),
		cluster.WithLogger(zerolog.New(io.Discard)))
	if err != nil {
		return err
	}
	if _, err := behaviour.Start[int](c.Node(), pidEcho{}, behaviour.WithName("echo")); err != nil {
		return err
	}
	if _, err := behaviour.Start[int64](c.Node(), sink{}, behaviour.WithName("sink")); err != nil {
		return err
	}
	select {}
}

type client struct {
	c    *cluster.Cluster
	echo actor.PID
	sink actor.PID
	msg  *wrapperspb.Int64Value
}

func remote(self, other int) (harness.RemoteClient, error) {
	c, err := cluster.Start(bg, "main",
		cluster.WithListenAddr(addr(self)),
		cluster.WithProvider(cluster.Static("peer@"+addr(other))),
		cluster.WithLogger(zerolog.New(io.Discard)))
	if err != nil {
		return nil, err
	}
	peerName := "peer@" + addr(other)
	cl := &client{c: c, msg: wrapperspb.Int64(7)}
	resolve := func(name string) (actor.PID, error) {
		ctx, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		v, err := c.CallNamed(ctx, peerName, name, wrapperspb.String("pid"))
		if err != nil {
			return actor.PID{}, err
		}
		b, ok := v.(*wrapperspb.BytesValue)
		if !ok {
			return actor.PID{}, fmt.Errorf("reply %T", v)
		}
		return cluster.UnmarshalPID(b.Value)
	}
	err = harness.Until(20*time.Second, "peer session", func() bool {
		if !slices.Contains(c.Nodes(), peerName) {
			return false
		}
		var e1, e2 error
		cl.echo, e1 = resolve("echo")
		cl.sink, e2 = resolve("sink")
		return e1 == nil && e2 == nil
	})
	if err != nil {
		_ = c.Stop(bg)
		return nil, err
	}
	return cl, nil
}

func (c *client) Call(i int) error {
	v, err := c.c.Node().Call(bg, c.echo, wrapperspb.Int64(int64(i)))
	if err != nil {
		return err
	}
	if x, ok := v.(*wrapperspb.Int64Value); !ok || x.Value != int64(i) {
		return fmt.Errorf("reply %v", v)
	}
	return nil
}
func (c *client) Send(int) error { return c.c.Node().Send(c.sink, c.msg) }
func (c *client) WaitReceived(n int) error {
	return harness.Until(time.Minute, "sends received", func() bool {
		v, err := c.c.Node().Call(bg, c.sink, wrapperspb.Int64(0))
		x, ok := v.(*wrapperspb.Int64Value)
		return err == nil && ok && x.Value >= int64(n)
	})
}
func (c *client) Close() { _ = c.c.Stop(bg) }

// Command protoactor runs the workloads on raw protoactor-go, the runtime
// Arbor is built on, at the version Arbor pins.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/arbor-otp/arbor/bench/internal/harness"
	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func newSystem() *pa.ActorSystem {
	return pa.NewActorSystem(pa.WithLoggerFactory(func(*pa.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

var sys = newSystem()

const timeout = 5 * time.Second

func main() {
	harness.Main(harness.System{
		Name:    "protoactor",
		Modules: []string{"github.com/asynkron/protoactor-go"},
		Setting: []string{
			"logger factory: slog.DiscardHandler; default unbounded mailbox; default dispatcher",
			"call: RootContext.RequestFuture(pid, msg, 5s).Result()",
			"spawn: the rate counts until every actor has processed Started (protoactor spawns asynchronously); stop: RootContext.Stop, counted until Stopped",
			"restart: protoactor has no untrappable kill that triggers a restart (Stop/Poison end a child for good); the child is made to panic, and NewOneForOneStrategy(1<<30, 1s) restarts it in place (same PID, new actor instance)",
			"remote: protoactor remote (gRPC) on 127.0.0.1, messages wrapperspb.Int64Value",
		},
		NA: map[string]string{
			"names":  "protoactor-go names a process only when spawning it (SpawnNamed); there is no register/lookup/unregister of a running process (ProcessRegistry.Remove marks the process dead)",
			"groups": "protoactor-go's actor package has no process groups (PubSub exists only in its cluster package, which needs a cluster provider)",
		},
		Call:    newCall,
		Cast:    newCast,
		Spawn:   newSpawner,
		Restart: newRestarter,
		Peer:    peer,
		Remote:  remote_,
	})
}

type callSrv struct{ pid *pa.PID }

func newCall() (harness.CallServer, error) {
	pid := sys.Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		if m, ok := c.Message().(int); ok {
			c.Respond(m)
		}
	}))
	return &callSrv{pid}, nil
}
func (s *callSrv) Call(i int) error {
	v, err := sys.Root.RequestFuture(s.pid, i, timeout).Result()
	if err == nil && v != i {
		err = errors.New("wrong reply")
	}
	return err
}
func (s *callSrv) Close() { _ = sys.Root.StopFuture(s.pid).Wait() }

type castSrv struct {
	pid  *pa.PID
	done chan struct{}
}

func newCast(total int) (harness.CastServer, error) {
	s := &castSrv{done: make(chan struct{})}
	n := 0
	s.pid = sys.Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		if _, ok := c.Message().(int); ok {
			n++
			if n == total {
				close(s.done)
			}
		}
	}))
	return s, nil
}
func (s *castSrv) Send(_, i int) error { sys.Root.Send(s.pid, i); return nil }
func (s *castSrv) Wait() error {
	select {
	case <-s.done:
		return nil
	case <-time.After(time.Minute):
		return errors.New("timeout")
	}
}
func (s *castSrv) Close() { _ = sys.Root.StopFuture(s.pid).Wait() }

type idle struct {
	sp    *spawner
	state int
}

func (a *idle) Receive(c pa.Context) {
	switch c.Message().(type) {
	case *pa.Started:
		a.state = 1
		a.sp.started.Add(1)
	case *pa.Stopped:
		a.sp.stopped.Add(1)
	}
}

type spawner struct {
	started, stopped atomic.Int64
	props            *pa.Props
}

func newSpawner() (harness.Spawner, error) {
	sp := &spawner{}
	sp.props = pa.PropsFromProducer(func() pa.Actor { return &idle{sp: sp} })
	return sp, nil
}
func (sp *spawner) SpawnIdle() (any, error) { return sys.Root.Spawn(sp.props), nil }
func (sp *spawner) WaitInitialised(n int) error {
	return harness.Until(time.Minute, "started", func() bool { return sp.started.Load() >= int64(n) })
}
func (sp *spawner) Stop(h any) error { sys.Root.Stop(h.(*pa.PID)); return nil }
func (sp *spawner) WaitStopped(n int) error {
	return harness.Until(time.Minute, "stopped", func() bool { return sp.stopped.Load() >= int64(n) })
}
func (sp *spawner) Close() {}

// Restart: a parent with a one-for-one strategy; the child answers calls with
// its incarnation and panics on "crash".

var incarnations atomic.Int64

type child struct{ inc int64 }

func (a *child) Receive(c pa.Context) {
	switch c.Message().(type) {
	case *pa.Started:
		a.inc = incarnations.Add(1)
	case string:
		panic("crash")
	case int:
		c.Respond(a.inc)
	}
}

type parent struct{ childPID chan *pa.PID }

func (a *parent) Receive(c pa.Context) {
	if _, ok := c.Message().(*pa.Started); ok {
		a.childPID <- c.Spawn(pa.PropsFromProducer(func() pa.Actor { return &child{} }))
	}
}

type restarter struct {
	sup, child *pa.PID
}

func newRestarter() (harness.Restarter, error) {
	ch := make(chan *pa.PID, 1)
	strategy := pa.NewOneForOneStrategy(1<<30, time.Second, func(any) pa.Directive { return pa.RestartDirective })
	sup := sys.Root.Spawn(pa.PropsFromProducer(func() pa.Actor { return &parent{childPID: ch} },
		pa.WithSupervisor(strategy)))
	return &restarter{sup: sup, child: <-ch}, nil
}
func (r *restarter) Current() (any, error) {
	v, err := sys.Root.RequestFuture(r.child, 1, timeout).Result()
	return v, err
}
func (r *restarter) Kill(any) error { sys.Root.Send(r.child, "crash"); return nil }
func (r *restarter) TryCall(old any) (any, bool) {
	v, err := sys.Root.RequestFuture(r.child, 1, timeout).Result()
	if err != nil || v == old {
		return nil, false
	}
	return v, true
}
func (r *restarter) Close() { _ = sys.Root.StopFuture(r.sup).Wait() }

// Remote.

func startRemote(port int) *remote.Remote {
	r := remote.NewRemote(sys, remote.Configure("127.0.0.1", port))
	r.Start()
	return r
}

func peer(self, _ int) error {
	startRemote(self)
	if _, err := sys.Root.SpawnNamed(pa.PropsFromFunc(func(c pa.Context) {
		if m, ok := c.Message().(*wrapperspb.Int64Value); ok {
			c.Respond(m)
		}
	}), "echo"); err != nil {
		return err
	}
	var count int64
	if _, err := sys.Root.SpawnNamed(pa.PropsFromFunc(func(c pa.Context) {
		switch c.Message().(type) {
		case *wrapperspb.Int64Value:
			count++
		case *wrapperspb.StringValue:
			c.Respond(wrapperspb.Int64(count))
		}
	}), "sink"); err != nil {
		return err
	}
	select {}
}

type client struct {
	r          *remote.Remote
	echo, sink *pa.PID
	msg        *wrapperspb.Int64Value
}

func remote_(self, other int) (harness.RemoteClient, error) {
	c := &client{r: startRemote(self), msg: wrapperspb.Int64(7)}
	addr := "127.0.0.1:" + strconv.Itoa(other)
	c.echo, c.sink = pa.NewPID(addr, "echo"), pa.NewPID(addr, "sink")
	err := harness.Until(20*time.Second, "peer up", func() bool {
		_, err := sys.Root.RequestFuture(c.echo, wrapperspb.Int64(1), 200*time.Millisecond).Result()
		return err == nil
	})
	return c, err
}
func (c *client) Call(i int) error {
	v, err := sys.Root.RequestFuture(c.echo, wrapperspb.Int64(int64(i)), timeout).Result()
	if err != nil {
		return err
	}
	if x, ok := v.(*wrapperspb.Int64Value); !ok || x.Value != int64(i) {
		return fmt.Errorf("reply %v", v)
	}
	return nil
}
func (c *client) Send(int) error { sys.Root.Send(c.sink, c.msg); return nil }
func (c *client) WaitReceived(n int) error {
	return harness.Until(time.Minute, "sends received", func() bool {
		v, err := sys.Root.RequestFuture(c.sink, wrapperspb.String("count"), timeout).Result()
		x, ok := v.(*wrapperspb.Int64Value)
		return err == nil && ok && x.Value >= int64(n)
	})
}
func (c *client) Close() { c.r.Shutdown(false) }

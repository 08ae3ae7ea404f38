// Command goakt runs the workloads on github.com/tochemey/goakt/v4.
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/arbor-otp/arbor/bench/internal/harness"
	"github.com/tochemey/goakt/v4/actor"
	"github.com/tochemey/goakt/v4/remote"
	"github.com/tochemey/goakt/v4/supervisor"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const timeout = 5 * time.Second

var (
	bg  = context.Background()
	sys actor.ActorSystem
)

func system(opts ...actor.Option) actor.ActorSystem {
	s, err := actor.NewActorSystem("bench", append([]actor.Option{actor.WithLoggingDisabled()}, opts...)...)
	if err != nil {
		panic(err)
	}
	if err := s.Start(bg); err != nil {
		panic(err)
	}
	return s
}

func local() actor.ActorSystem {
	if sys == nil {
		sys = system()
	}
	return sys
}

func main() {
	harness.Main(harness.System{
		Name:    "goakt",
		Modules: []string{"github.com/tochemey/goakt/v4"},
		Setting: []string{
			"WithLoggingDisabled(); default mailbox and dispatcher; GOMAXPROCS default",
			"call: actor.Ask(ctx, pid, msg, 5s); cast: actor.Tell",
			"spawn: ActorSystem.Spawn (PreStart runs before it returns; every actor needs a unique name); stop: PID.Shutdown",
			"restart: goakt restarts a failed actor in place (same PID) under a supervisor.NewSupervisor(OneForOneStrategy, WithAnyErrorDirective(RestartDirective), WithRetry(1<<30, 1s)); kill = the actor's handler fails with ctx.Err",
			"remote: goakt remoting (WithRemote, TCP) on 127.0.0.1, PID found with RemoteLookup, messages wrapperspb.Int64Value",
		},
		NA: map[string]string{
			"names":  "goakt names an actor only when spawning it (ActorOf looks it up); no register/unregister of a running actor",
			"groups": "goakt has no process groups; its topic pub/sub (WithPubSub) lists no members and was not benchmarked",
		},
		Call:    newCall,
		Cast:    newCast,
		Spawn:   newSpawner,
		Restart: newRestarter,
		Peer:    peer,
		Remote:  remote_,
		Cleanup: func() {
			if sys != nil {
				_ = sys.Stop(bg)
			}
		},
	})
}

type fn func(ctx *actor.ReceiveContext)

type funcActor struct {
	recv fn
	pre  func()
}

func (a *funcActor) PreStart(*actor.Context) error {
	if a.pre != nil {
		a.pre()
	}
	return nil
}
func (a *funcActor) Receive(ctx *actor.ReceiveContext) { a.recv(ctx) }
func (a *funcActor) PostStop(*actor.Context) error     { return nil }

var names atomic.Int64

func uniq(p string) string { return p + strconv.FormatInt(names.Add(1), 10) }

type callSrv struct{ pid *actor.PID }

func newCall() (harness.CallServer, error) {
	pid, err := local().Spawn(bg, uniq("echo"), &funcActor{recv: func(c *actor.ReceiveContext) {
		if m, ok := c.Message().(int); ok {
			c.Response(m)
		}
	}})
	return &callSrv{pid}, err
}
func (s *callSrv) Call(i int) error {
	v, err := actor.Ask(bg, s.pid, i, timeout)
	if err == nil && v != i {
		err = fmt.Errorf("wrong reply %v", v)
	}
	return err
}
func (s *callSrv) Close() { _ = s.pid.Shutdown(bg) }

type castSrv struct {
	pid  *actor.PID
	done chan struct{}
}

func newCast(total int) (harness.CastServer, error) {
	s := &castSrv{done: make(chan struct{})}
	n := 0
	var err error
	s.pid, err = local().Spawn(bg, uniq("counter"), &funcActor{recv: func(c *actor.ReceiveContext) {
		if _, ok := c.Message().(int); ok {
			n++
			if n == total {
				close(s.done)
			}
		}
	}})
	return s, err
}
func (s *castSrv) Send(_, i int) error { return actor.Tell(bg, s.pid, i) }
func (s *castSrv) Wait() error {
	select {
	case <-s.done:
		return nil
	case <-time.After(time.Minute):
		return errors.New("timeout")
	}
}
func (s *castSrv) Close() { _ = s.pid.Shutdown(bg) }

type idle struct{ state int }

func (a *idle) PreStart(*actor.Context) error     { a.state = 1; return nil }
func (a *idle) Receive(ctx *actor.ReceiveContext) {}
func (a *idle) PostStop(*actor.Context) error     { return nil }

type spawner struct{}

func newSpawner() (harness.Spawner, error) { local(); return spawner{}, nil }
func (spawner) SpawnIdle() (any, error)    { return sys.Spawn(bg, uniq("idle"), &idle{}) }
func (spawner) WaitInitialised(int) error  { return nil }
func (spawner) Stop(h any) error           { return h.(*actor.PID).Shutdown(bg) }
func (spawner) WaitStopped(int) error      { return nil }
func (spawner) Close()                     {}

var incarnations atomic.Int64

type child struct{ inc int64 }

func (a *child) PreStart(*actor.Context) error { a.inc = incarnations.Add(1); return nil }
func (a *child) Receive(c *actor.ReceiveContext) {
	switch c.Message().(type) {
	case string:
		c.Err(errors.New("crash"))
	case int:
		c.Response(a.inc)
	}
}
func (a *child) PostStop(*actor.Context) error { return nil }

type restarter struct{ pid *actor.PID }

func newRestarter() (harness.Restarter, error) {
	sup := supervisor.NewSupervisor(
		supervisor.WithStrategy(supervisor.OneForOneStrategy),
		supervisor.WithAnyErrorDirective(supervisor.RestartDirective),
		supervisor.WithRetry(1<<30, time.Second))
	pid, err := local().Spawn(bg, uniq("child"), &child{}, actor.WithSupervisor(sup))
	return &restarter{pid}, err
}
func (r *restarter) Current() (any, error) { return actor.Ask(bg, r.pid, 1, timeout) }
func (r *restarter) Kill(any) error        { return actor.Tell(bg, r.pid, "crash") }
func (r *restarter) TryCall(old any) (any, bool) {
	v, err := actor.Ask(bg, r.pid, 1, timeout)
	if err != nil || v == old {
		return nil, false
	}
	return v, true
}
func (r *restarter) Close() { _ = r.pid.Shutdown(bg) }

func peer(self, _ int) error {
	s := system(actor.WithRemote(remote.NewConfig("127.0.0.1", self)))
	if _, err := s.Spawn(bg, "echo", &funcActor{recv: func(c *actor.ReceiveContext) {
		if m, ok := c.Message().(*wrapperspb.Int64Value); ok {
			c.Response(m)
		}
	}}); err != nil {
		return err
	}
	var count int64
	if _, err := s.Spawn(bg, "sink", &funcActor{recv: func(c *actor.ReceiveContext) {
		switch c.Message().(type) {
		case *wrapperspb.Int64Value:
			count++
		case *wrapperspb.StringValue:
			c.Response(wrapperspb.Int64(count))
		}
	}}); err != nil {
		return err
	}
	select {}
}

type client struct {
	s          actor.ActorSystem
	echo, sink *actor.PID
	msg        *wrapperspb.Int64Value
}

func remote_(self, other int) (harness.RemoteClient, error) {
	s := system(actor.WithRemote(remote.NewConfig("127.0.0.1", self)))
	c := &client{s: s, msg: wrapperspb.Int64(7)}
	me, err := s.Spawn(bg, "client", &funcActor{recv: func(*actor.ReceiveContext) {}})
	if err != nil {
		return nil, err
	}
	err = harness.Until(20*time.Second, "peer up", func() bool {
		var e1, e2 error
		c.echo, e1 = me.RemoteLookup(bg, "127.0.0.1", other, "echo")
		c.sink, e2 = me.RemoteLookup(bg, "127.0.0.1", other, "sink")
		return e1 == nil && e2 == nil && c.echo != nil && c.sink != nil
	})
	return c, err
}
func (c *client) Call(i int) error {
	v, err := actor.Ask(bg, c.echo, wrapperspb.Int64(int64(i)), timeout)
	if err != nil {
		return err
	}
	if x, ok := v.(*wrapperspb.Int64Value); !ok || x.Value != int64(i) {
		return fmt.Errorf("reply %T %v", v, v)
	}
	return nil
}
func (c *client) Send(int) error { return actor.Tell(bg, c.sink, c.msg) }
func (c *client) WaitReceived(n int) error {
	return harness.Until(time.Minute, "sends received", func() bool {
		v, err := actor.Ask(bg, c.sink, wrapperspb.String("count"), timeout)
		x, ok := v.(*wrapperspb.Int64Value)
		return err == nil && ok && x.Value >= int64(n)
	})
}
func (c *client) Close() { _ = c.s.Stop(bg) }

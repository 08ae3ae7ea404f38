// Command hollywood runs the workloads on github.com/anthdm/hollywood.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"github.com/arbor-otp/arbor/bench/internal/harness"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const timeout = 5 * time.Second

var engine *actor.Engine

func newEngine(r actor.Remoter) *actor.Engine {
	cfg := actor.NewEngineConfig()
	if r != nil {
		cfg = cfg.WithRemote(r)
	}
	e, err := actor.NewEngine(cfg)
	if err != nil {
		panic(err)
	}
	return e
}

func main() {
	slog.SetDefault(slog.New(slog.DiscardHandler)) // hollywood logs through the default slog logger
	harness.Main(harness.System{
		Name:    "hollywood",
		Modules: []string{"github.com/anthdm/hollywood"},
		Setting: []string{
			"slog default logger set to slog.DiscardHandler (hollywood logs through slog's default)",
			"call: Engine.Request(pid, msg, 5s).Result(); cast: Engine.Send; default inbox (1024-slot ring buffer, grows)",
			"spawn: Engine.Spawn (runs Initialized and Started before returning); stop: <-Engine.Poison(pid).Done()",
			"restart: hollywood has no supervisor processes; an actor that panics restarts itself in place (same PID). WithMaxRestarts(1<<30), WithRestartDelay(0) (default 3 restarts, 500 ms delay); kill = make it panic",
			"remote: hollywood remote (DRPC over TCP) on 127.0.0.1, messages wrapperspb.Int64Value",
		},
		NA: map[string]string{
			"names":  "hollywood names a process (kind/id) only when spawning it; no register/unregister of a running process",
			"groups": "hollywood has no process groups (only an engine-wide event stream)",
		},
		Call:    newCall,
		Cast:    newCast,
		Spawn:   newSpawner,
		Restart: newRestarter,
		Peer:    peer,
		Remote:  remote_,
	})
}

func local() *actor.Engine {
	if engine == nil {
		engine = newEngine(nil)
	}
	return engine
}

type callSrv struct{ pid *actor.PID }

func newCall() (harness.CallServer, error) {
	pid := local().SpawnFunc(func(c *actor.Context) {
		if m, ok := c.Message().(int); ok {
			c.Respond(m)
		}
	}, "echo")
	return &callSrv{pid}, nil
}
func (s *callSrv) Call(i int) error {
	v, err := engine.Request(s.pid, i, timeout).Result()
	if err == nil && v != i {
		err = errors.New("wrong reply")
	}
	return err
}
func (s *callSrv) Close() { <-engine.Poison(s.pid).Done() }

type castSrv struct {
	pid  *actor.PID
	done chan struct{}
}

func newCast(total int) (harness.CastServer, error) {
	s := &castSrv{done: make(chan struct{})}
	n := 0
	s.pid = local().SpawnFunc(func(c *actor.Context) {
		if _, ok := c.Message().(int); ok {
			n++
			if n == total {
				close(s.done)
			}
		}
	}, "counter")
	return s, nil
}
func (s *castSrv) Send(_, i int) error { engine.Send(s.pid, i); return nil }
func (s *castSrv) Wait() error {
	select {
	case <-s.done:
		return nil
	case <-time.After(time.Minute):
		return errors.New("timeout")
	}
}
func (s *castSrv) Close() { <-engine.Poison(s.pid).Done() }

type idle struct{ state int }

func (a *idle) Receive(c *actor.Context) {
	if _, ok := c.Message().(actor.Started); ok {
		a.state = 1
	}
}

type spawner struct{ n int }

func newSpawner() (harness.Spawner, error) { local(); return &spawner{}, nil }
func (sp *spawner) SpawnIdle() (any, error) {
	sp.n++
	return engine.Spawn(func() actor.Receiver { return &idle{} }, "idle", actor.WithID(strconv.Itoa(sp.n))), nil
}
func (sp *spawner) WaitInitialised(int) error { return nil }
func (sp *spawner) Stop(h any) error          { <-engine.Poison(h.(*actor.PID)).Done(); return nil }
func (sp *spawner) WaitStopped(int) error     { return nil }
func (sp *spawner) Close()                    {}

var incarnations atomic.Int64

type child struct{ inc int64 }

func (a *child) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Started:
		a.inc = incarnations.Add(1)
	case string:
		panic("crash")
	case int:
		c.Respond(a.inc)
	}
}

type restarter struct{ pid *actor.PID }

func newRestarter() (harness.Restarter, error) {
	pid := local().Spawn(func() actor.Receiver { return &child{} }, "child",
		actor.WithMaxRestarts(1<<30), actor.WithRestartDelay(0))
	return &restarter{pid}, nil
}
func (r *restarter) Current() (any, error) { return engine.Request(r.pid, 1, timeout).Result() }
func (r *restarter) Kill(any) error        { engine.Send(r.pid, "crash"); return nil }
func (r *restarter) TryCall(old any) (any, bool) {
	v, err := engine.Request(r.pid, 1, timeout).Result()
	if err != nil || v == old {
		return nil, false
	}
	return v, true
}
func (r *restarter) Close() { <-engine.Poison(r.pid).Done() }

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func peer(self, _ int) error {
	r := remote.New(addr(self), remote.NewConfig())
	e := newEngine(r)
	e.SpawnFunc(func(c *actor.Context) {
		if m, ok := c.Message().(*wrapperspb.Int64Value); ok {
			c.Respond(m)
		}
	}, "echo", actor.WithID("1"))
	var count int64
	e.SpawnFunc(func(c *actor.Context) {
		switch c.Message().(type) {
		case *wrapperspb.Int64Value:
			count++
		case *wrapperspb.StringValue:
			c.Respond(wrapperspb.Int64(count))
		}
	}, "sink", actor.WithID("1"))
	select {}
}

type client struct {
	e          *actor.Engine
	r          *remote.Remote
	echo, sink *actor.PID
	msg        *wrapperspb.Int64Value
}

func remote_(self, other int) (harness.RemoteClient, error) {
	r := remote.New(addr(self), remote.NewConfig())
	c := &client{e: newEngine(r), r: r, msg: wrapperspb.Int64(7)}
	c.echo, c.sink = actor.NewPID(addr(other), "echo/1"), actor.NewPID(addr(other), "sink/1")
	err := harness.Until(20*time.Second, "peer up", func() bool {
		_, err := c.e.Request(c.echo, wrapperspb.Int64(1), 200*time.Millisecond).Result()
		return err == nil
	})
	return c, err
}
func (c *client) Call(i int) error {
	v, err := c.e.Request(c.echo, wrapperspb.Int64(int64(i)), timeout).Result()
	if err != nil {
		return err
	}
	if x, ok := v.(*wrapperspb.Int64Value); !ok || x.Value != int64(i) {
		return fmt.Errorf("reply %v", v)
	}
	return nil
}
func (c *client) Send(int) error { c.e.Send(c.sink, c.msg); return nil }
func (c *client) WaitReceived(n int) error {
	return harness.Until(time.Minute, "sends received", func() bool {
		v, err := c.e.Request(c.sink, wrapperspb.String("count"), timeout).Result()
		x, ok := v.(*wrapperspb.Int64Value)
		return err == nil && ok && x.Value >= int64(n)
	})
}
func (c *client) Close() { c.r.Stop().Wait() }

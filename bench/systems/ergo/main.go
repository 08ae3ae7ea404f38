// Command ergo runs the workloads on Ergo Framework 3.1
// (ergo.services/ergo, fetched as github.com/ergo-services/ergo v1.999.310).
package main

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"ergo.services/ergo"
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/arbor-otp/arbor/bench/internal/harness"
)

var (
	node   gen.Node
	runner *runnerActor // the process the harness's loops run in (Exec)
)

func startNode(name string, network gen.NetworkOptions) gen.Node {
	n, err := ergo.StartNode(gen.Atom(name), gen.NodeOptions{
		Log:     gen.LogOptions{Level: gen.LogLevelDisabled},
		Network: network,
	})
	if err != nil {
		panic(err)
	}
	return n
}

func main() {
	harness.Main(harness.System{
		Name:    "ergo",
		Modules: []string{"ergo.services/ergo"},
		Setting: []string{
			"node log level gen.LogLevelDisabled; one node, networked (embedded registrar, default acceptor), used for every workload",
			"Ergo's Call can only be made from inside a process: every workload group runs inside one runner actor's HandleMessage (Exec), so calls are Process.Call from a real process, as in OTP",
			"cast: Node.Send to a counting act.Actor",
			"spawn: Node.Spawn (ProcessInit runs before it returns); stop: Node.SendExit(pid, TerminateReasonShutdown), counted until Terminate ran",
			"restart: act.Supervisor, SupervisorTypeOneForOne, SupervisorStrategyPermanent, Intensity 65535 (the uint16 maximum) per 1 s; child registered under its spec name and publishing its PID from Init (Ergo has no name lookup, and calling the name of a restarting child panics inside Ergo 3.1); kill = Node.Kill",
			"names: Node.RegisterName / Node.UnregisterName",
			"remote: Ergo network (its own protocol over TCP, embedded registrar) on localhost, int64 messages",
		},
		NA: map[string]string{
			"groups": "Ergo 3 has no process groups (it has events: RegisterEvent/LinkEvent/MonitorEvent)",
		},
		Exec:    exec,
		Call:    newCall,
		Cast:    newCast,
		Spawn:   newSpawner,
		Restart: newRestarter,
		Names:   newNames,
		Peer:    peer,
		Remote:  remote,
		Cleanup: func() {
			if node != nil {
				node.Stop()
			}
		},
	})
}

type job struct {
	f    func()
	done chan struct{}
}

type runnerActor struct{ act.Actor }

func (a *runnerActor) Init(...any) error { runner = a; return nil }
func (a *runnerActor) HandleMessage(_ gen.PID, msg any) error {
	if j, ok := msg.(job); ok {
		j.f()
		close(j.done)
	}
	return nil
}

var runnerPID gen.PID

func exec(f func()) error {
	if node == nil {
		node = startNode("benchmain@localhost", network(0))
		var err error
		if runnerPID, err = node.Spawn(func() gen.ProcessBehavior { return &runnerActor{} }, gen.ProcessOptions{}); err != nil {
			return err
		}
	}
	j := job{f, make(chan struct{})}
	if err := node.Send(runnerPID, j); err != nil {
		return err
	}
	<-j.done
	return nil
}

type echo struct{ act.Actor }

func (a *echo) HandleCall(_ gen.PID, _ gen.Ref, req any) (any, error) {
	if req == "pid" {
		return a.PID(), nil
	}
	return req, nil
}

type callSrv struct{ pid gen.PID }

func newCall() (harness.CallServer, error) {
	pid, err := node.Spawn(func() gen.ProcessBehavior { return &echo{} }, gen.ProcessOptions{})
	return &callSrv{pid}, err
}
func (s *callSrv) Call(i int) error {
	v, err := runner.Call(s.pid, i)
	if err == nil && v != i {
		err = fmt.Errorf("wrong reply %v", v)
	}
	return err
}
func (s *callSrv) Close() { _ = node.Kill(s.pid) }

type counter struct {
	act.Actor
	n, total int
	done     chan struct{}
}

func (a *counter) HandleMessage(_ gen.PID, _ any) error {
	a.n++
	if a.n == a.total {
		close(a.done)
	}
	return nil
}

type castSrv struct {
	pid  gen.PID
	done chan struct{}
}

func newCast(total int) (harness.CastServer, error) {
	done := make(chan struct{})
	pid, err := node.Spawn(func() gen.ProcessBehavior { return &counter{total: total, done: done} }, gen.ProcessOptions{})
	return &castSrv{pid, done}, err
}
func (s *castSrv) Send(_, i int) error { return node.Send(s.pid, i) }
func (s *castSrv) Wait() error {
	select {
	case <-s.done:
		return nil
	case <-time.After(time.Minute):
		return errors.New("timeout")
	}
}
func (s *castSrv) Close() { _ = node.Kill(s.pid) }

type idle struct {
	act.Actor
	sp    *spawner
	state int
}

func (a *idle) Init(...any) error                { a.state = 1; return nil }
func (a *idle) Terminate(error)                  { a.sp.stopped.Add(1) }
func (a *idle) HandleMessage(gen.PID, any) error { return nil }

type spawner struct{ stopped atomic.Int64 }

func newSpawner() (harness.Spawner, error) { return &spawner{}, nil }
func (sp *spawner) SpawnIdle() (any, error) {
	return node.Spawn(func() gen.ProcessBehavior { return &idle{sp: sp} }, gen.ProcessOptions{})
}
func (sp *spawner) WaitInitialised(int) error { return nil }
func (sp *spawner) Stop(h any) error          { return node.SendExit(h.(gen.PID), gen.TerminateReasonShutdown) }
func (sp *spawner) WaitStopped(n int) error {
	return harness.Until(time.Minute, "stopped", func() bool { return sp.stopped.Load() >= int64(n) })
}
func (sp *spawner) Close() {}

var current atomic.Pointer[gen.PID]

type supChild struct{ echo }

func (a *supChild) Init(...any) error {
	pid := a.PID()
	current.Store(&pid)
	return nil
}

type sup struct{ act.Supervisor }

func (s *sup) Init(...any) (act.SupervisorSpec, error) {
	return act.SupervisorSpec{
		Type: act.SupervisorTypeOneForOne,
		Children: []act.SupervisorChildSpec{{
			Name:    "w",
			Factory: func() gen.ProcessBehavior { return &supChild{} },
		}},
		Restart: act.SupervisorRestart{Strategy: act.SupervisorStrategyPermanent, Intensity: 65535, Period: 1},
	}, nil
}

type restarter struct{ sup gen.PID }

func newRestarter() (harness.Restarter, error) {
	pid, err := node.Spawn(func() gen.ProcessBehavior { return &sup{} }, gen.ProcessOptions{})
	return &restarter{pid}, err
}

// Ergo has no name-to-PID lookup, and a Call to the name of a child being
// restarted hits a nil dereference inside Ergo; so the child publishes its
// PID when its Init runs, and the replacement is called by PID.
func (r *restarter) Current() (any, error) {
	if p := current.Load(); p != nil {
		return *p, nil
	}
	return nil, errors.New("no child")
}
func (r *restarter) Kill(h any) error { return node.Kill(h.(gen.PID)) }
func (r *restarter) TryCall(old any) (any, bool) {
	p := current.Load()
	if p == nil || *p == old.(gen.PID) {
		return nil, false
	}
	v, err := runner.Call(*p, "pid")
	if err != nil || v != *p {
		return nil, false
	}
	return *p, true
}
func (r *restarter) Close() { _ = node.SendExit(r.sup, gen.TerminateReasonShutdown) }

type names struct {
	pids []gen.PID
	keys []gen.Atom
}

func newNames(n int) (harness.Names, error) {
	s := &names{pids: make([]gen.PID, n), keys: make([]gen.Atom, n)}
	for i := range s.pids {
		var err error
		if s.pids[i], err = node.Spawn(func() gen.ProcessBehavior { return &echo{} }, gen.ProcessOptions{}); err != nil {
			return nil, err
		}
		s.keys[i] = gen.Atom("n" + strconv.Itoa(i))
	}
	return s, nil
}
func (s *names) Register(i int) error { return node.RegisterName(s.keys[i], s.pids[i]) }
func (s *names) Lookup(int) error {
	return fmt.Errorf("%w: Ergo has no name-to-PID lookup (names resolve only inside Send/Call)", harness.ErrUnsupported)
}
func (s *names) Unregister(i int) error {
	pid, err := node.UnregisterName(s.keys[i])
	if err == nil && pid != s.pids[i] {
		err = errors.New("wrong process")
	}
	return err
}
func (s *names) Close() {
	for _, p := range s.pids {
		_ = node.Kill(p)
	}
}

// Remote.

type sink struct {
	act.Actor
	n int64
}

func (a *sink) HandleMessage(gen.PID, any) error              { a.n++; return nil }
func (a *sink) HandleCall(gen.PID, gen.Ref, any) (any, error) { return a.n, nil }

type pecho struct{ act.Actor }

func (a *pecho) HandleCall(_ gen.PID, _ gen.Ref, req any) (any, error) { return req, nil }

// network enables Ergo's network; port 0 keeps Ergo's default acceptor.
func network(port int) gen.NetworkOptions {
	o := gen.NetworkOptions{Mode: gen.NetworkModeEnabled, Cookie: "arbor-bench"}
	if port != 0 {
		o.Acceptors = []gen.AcceptorOptions{{Host: "localhost", Port: uint16(port)}}
	}
	return o
}

func peer(self, _ int) error {
	n := startNode("benchpeer@localhost", network(self))
	if _, err := n.SpawnRegister("echo", func() gen.ProcessBehavior { return &pecho{} }, gen.ProcessOptions{}); err != nil {
		return err
	}
	if _, err := n.SpawnRegister("sink", func() gen.ProcessBehavior { return &sink{} }, gen.ProcessOptions{}); err != nil {
		return err
	}
	select {}
}

type client struct {
	rn         gen.Node
	echo, sink gen.ProcessID
}

func remote(_, _ int) (harness.RemoteClient, error) {
	// Runs inside the runner process (Exec), on the networked node.
	c := &client{
		echo: gen.ProcessID{Name: "echo", Node: "benchpeer@localhost"},
		sink: gen.ProcessID{Name: "sink", Node: "benchpeer@localhost"},
	}
	err := harness.Until(20*time.Second, "peer up", func() bool {
		_, e := runner.CallWithTimeout(c.echo, int64(1), 1)
		return e == nil
	})
	return c, err
}
func (c *client) Call(i int) error {
	var err error
	v, err := runner.Call(c.echo, int64(i))
	if err == nil && v != int64(i) {
		err = fmt.Errorf("reply %v", v)
	}
	return err
}
func (c *client) Send(int) error { return runner.Send(c.sink, int64(7)) }
func (c *client) WaitReceived(n int) error {
	return harness.Until(time.Minute, "sends received", func() bool {
		v, err := runner.Call(c.sink, "count")
		x, ok := v.(int64)
		return err == nil && ok && x >= int64(n)
	})
}
func (c *client) Close() {}

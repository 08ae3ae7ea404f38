package actor

import (
	"errors"
	"runtime/debug"
	"time"
)

// SpawnOption configures a process at spawn.
type SpawnOption func(*spawnConfig)

type spawnConfig struct {
	name     string
	named    bool // WithName was given, even with the empty name
	trapExit bool
	setup    func(*Context) error
}

// WithSetup runs fn as the new process after its WithName registration and
// before its Init; an error fails the spawn like an Init error. Libraries use
// it to attach a process to something (a registry name) before user code
// runs.
func WithSetup(fn func(*Context) error) SpawnOption {
	return func(c *spawnConfig) {
		if prev := c.setup; prev != nil {
			c.setup = func(ctx *Context) error {
				if err := prev(ctx); err != nil {
					return err
				}
				return fn(ctx)
			}
			return
		}
		c.setup = fn
	}
}

// WithName registers the process under name before its Init runs; Spawn
// fails with ErrNameTaken if the name is held and ErrBadName for the empty
// name, as Register.
func WithName(name string) SpawnOption {
	return func(c *spawnConfig) { c.name, c.named = name, true }
}

// WithTrapExit starts the process trapping exits.
func WithTrapExit() SpawnOption { return func(c *spawnConfig) { c.trapExit = true } }

// Spawner is implemented by *Node and *Context: the two places a process
// can be started from.
type Spawner interface {
	Spawn(r Receiver, opts ...SpawnOption) (PID, error)
	Node() *Node
	Self() PID
}

var (
	_ Spawner = (*Node)(nil)
	_ Spawner = (*Context)(nil)
)

// Spawn starts a process running r. If r is an Initializer, its Init runs
// before Spawn returns and its error is Spawn's error. It returns
// ErrNodeStopped on a stopping node, ErrNameTaken for a taken WithName and
// ErrNilReceiver for a nil r, ErrNilNode on a nil *Node.
func (n *Node) Spawn(r Receiver, opts ...SpawnOption) (PID, error) {
	pid, _, err := n.spawn(nil, r, false, false, opts)
	return pid, err
}

// Spawn starts a process, as Node.Spawn, from inside this process.
func (c *Context) Spawn(r Receiver, opts ...SpawnOption) (PID, error) {
	pid, _, err := c.node.spawn(&c.own, r, false, false, opts)
	return pid, err
}

// SpawnLink starts a process linked to this one. The link exists before the
// new process's Init runs; if Init fails, the link is dropped silently and
// the error is returned. The new process's Parent is this process.
func (c *Context) SpawnLink(r Receiver, opts ...SpawnOption) (PID, error) {
	pid, _, err := c.node.spawn(&c.own, r, true, false, opts)
	return pid, err
}

// SpawnMonitor starts a process and monitors it atomically: its Down carries
// its real exit reason even if it exits at once.
func (c *Context) SpawnMonitor(r Receiver, opts ...SpawnOption) (PID, Ref, error) {
	return c.node.spawn(&c.own, r, false, true, opts)
}

func (n *Node) spawn(parent *Context, r Receiver, link, monitor bool, opts []SpawnOption) (PID, Ref, error) {
	if n == nil {
		return PID{}, Ref{}, ErrNilNode
	}
	cfg := spawnConfigOf(opts)
	if r == nil {
		return PID{}, Ref{}, ErrNilReceiver
	}
	if cfg.named && cfg.name == "" {
		return PID{}, Ref{}, ErrBadName
	}
	if n.stopping.Load() {
		return PID{}, Ref{}, ErrNodeStopped
	}
	p := &process{node: n, recv: r, state: stStarting, trapExit: cfg.trapExit, started: time.Now().UnixNano()}
	p.own.process = p
	c := &p.own
	c.casts, _ = r.(CastReceiver)
	c.self.node = n.ident
	n.procs.Add(1)
	n.table.insert(c)
	if link {
		c.parent = parent.self
		c.addLink(parent.self)
		parent.addLink(c.self)
	}
	unlinkParent := func() {
		if link {
			delete(parent.links, c.self)
			delete(c.links, parent.self)
		}
	}
	if cfg.name != "" {
		if err := n.register(cfg.name, c); err != nil {
			unlinkParent()
			c.terminate(Normal, batch{})
			return PID{}, Ref{}, err
		}
	}
	in, _ := r.(Initializer)
	if cfg.setup != nil {
		in = setupThenInit{cfg.setup, in}
	}
	if in != nil {
		if err := runInit(in, c); err != nil {
			unlinkParent()
			reason := err
			if errors.Is(err, Ignore) {
				reason = Normal
			}
			c.terminate(reason, batch{})
			return PID{}, Ref{}, err
		}
	}
	var ref Ref
	if monitor {
		ref = n.newRef()
		parent.monitors.add(ref.id, c.self)
		c.watchers.add(ref, parent.self)
	}
	c.release()
	return c.self, ref, nil
}

// spawnConfigOf applies opts. The options get a config of their own: the
// address of one in spawn's frame, given to functions the compiler cannot
// see, would move it to the heap, one allocation for every spawn, options
// or none.
func spawnConfigOf(opts []SpawnOption) spawnConfig {
	if len(opts) == 0 {
		return spawnConfig{}
	}
	cfg := new(spawnConfig)
	for _, o := range opts {
		if o != nil {
			o(cfg)
		}
	}
	return *cfg
}

// setupThenInit runs a WithSetup function, then the Receiver's Init.
type setupThenInit struct {
	setup func(*Context) error
	init  Initializer
}

func (s setupThenInit) Init(c *Context) error {
	if err := s.setup(c); err != nil {
		return err
	}
	if s.init != nil {
		return s.init.Init(c)
	}
	return nil
}

func runInit(in Initializer, c *Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return in.Init(c)
}

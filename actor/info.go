package actor

import (
	"context"

	"github.com/arbor-otp/arbor/internal/seam"
)

// Status is what a process is doing.
type Status uint8

// Process statuses, as in Erlang's process_info(Pid, status).
const (
	StatusExited  Status = iota // not alive
	StatusWaiting               // idle, waiting for a message
	StatusRunning               // handling messages, or scheduled to
)

// String returns the status name.
func (s Status) String() string {
	switch s {
	case StatusWaiting:
		return "waiting"
	case StatusRunning:
		return "running"
	default:
		return "exited"
	}
}

// Info describes a process, as Erlang's process_info.
type Info struct {
	PID             PID
	Alive           bool
	Status          Status
	MessageQueueLen int
	Links           []PID
	Monitors        []PID // processes this one monitors
	MonitoredBy     []PID // processes monitoring this one
	TrapExit        bool
	RegisteredName  string
	Parent          PID
}

// ProcessInfo returns information about a local process. The process answers
// between two messages, so a process busy in a long handler answers late;
// ctx bounds the wait. A process that is not alive gives Info{Alive: false}
// and NoProc.
func (n *Node) ProcessInfo(ctx context.Context, pid PID) (Info, error) {
	c := n.lookup(pid)
	if c == nil {
		return Info{PID: pid}, NoProc
	}
	qlen, state := c.queueLen()
	reply := make(chan Info, 1)
	if !c.signal(signal{kind: seam.SignalInfo, reply: reply}) {
		return Info{PID: pid}, NoProc
	}
	select {
	case info := <-reply:
		if !info.Alive {
			return info, NoProc
		}
		info.MessageQueueLen += qlen
		if state == stIdle || state == stSuspended {
			info.Status = StatusWaiting
		} else {
			info.Status = StatusRunning
		}
		return info, nil
	case <-ctx.Done():
		return Info{PID: pid}, ctx.Err()
	}
}

// info is called on the process goroutine.
func (c *Context) info() Info {
	in := Info{PID: c.self, Alive: true, TrapExit: c.trapExit, Parent: c.parent}
	if c.sysx != nil {
		in.MessageQueueLen = len(c.sysx.held) // held by a suspension (sys.go)
	}
	for p := range c.links {
		in.Links = append(in.Links, p)
	}
	c.monitors.each(func(_ uint64, p PID) { in.Monitors = append(in.Monitors, p) })
	c.mu.Lock()
	c.watchers.each(func(_ Ref, p PID) { in.MonitoredBy = append(in.MonitoredBy, p) })
	c.mu.Unlock()
	c.node.namesMu.RLock()
	in.RegisteredName = c.name
	c.node.namesMu.RUnlock()
	return in
}

// Exits returns how many processes of n have exited so far. An exit is
// counted after IsAlive turns false for the process and before anything
// can learn of it (WatchExit, monitors, links, replies failed with its
// reason). So a reader that reads Exits, then finds every process of a
// set alive, may trust that set while Exits still returns what it read:
// a cache of liveness checks (the registry's group lists) costs one load.
func (n *Node) Exits() uint64 { return n.exits.Load() }

// IsAlive reports whether pid is a live local process.
func (n *Node) IsAlive(pid PID) bool {
	c := n.lookup(pid)
	return c != nil && !c.dead.Load()
}

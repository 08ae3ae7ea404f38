package sys

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/arbor-otp/arbor/actor"
)

// ProcessInfo is one process of a node as Processes lists it.
type ProcessInfo struct {
	PID         actor.PID
	Name        string // registered name, or empty
	Behaviour   string // as Status.Behaviour
	Mode        Mode
	QueueLen    int
	Links       []actor.PID
	Monitors    []actor.PID
	MonitoredBy []actor.PID
	Memory      int // estimate in bytes, as Status.Memory
	// Answered is false for a process that was busy in a handler until
	// ctx ended: then only PID, Name, Behaviour and QueueLen are set, read
	// from outside the process (actor.Node.Peek).
	Answered bool
}

// Processes lists every process of node n (erlang:processes with
// process_info, or observer's process tab), in PID order. Each process
// answers between two messages, all of them at once, so the listing takes
// as long as the busiest handler; when ctx ends (DefaultTimeout without a
// deadline), processes that have not answered are listed with Answered
// false (with what can be read from outside: name, behaviour, queue
// length). Processes that exit meanwhile are left out.
func Processes(ctx context.Context, n *actor.Node) []ProcessInfo {
	if n == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var (
		mu  sync.Mutex
		out []ProcessInfo
	)
	missed := n.SystemEach(ctx, func(p *actor.SysProcess) {
		in := p.Info()
		pi := ProcessInfo{
			PID:         in.PID,
			Name:        in.RegisteredName,
			Behaviour:   behaviourOf(p.Receiver()),
			QueueLen:    in.MessageQueueLen,
			Links:       in.Links,
			Monitors:    in.Monitors,
			MonitoredBy: in.MonitoredBy,
			Memory:      p.Memory(),
			Answered:    true,
		}
		if p.Suspended() {
			pi.Mode = Suspended
		}
		mu.Lock()
		out = append(out, pi)
		mu.Unlock()
	})
	for _, pid := range missed {
		if p, ok := n.Peek(pid); ok {
			out = append(out, ProcessInfo{PID: pid, Name: p.Name, Behaviour: p.Behaviour, QueueLen: p.QueueLen})
		}
	}
	slices.SortFunc(out, func(a, b ProcessInfo) int { return comparePIDs(a.PID, b.PID) })
	return out
}

// comparePIDs orders PIDs by their printed form's numbers.
func comparePIDs(a, b actor.PID) int {
	ai, as := a.ID()
	bi, bs := b.ID()
	if ai != bi {
		return cmp.Compare(ai, bi)
	}
	return cmp.Compare(as, bs)
}

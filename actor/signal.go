package actor

import (
	"errors"

	"github.com/arbor-otp/arbor/internal/seam"
)

// deliverSignal hands a signal to a process, local or remote. It returns
// false if the process is known to be gone.
func (n *Node) deliverSignal(to PID, s signal) bool {
	if to.node == n.ident {
		if c := n.table.get(to.index, to.serial); c != nil {
			return c.signal(s)
		}
		return false
	}
	if to.node == nil {
		return false
	}
	if t := n.remote.Load(); t != nil && s.kind.Remote() {
		return (*t).Signal(to, seam.Signal[PID, Ref]{Kind: s.kind, From: s.from, Ref: s.ref, Reason: s.reason}) == nil
	}
	return false
}

// deliverDown posts a Down message to a watcher.
func (n *Node) deliverDown(to PID, d Down) {
	if to.node == n.ident {
		if c := n.table.get(to.index, to.serial); c != nil {
			c.post(d)
		}
		return
	}
	if t := n.remote.Load(); t != nil {
		_ = (*t).Signal(to, seam.Signal[PID, Ref]{Kind: seam.SignalDown, From: d.PID, Ref: d.Ref, Reason: d.Reason})
	}
}

// deliverRemoteSignal hands a signal that arrived from another node (or
// that the transport makes up for a lost one) to a local process. Kinds
// that do not cross nodes are ignored.
func (n *Node) deliverRemoteSignal(to PID, s seam.Signal[PID, Ref]) {
	switch {
	case s.Kind == seam.SignalDown:
		n.deliverDown(to, Down{Ref: s.Ref, PID: s.From, Reason: s.Reason})
		return
	case !s.Kind.Remote():
		return
	}
	sig := signal{kind: s.Kind, from: s.From, ref: s.Ref, reason: s.Reason}
	if !n.deliverSignal(to, sig) {
		// The target is gone: answer as a dead local process would.
		n.refuseDead(to, &sig, NoProc)
	}
}

// handleSignal applies one signal on the process goroutine. A non-nil result
// ends the process with that reason.
func (c *Context) handleSignal(s *signal) error {
	switch s.kind {
	case seam.SignalExit:
		if s.reason == Kill {
			return Killed
		}
		if c.trapExit {
			c.enqueue(Exit{From: s.from, Reason: s.reason})
			return nil
		}
		if errors.Is(s.reason, Normal) {
			if s.from == c.self {
				return Normal
			}
			return nil
		}
		return s.reason
	case seam.SignalLinkExit:
		if _, ok := c.links[s.from]; !ok {
			return nil // unlinked meanwhile
		}
		delete(c.links, s.from)
		if c.trapExit {
			c.enqueue(Exit{From: s.from, Reason: s.reason})
			return nil
		}
		if s.reason == Normal {
			return nil
		}
		return s.reason
	case seam.SignalLink:
		if c.links == nil {
			c.links = make(map[PID]struct{})
		}
		c.links[s.from] = struct{}{}
	case seam.SignalUnlink:
		delete(c.links, s.from)
	case seam.SignalInfo:
		s.reply <- c.info()
	case seam.SignalWatch:
		c.waiters = append(c.waiters, s.watch)
	case seam.SignalSys:
		s.sys.run(c)
	}
	return nil
}

// refuseSignal answers a signal that reached the process as it exits.
func (c *Context) refuseSignal(s *signal, reason error) {
	c.node.refuseDead(c.self, s, reason)
}

// refuseDead answers a signal addressed to a process that is gone: a link
// request gets an exit signal back, a monitor gets Down, an info or watch
// request gets its answer.
func (n *Node) refuseDead(dead PID, s *signal, reason error) {
	switch s.kind {
	case seam.SignalLink:
		n.deliverSignal(s.from, signal{kind: seam.SignalLinkExit, from: dead, reason: reason})
	case seam.SignalMonitor:
		n.deliverDown(s.from, Down{Ref: s.ref, PID: dead, Reason: reason})
	case seam.SignalInfo:
		s.reply <- Info{PID: dead}
	case seam.SignalWatch:
		s.watch <- reason
	case seam.SignalSys:
		s.sys.refuse(NoProc)
	}
}

// enqueue appends a message to the process's own mailbox tail, from its own
// goroutine.
func (c *Context) enqueue(msg any) {
	c.mu.Lock()
	c.inbox.push(envelope{msg: msg})
	c.mu.Unlock()
}

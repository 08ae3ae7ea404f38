package actor

import "errors"

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
	if t := n.remote.Load(); t != nil {
		rs := RemoteSignal{From: s.from, Ref: s.ref, Reason: s.reason}
		switch s.kind {
		case sigExit:
			rs.Kind = SignalExit
		case sigLinkExit:
			rs.Kind = SignalLinkExit
		case sigLink:
			rs.Kind = SignalLink
		case sigUnlink:
			rs.Kind = SignalUnlink
		case sigMonitor:
			rs.Kind = SignalMonitor
		case sigDemonitor:
			rs.Kind = SignalDemonitor
		default:
			return false
		}
		return (*t).Signal(to, rs) == nil
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
		_ = (*t).Signal(to, RemoteSignal{Kind: SignalDown, From: d.PID, Ref: d.Ref, Reason: d.Reason})
	}
}

// DeliverRemoteSignal hands a signal that arrived from another node to a
// local process. The cluster package calls it.
func (n *Node) DeliverRemoteSignal(to PID, s RemoteSignal) {
	switch s.Kind {
	case SignalDown:
		n.deliverDown(to, Down{Ref: s.Ref, PID: s.From, Reason: s.Reason})
		return
	}
	var kind signalKind
	switch s.Kind {
	case SignalExit:
		kind = sigExit
	case SignalLinkExit:
		kind = sigLinkExit
	case SignalLink:
		kind = sigLink
	case SignalUnlink:
		kind = sigUnlink
	case SignalMonitor:
		kind = sigMonitor
	case SignalDemonitor:
		kind = sigDemonitor
	default:
		return
	}
	sig := signal{kind: kind, from: s.From, ref: s.Ref, reason: s.Reason}
	if !n.deliverSignal(to, sig) {
		// The target is gone: answer as a dead local process would.
		n.refuseDead(to, &sig, NoProc)
	}
}

// handleSignal applies one signal on the process goroutine. A non-nil result
// ends the process with that reason.
func (c *Context) handleSignal(s *signal) error {
	switch s.kind {
	case sigExit:
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
	case sigLinkExit:
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
	case sigLink:
		if c.links == nil {
			c.links = make(map[PID]struct{})
		}
		c.links[s.from] = struct{}{}
	case sigUnlink:
		delete(c.links, s.from)
	case sigInfo:
		s.reply <- c.info()
	case sigWatch:
		c.waiters = append(c.waiters, s.watch)
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
	case sigLink:
		n.deliverSignal(s.from, signal{kind: sigLinkExit, from: dead, reason: reason})
	case sigMonitor:
		n.deliverDown(s.from, Down{Ref: s.ref, PID: dead, Reason: reason})
	case sigInfo:
		s.reply <- Info{PID: dead}
	case sigWatch:
		s.watch <- reason
	}
}

// enqueue appends a message to the process's own mailbox tail, from its own
// goroutine.
func (c *Context) enqueue(msg any) {
	c.mu.Lock()
	c.inbox.push(envelope{msg: msg})
	c.mu.Unlock()
}

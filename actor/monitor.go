package actor

import "github.com/arbor-otp/arbor/internal/seam"

// Monitor starts watching pid and returns the monitor's reference. When pid
// exits, the process receives Down{Ref, PID, Reason}; if pid is not alive,
// Down with reason NoProc arrives at once. Monitors stack: each call creates
// a new one.
func (c *Context) Monitor(pid PID) Ref {
	ref := c.node.newRef()
	c.monitors.add(ref.id, pid)
	if !c.node.deliverSignal(pid, signal{kind: seam.SignalMonitor, from: c.self, ref: ref}) {
		reason := NoProc
		if !c.node.IsLocal(pid) {
			reason = NoConnection
		}
		c.enqueue(Down{Ref: ref, PID: pid, Reason: reason})
	}
	return ref
}

// Demonitor stops the monitor ref. A Down for it that is already in the
// mailbox is discarded, so after Demonitor no Down for ref is received
// (Erlang's demonitor with the flush option). It reports whether the monitor
// was active.
func (c *Context) Demonitor(ref Ref) bool {
	if ref.node != c.node.ident {
		return false
	}
	if ib, ok := c.recv.(*inboxReceiver); ok {
		(*Inbox)(ib).flushDown(ref)
	}
	pid, ok := c.monitors.remove(ref.id)
	if !ok {
		return false
	}
	c.node.deliverSignal(pid, signal{kind: seam.SignalDemonitor, from: c.self, ref: ref})
	return true
}

// watchExit returns a channel that receives pid's exit reason once. It is
// the goroutine-side monitor used by Stop-style helpers; it receives NoProc
// at once if pid is not alive.
func (n *Node) watchExit(pid PID) <-chan error {
	ch := make(chan error, 1)
	if !n.deliverSignal(pid, signal{kind: seam.SignalWatch, watch: ch}) {
		ch <- NoProc
	}
	return ch
}

// WatchExit returns a channel that receives pid's exit reason when it exits
// (NoProc at once if it is not alive). It lets code outside any process wait
// for a process to end.
func (n *Node) WatchExit(pid PID) <-chan error { return n.watchExit(pid) }

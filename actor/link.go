package actor

import "github.com/arbor-otp/arbor/internal/seam"

// Link links the process with pid, both ways: when either exits with a
// reason other than Normal, the other dies with the same reason, or, if it
// traps exits, receives an Exit message. Linking to a process that is not
// alive delivers an exit signal with reason NoProc to the caller, as in
// Erlang. Linking twice is the same as linking once; linking to self does
// nothing.
func (c *Context) Link(pid PID) {
	if pid == c.self || pid.IsZero() {
		return
	}
	if _, ok := c.links[pid]; ok {
		return
	}
	c.addLink(pid)
	if !c.node.deliverSignal(pid, signal{kind: seam.SignalLink, from: c.self}) {
		reason := NoProc
		if !c.node.IsLocal(pid) {
			reason = NoConnection
		}
		c.signal(signal{kind: seam.SignalLinkExit, from: pid, reason: reason})
	}
}

// Unlink removes the link with pid, if any. After Unlink returns, no exit
// signal from that link takes effect; an Exit message already queued (when
// trapping exits) stays in the mailbox.
func (c *Context) Unlink(pid PID) {
	if _, ok := c.links[pid]; !ok {
		return
	}
	delete(c.links, pid)
	c.node.deliverSignal(pid, signal{kind: seam.SignalUnlink, from: c.self})
}

func (c *Context) addLink(pid PID) {
	if c.links == nil {
		c.links = make(map[PID]struct{})
	}
	c.links[pid] = struct{}{}
}

// TrapExit sets whether exit signals become Exit messages instead of ending
// the process, and returns the previous setting. Kill is never trapped.
func (c *Context) TrapExit(on bool) bool {
	old := c.trapExit
	c.trapExit = on
	return old
}

// TrapsExit reports whether the process traps exits.
func (c *Context) TrapsExit() bool { return c.trapExit }

// Exit sends an exit signal with reason to pid, as Erlang's exit/2: Kill
// ends it with Killed whatever it does; a target that traps exits receives
// an Exit message; otherwise Normal is ignored and any other reason ends the
// target with that reason.
func (c *Context) Exit(pid PID, reason error) {
	c.node.deliverSignal(pid, signal{kind: seam.SignalExit, from: c.self, reason: reasonOrNormal(reason)})
}

// Exit sends an exit signal from outside any process (the From of a
// resulting Exit message is the zero PID). It returns NoProc if pid is not
// alive.
func (n *Node) Exit(pid PID, reason error) error {
	if !n.deliverSignal(pid, signal{kind: seam.SignalExit, reason: reasonOrNormal(reason)}) {
		return NoProc
	}
	return nil
}

// Kill ends pid with reason Killed; it cannot be trapped. It returns NoProc
// if pid is not alive.
func (n *Node) Kill(pid PID) error { return n.Exit(pid, Kill) }

package actor

// Send delivers msg to pid's mailbox. Messages from one sender to one
// process arrive in the order they were sent. It returns NoProc if pid is a
// local process that is not alive, and the transport's error for a remote
// one (ErrRemote without a cluster). A nil error means the message was queued;
// a process that exits before handling it drops it, as in Erlang.
func (n *Node) Send(pid PID, msg any) error { return n.send(PID{}, pid, msg) }

// Send delivers msg to pid from this process; see Node.Send.
func (c *Context) Send(pid PID, msg any) error { return c.node.send(c.self, pid, msg) }

func (n *Node) send(from, to PID, msg any) error {
	if to.node == n.ident {
		if c := n.table.get(to.index, to.serial); c != nil && c.post(msg) {
			return nil
		}
		return NoProc
	}
	if to.node == nil {
		return NoProc
	}
	if t := n.remote.Load(); t != nil {
		return (*t).Send(from, to, msg)
	}
	return ErrRemote
}

// DeliverLocal posts a message that arrived from another node to a local
// process. The cluster package calls it. It returns NoProc if the process is
// not alive.
func (n *Node) DeliverLocal(to PID, msg any) error {
	if c := n.lookup(to); c != nil && c.post(msg) {
		return nil
	}
	return NoProc
}

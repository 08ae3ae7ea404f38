package actor

import "context"

// Send delivers msg to pid's mailbox. Messages from one sender to one
// process arrive in the order they were sent. It returns NoProc if pid is a
// local process that is not alive, ErrZeroPID (which also matches NoProc)
// for the zero PID, and the transport's error for a remote one (ErrRemote
// without a cluster). A nil error means the message was queued;
// a process that exits before handling it drops it, as in Erlang.
func (n *Node) Send(pid PID, msg any) error { return n.send(PID{}, pid, msg) }

// Send delivers msg to pid from this process; see Node.Send.
func (c *Context) Send(pid PID, msg any) error {
	if t := c.node.tel; t != nil {
		return t.sendEnv(c, c.node, c.self, pid, envelope{msg: msg})
	}
	return c.node.send(c.self, pid, msg)
}

func (n *Node) send(from, to PID, msg any) error { return n.sendEnv(from, to, envelope{msg: msg}) }

func (n *Node) sendEnv(from, to PID, e envelope) error {
	if to.node == n.ident {
		if c := n.table.get(to.index, to.serial); c != nil && c.postEnv(e) {
			return nil
		}
		return NoProc
	}
	if to.node == nil {
		return ErrZeroPID
	}
	if t := n.remote.Load(); t != nil {
		if e.cast {
			return (*t).Cast(from, to, e.msg) // the cast flag crosses nodes
		}
		return (*t).Send(from, to, e.msg)
	}
	return ErrRemote
}

// Cast sends msg to pid as a cast: a Receiver that is a CastReceiver (a
// GenServer) gets it in ReceiveCast, any other in Receive, on this node or
// on another (the cast crosses nodes as a cast). The origin is resolved
// from ctx as for Send; the errors are Send's.
func Cast(ctx context.Context, pid PID, msg any) error {
	n, from := origin(ctx, pid)
	if n == nil {
		return remoteOrZero(pid)
	}
	if t := n.tel; t != nil {
		return t.sendEnv(ctx, n, from, pid, envelope{msg: msg, cast: true})
	}
	return n.sendEnv(from, pid, envelope{msg: msg, cast: true})
}

// deliverLocal posts a message that arrived from another node to a local
// process, as a cast if cast is set. It returns NoProc if the process is
// not alive.
func (n *Node) deliverLocal(to PID, msg any, cast bool) error {
	if c := n.lookup(to); c != nil && c.postEnv(envelope{msg: msg, cast: cast}) {
		return nil
	}
	return NoProc
}

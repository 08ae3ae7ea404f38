package actor

import "time"

// Timer is a pending SendAfter.
type Timer struct {
	t *time.Timer
}

// SendAfter sends msg to pid after d. The message is dropped if pid is not
// alive by then. Cancel the timer with CancelTimer.
func (n *Node) SendAfter(pid PID, msg any, d time.Duration) *Timer {
	return &Timer{t: time.AfterFunc(d, func() { _ = n.send(PID{}, pid, msg) })}
}

// SendAfter sends msg to pid after d, from this process.
func (c *Context) SendAfter(pid PID, msg any, d time.Duration) *Timer {
	n, self := c.node, c.self
	return &Timer{t: time.AfterFunc(d, func() { _ = n.send(self, pid, msg) })}
}

// CancelTimer stops t. It reports whether the timer was pending; a message
// already sent stays in the mailbox.
func (n *Node) CancelTimer(t *Timer) bool { return t.Cancel() }

// Cancel stops the timer; see Node.CancelTimer.
func (t *Timer) Cancel() bool {
	if t == nil || t.t == nil {
		return false
	}
	return t.t.Stop()
}

package actor

import (
	"context"
	"sync"
)

// Inbox is a process driven from ordinary Go code: it queues every message it
// receives for Receive, and can link, monitor and trap exits like any process.
// It is how a main function or a test talks to processes and waits for their
// Exit and Down messages.
type Inbox struct {
	node *Node
	pid  PID

	mu     sync.Mutex
	queue  []any
	notify chan struct{}
	exit   <-chan error // the inbox process's exit (WatchExit), read once
	exited bool         // exit was read: the queue takes nothing more
}

type inboxExec struct {
	fn   func(c *Context) error
	done chan struct{}
}

// NewInbox spawns an inbox process on n.
func (n *Node) NewInbox(opts ...SpawnOption) (*Inbox, error) {
	if n == nil {
		return nil, ErrNilNode
	}
	ib := &Inbox{node: n, notify: make(chan struct{}, 1)}
	pid, err := n.Spawn((*inboxReceiver)(ib), opts...)
	if err != nil {
		return nil, err
	}
	ib.pid = pid
	ib.exit = n.watchExit(pid)
	return ib, nil
}

// inboxReceiver is the inbox's Receiver. It is a type of its own so that
// Demonitor can find the inbox's queue: an inbox takes each message out of
// its mailbox as it arrives, so a Down for a monitor it then stops is in
// that queue, not in the mailbox.
type inboxReceiver Inbox

func (r *inboxReceiver) Receive(c *Context, msg any) error { return (*Inbox)(r).receive(c, msg) }

// flushDown drops every queued Down of ref, as Demonitor does in a mailbox.
func (ib *Inbox) flushDown(ref Ref) {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	kept := ib.queue[:0]
	for _, m := range ib.queue {
		if d, ok := m.(Down); ok && d.Ref == ref {
			continue
		}
		kept = append(kept, m)
	}
	clear(ib.queue[len(kept):])
	ib.queue = kept
}

func (ib *Inbox) receive(c *Context, msg any) error {
	if ex, ok := msg.(*inboxExec); ok {
		err := ex.fn(c)
		close(ex.done)
		return err
	}
	ib.mu.Lock()
	ib.queue = append(ib.queue, msg)
	ib.mu.Unlock()
	select {
	case ib.notify <- struct{}{}:
	default:
	}
	return nil
}

// PID returns the inbox's process.
func (ib *Inbox) PID() PID { return ib.pid }

// Receive returns the oldest queued message, waiting until one arrives or ctx
// ends. Once the inbox process has exited (Close, or an exit signal it did
// not trap) and every message it took is received, Receive returns NoProc
// at once, as it does on an Inbox not made by NewInbox.
func (ib *Inbox) Receive(ctx context.Context) (any, error) {
	if ib.exit == nil {
		return nil, NoProc
	}
	for {
		ib.mu.Lock()
		if len(ib.queue) > 0 {
			m := ib.queue[0]
			ib.queue[0] = nil
			ib.queue = ib.queue[1:]
			ib.mu.Unlock()
			return m, nil
		}
		exited := ib.exited
		ib.mu.Unlock()
		if exited {
			ib.wakeOne() // another Receive waiting sees it too
			return nil, NoProc
		}
		select {
		case <-ib.notify:
		case <-ib.exit:
			// Everything the process queued came before its exit: one
			// more look at the queue, then NoProc.
			ib.mu.Lock()
			ib.exited = true
			ib.mu.Unlock()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// wakeOne wakes a Receive waiting on notify, if there is one.
func (ib *Inbox) wakeOne() {
	select {
	case ib.notify <- struct{}{}:
	default:
	}
}

// Len returns the number of queued messages.
func (ib *Inbox) Len() int {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	return len(ib.queue)
}

// Do runs fn as the inbox process and waits for it; fn may Link, Monitor,
// TrapExit, Spawn... A non-nil error from fn ends the inbox with that reason.
// A Demonitor in fn also drops a Down of that monitor that waits for
// Receive, as it does in a process's mailbox.
// Do returns NoProc if the inbox is not alive.
func (ib *Inbox) Do(ctx context.Context, fn func(c *Context) error) error {
	ex := &inboxExec{fn: fn, done: make(chan struct{})}
	if err := ib.node.Send(ib.pid, ex); err != nil {
		return err
	}
	select {
	case <-ex.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Link links the inbox with pid.
func (ib *Inbox) Link(ctx context.Context, pid PID) error {
	return ib.Do(ctx, func(c *Context) error { c.Link(pid); return nil })
}

// Monitor monitors pid from the inbox.
func (ib *Inbox) Monitor(ctx context.Context, pid PID) (Ref, error) {
	var ref Ref
	err := ib.Do(ctx, func(c *Context) error { ref = c.Monitor(pid); return nil })
	return ref, err
}

// TrapExit sets the inbox's trap_exit flag.
func (ib *Inbox) TrapExit(ctx context.Context, on bool) error {
	return ib.Do(ctx, func(c *Context) error { c.TrapExit(on); return nil })
}

// Close ends the inbox process with reason Normal and waits for it to exit,
// as if the inbox returned from a handler: a linked process that does not
// trap exits lives on, one that traps them receives Exit{Reason: Normal},
// and monitors deliver Down with Normal. The inbox first takes every
// message queued before the close; later ones are dropped. Close on an inbox
// that already exited returns at once.
func (ib *Inbox) Close() {
	ch := ib.node.watchExit(ib.pid)
	// The inbox ends itself: an exit signal with reason Normal from another
	// process is ignored (or trapped), and Kill would end it with Killed.
	_ = ib.node.Send(ib.pid, &inboxExec{fn: closeInbox, done: make(chan struct{})})
	<-ch
}

func closeInbox(*Context) error { return Normal }

package actor

import (
	"context"
	"errors"

	pa "github.com/asynkron/protoactor-go/actor"
)

// What protoactor code sends to the ProtoPID of a process of another node
// crosses nodes on Arbor's transport, never on protoactor remote's
// endpoints (docs/adr/0005-protoactor-interop.md, "Across nodes"): a
// message is a Send, a request a Call, a Watch a monitor held by a small
// process of this node, a Stop or Poison the Shutdown exit signal. The
// receiving node decodes what arrives as it decodes any user message: one
// of a type it does not know, or that does not decode, is dropped, logged
// and counted, and the node goes on.

// sendRemote sends a protoactor message to the process pid of another
// node: a PoisonPill as the Shutdown exit signal, a message with a sender
// as a call whose answer is the sender's response, any other as a
// message. A message the transport refuses (not a proto.Message, too
// large, no cluster) goes to dead letters, logged; a refused request is
// answered with a *CallError.
func (b *protoBridge) sendRemote(to *pa.PID, pid PID, envelope, msg any, sender *pa.PID) {
	n := b.node
	if _, ok := msg.(*pa.PoisonPill); ok {
		if n.Exit(pid, Shutdown) != nil {
			n.system.DeadLetter.SendUserMessage(to, envelope)
		}
		return
	}
	if sender == nil {
		if err := n.Send(pid, msg); err != nil {
			n.log.Warn().Err(err).Str("to", pid.String()).Msgf("protoactor message %T to a remote process dropped", msg)
			n.system.DeadLetter.SendUserMessage(to, envelope)
		}
		return
	}
	b.goOwned(func() {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultCallTimeout)
		defer cancel()
		v, err := n.call(ctx, PID{}, pid, msg)
		if err != nil && !errors.Is(err, NoProc) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, NoConnection) {
			n.log.Warn().Err(err).Str("to", pid.String()).Msgf("protoactor request %T to a remote process failed", msg)
		}
		b.respond(sender, pid, v, err)
	})
}

// watchRemote makes watcher receive Terminated when the process target of
// another node exits, or when its node is lost (Why AddressTerminated).
// A process of this node monitors target for it.
func (b *protoBridge) watchRemote(target PID, self, watcher *pa.PID) {
	if watcher == nil {
		return
	}
	key := protoWatch{target: target, watcher: protoKey{watcher.Address, watcher.Id}}
	b.mu.Lock()
	if _, dup := b.remote[key]; dup {
		b.mu.Unlock()
		return
	}
	b.remote[key] = PID{} // reserved until the watch process runs
	b.mu.Unlock()
	w := &protoRemoteWatch{b: b, key: key, self: self, watcher: watcher}
	pid, err := b.node.Spawn(w)
	b.mu.Lock()
	if err != nil { // the node is stopping
		delete(b.remote, key)
		b.mu.Unlock()
		b.terminated(self, watcher, NoConnection)
		return
	}
	if cur, ok := b.remote[key]; ok && cur.IsZero() {
		b.remote[key] = pid
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	_ = b.node.Send(pid, protoUnwatch{}) // unwatched, or already told, meanwhile
}

func (b *protoBridge) unwatchRemote(target PID, watcher *pa.PID) {
	if watcher == nil {
		return
	}
	key := protoWatch{target: target, watcher: protoKey{watcher.Address, watcher.Id}}
	b.mu.Lock()
	pid, ok := b.remote[key]
	delete(b.remote, key)
	b.mu.Unlock()
	if ok && !pid.IsZero() {
		_ = b.node.Send(pid, protoUnwatch{})
	}
}

// protoRemoteWatch is the process that holds one protoactor Watch of a
// process of another node: it monitors the process and tells the watcher
// when it exits, then exits itself; protoUnwatch ends it silently.
type protoRemoteWatch struct {
	b             *protoBridge
	key           protoWatch
	self, watcher *pa.PID
}

type protoUnwatch struct{}

func (w *protoRemoteWatch) Init(c *Context) error {
	c.Monitor(w.key.target)
	return nil
}

func (w *protoRemoteWatch) Receive(c *Context, msg any) error {
	switch m := msg.(type) {
	case Down:
		w.b.mu.Lock()
		if cur, ok := w.b.remote[w.key]; ok && (cur == c.Self() || cur.IsZero()) {
			delete(w.b.remote, w.key)
		}
		w.b.mu.Unlock()
		w.b.terminated(w.self, w.watcher, m.Reason)
		return Normal
	case protoUnwatch:
		return Normal
	}
	return nil
}

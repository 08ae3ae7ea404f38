package actor

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	pa "github.com/asynkron/protoactor-go/actor"
)

// protoProxy is the Receiver of a process that stands for a protoactor
// actor: what the process receives goes to the actor (a *Request as a
// protoactor request whose response is the reply), and the process exits
// when the actor stops. It traps exits: an exit signal that would end it
// stops the actor first. An owning proxy spawned its actor and waits for
// it to stop before it exits.
type protoProxy struct {
	props  *pa.Props // the actor to spawn, for an owning proxy
	target atomic.Pointer[pa.PID]
	proc   atomic.Pointer[protoProcess] // set first in Init
	selfID string                       // Id of the process's ProtoPID
	key    protoKey                     // in the bridge's proxies, for a proxy that does not own

	panicked   atomic.Pointer[PanicError] // the owned actor's failure
	terminated atomic.Bool                // Terminated of the actor received
	started    chan error                 // the owned actor handled Started

	ending error // owning proxy: the reason it exits with once the actor stopped

	mu      sync.Mutex
	nextReq uint32
	pending map[uint32]*Request // calls forwarded to the actor, by RequestId
	sweepAt int
}

// SpawnProto spawns a protoactor actor from props on the node's
// ActorSystem, with a process that owns it, and returns that process's PID.
// See Context.SpawnProtoLink; SpawnProto is the same with no link.
func (n *Node) SpawnProto(props *pa.Props, opts ...SpawnOption) (PID, error) {
	if props == nil {
		return PID{}, ErrNilProps
	}
	return n.Spawn(&protoProxy{props: props}, append(opts, WithTrapExit())...)
}

// SpawnProtoLink spawns a protoactor actor from props on the node's
// ActorSystem, under a new process linked to this one (its Parent), and
// returns that process's PID. The process owns the actor:
//
//   - It is the actor's Arbor address: a message, cast or Call to it goes
//     to the actor (a Call as a protoactor request: the actor's
//     ctx.Respond is the reply). ProxyTarget gives the actor's own PID.
//   - The actor's failure is its exit: protoactor never restarts the actor
//     in place (its guardian strategy is Arbor's, overriding any guardian
//     strategy of props); a panic ends the process with a *PanicError, the
//     actor stopping itself (or being stopped by protoactor code) with
//     Normal. A supervisor restarting it spawns a new process and a new
//     actor; messages queued in the old actor are dropped with it.
//   - An exit signal that would end a process ends the actor: Shutdown
//     or a ShutdownError (or Normal from the parent) Poisons it (it
//     handles what is queued, then Stopping and Stopped), any other
//     reason Stops it (its queue is dropped); the process exits with that
//     reason once the actor has stopped. Normal from any other process is
//     ignored. Kill ends the process at once and Stops the actor: it takes
//     no further message and, like any Go code, finishes the handler it is
//     running first.
//
// opts are Spawn's: WithName registers the process, so the actor is
// reached by name; the process always traps exits. SpawnProtoLink returns
// once the actor has handled Started; a panic there is the error (a
// *PanicError), and nothing is left running. It returns ErrNilProps for
// nil props and Spawn's errors.
func (c *Context) SpawnProtoLink(props *pa.Props, opts ...SpawnOption) (PID, error) {
	if props == nil {
		return PID{}, ErrNilProps
	}
	return c.SpawnLink(&protoProxy{props: props}, append(opts, WithTrapExit())...)
}

// Proxy returns a process that stands for the protoactor actor target, so
// Arbor code can Send, Cast and Call it (a Call is a protoactor request:
// the actor's ctx.Respond is the reply), Monitor it and Link to it. The
// process exits when the actor stops: with Normal after a stop, NoProc if
// the actor did not exist, NoConnection if its address terminated. An exit
// signal that ends the process (a linked process's crash) Stops the actor;
// Kill ends the process only. Proxy returns the same live process for the
// same actor, and the process itself for the ProtoPID of an Arbor process
// (of any node). It returns ErrNilProtoPID for nil, ErrRemoteProtoPID for
// an actor of another node (package cluster's Proxy makes its proxy on
// that node), and Spawn's errors.
func (n *Node) Proxy(target *pa.PID) (PID, error) {
	if target == nil {
		return PID{}, ErrNilProtoPID
	}
	b := n.proto
	if pid, ok := b.arborPID(target); ok {
		return pid, nil
	}
	if !strings.HasPrefix(target.Address, protoAddrPrefix) && target.Address != "nonhost" && target.Address != n.system.Address() {
		return PID{}, fmt.Errorf("%w: %s/%s", ErrRemoteProtoPID, target.Address, target.Id)
	}
	key := protoKey{target.Address, target.Id}
	b.proxyMu.Lock()
	defer b.proxyMu.Unlock()
	if pid, ok := b.proxies[key]; ok && n.IsAlive(pid) {
		return pid, nil
	}
	px := &protoProxy{key: key}
	px.target.Store(&pa.PID{Address: target.Address, Id: target.Id})
	pid, err := n.Spawn(px, WithTrapExit())
	if err != nil {
		return PID{}, err
	}
	b.proxies[key] = pid
	return pid, nil
}

// ProxyTarget returns the protoactor actor that the process pid stands
// for (a process of SpawnProto, SpawnProtoLink, supervision.ProtoChild or
// Proxy), and false for any other PID.
func (n *Node) ProxyTarget(pid PID) (*pa.PID, bool) {
	c := n.lookup(pid)
	if c == nil {
		return nil, false
	}
	px, ok := c.recv.(*protoProxy)
	if !ok {
		return nil, false
	}
	t := px.target.Load()
	return t, t != nil
}

// Init spawns the owned actor, or watches the target.
func (px *protoProxy) Init(c *Context) error {
	b := c.node.proto
	px.proc.Store(&protoProcess{b: b, pid: c.self, px: px})
	self := b.protoPID(c.self)
	px.selfID = self.Id
	if px.props == nil {
		b.sendSystem(px.target.Load(), &pa.Watch{Watcher: self})
		return nil
	}
	sys := c.node.system
	id := sys.ProcessRegistry.NextId()
	px.started = make(chan error, 1)
	b.owned.Store(id, px)
	spawned := false
	defer func() {
		if !spawned { // an error, or a panic of the actor's producer
			b.owned.Delete(id)
		}
	}()
	target, err := sys.Root.SpawnNamed(b.derive(px.props, px), id)
	if err != nil {
		return fmt.Errorf("spawn protoactor actor: %w", err)
	}
	spawned = true
	px.target.Store(target)
	b.sendSystem(target, &pa.Watch{Watcher: self})
	// Whatever ends this process, Kill included, ends the actor.
	exited := c.node.watchExit(c.self)
	b.goOwned(func() {
		<-exited
		px.stopActor(false)
		b.owned.Delete(id)
	})
	return <-px.started
}

// derivedProps guards the copies of a user's Props: Configure appends to
// the copy's middleware slice, which may share its array with the
// original's and with other copies.
var derivedProps sync.Mutex

// derive returns a copy of props with Arbor's guardian strategy (no
// restart in place) and a middleware that records a panic with its stack
// and reports the end of Started.
func (b *protoBridge) derive(props *pa.Props, px *protoProxy) *pa.Props {
	derivedProps.Lock()
	defer derivedProps.Unlock()
	p := *props
	return p.Configure(pa.WithGuardian(b.strategy), pa.WithReceiverMiddleware(px.middleware))
}

func (px *protoProxy) middleware(next pa.ReceiverFunc) pa.ReceiverFunc {
	owner := px.proc.Load()
	return func(ctx pa.ReceiverContext, env *pa.MessageEnvelope) {
		if !owner.b.node.IsAlive(owner.pid) && !lifecycle(env.Message) {
			// The owner was killed: its actor takes no further message,
			// whether or not the owner's Stop has arrived yet.
			owner.b.node.system.Root.Stop(ctx.Self())
			return
		}
		_, starting := env.Message.(*pa.Started)
		defer func() {
			if r := recover(); r != nil {
				pe := &PanicError{Value: r, Stack: debug.Stack()}
				px.fail(pe)
				if starting {
					px.started <- pe
				}
				panic(r) // protoactor suspends the actor and asks protoStrategy
			}
		}()
		next(ctx, env)
		if starting {
			px.started <- nil
		}
	}
}

// lifecycle reports whether msg is one of protoactor's own messages
// (Started, Stopping, Stopped, Terminated, PoisonPill...), which an actor
// whose owner died still handles.
func lifecycle(msg any) bool {
	switch msg.(type) {
	case pa.SystemMessage, pa.AutoReceiveMessage:
		return true
	}
	return false
}

// fail records the owned actor's failure; the first one counts.
func (px *protoProxy) fail(pe *PanicError) { px.panicked.CompareAndSwap(nil, pe) }

// Receive forwards to the actor, and handles its Terminated and exit
// signals.
func (px *protoProxy) Receive(c *Context, msg any) error {
	target := px.target.Load()
	switch m := msg.(type) {
	case *pa.Terminated:
		if m.Who == nil || m.Who.Address != target.Address || m.Who.Id != target.Id {
			return nil
		}
		px.terminated.Store(true)
		if px.props == nil {
			c.node.proto.forget(px.key, c.self)
		}
		return px.reason(m.Why)
	case Exit:
		return px.exit(c, m)
	case *Request:
		px.request(c, target, m)
		return nil
	}
	c.node.system.Root.Send(target, msg)
	return nil
}

// reason is the process's exit reason once its actor stopped.
func (px *protoProxy) reason(why pa.TerminatedReason) error {
	if pe := px.panicked.Load(); pe != nil {
		return pe
	}
	if px.ending != nil {
		return px.ending
	}
	switch why {
	case pa.TerminatedReason_NotFound:
		return NoProc
	case pa.TerminatedReason_AddressTerminated:
		return NoConnection
	}
	return Normal
}

// exit handles an exit signal: Normal from anyone but the parent is
// ignored, as by a process that does not trap exits; any other ends the
// actor and then the process.
func (px *protoProxy) exit(c *Context, m Exit) error {
	fromParent := !m.From.IsZero() && m.From == c.Parent()
	if !fromParent && errors.Is(m.Reason, Normal) {
		return nil
	}
	if px.props == nil {
		px.stopActor(false)
		return m.Reason
	}
	if px.ending == nil {
		px.ending = m.Reason
		px.stopActor(IsNormalExit(m.Reason))
	}
	return nil // exit on the actor's Terminated
}

// stopActor Poisons (gracefully) or Stops the actor, unless it already
// stopped.
func (px *protoProxy) stopActor(poison bool) {
	target := px.target.Load()
	if target == nil || px.terminated.Load() {
		return
	}
	sys := px.proc.Load().b.node.system
	proc, ok := sys.ProcessRegistry.Get(target)
	if !ok {
		return
	}
	if poison {
		proc.SendUserMessage(target, &pa.PoisonPill{})
		return
	}
	proc.Stop(target)
}

// request forwards a call to the actor with a sender of this process whose
// RequestId identifies the call, so the actor's Respond replies to it.
func (px *protoProxy) request(c *Context, target *pa.PID, r *Request) {
	px.mu.Lock()
	px.nextReq++
	if px.nextReq == 0 {
		px.nextReq = 1
	}
	id := px.nextReq
	if px.pending == nil {
		px.pending = make(map[uint32]*Request)
		px.sweepAt = 64
	}
	if len(px.pending) >= px.sweepAt {
		// Callers that gave up leave their request here until the actor
		// answers; drop the ones nobody waits for.
		for k, p := range px.pending {
			if p.Done() {
				delete(px.pending, k)
			}
		}
		px.sweepAt = max(64, 2*len(px.pending))
	}
	px.pending[id] = r
	px.mu.Unlock()
	sender := &pa.PID{Address: c.node.proto.addr, Id: px.selfID, RequestId: id}
	c.node.system.Root.RequestWithCustomSender(target, r.Message(), sender)
}

// reply answers the forwarded call id with the actor's response, or fails
// it with NoProc for protoactor's DeadLetterResponse.
func (px *protoProxy) reply(id uint32, v any) {
	px.mu.Lock()
	r := px.pending[id]
	delete(px.pending, id)
	px.mu.Unlock()
	if r == nil {
		return
	}
	if _, dead := v.(*pa.DeadLetterResponse); dead {
		r.fail(NoProc) // the actor was gone: protoactor's dead letters answered
		return
	}
	r.Reply(v)
}

// forget drops the proxy pid of the actor key.
func (b *protoBridge) forget(key protoKey, pid PID) {
	b.proxyMu.Lock()
	if b.proxies[key] == pid {
		delete(b.proxies, key)
	}
	b.proxyMu.Unlock()
}

// sendSystem sends a protoactor system message to pid.
func (b *protoBridge) sendSystem(pid *pa.PID, msg any) {
	proc, _ := b.node.system.ProcessRegistry.Get(pid)
	proc.SendSystemMessage(pid, msg)
}

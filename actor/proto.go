package actor

import (
	"errors"
	"strconv"
	"strings"
	"sync"

	pa "github.com/asynkron/protoactor-go/actor"
)

// protoBridge connects a node's processes with the protoactor actors of its
// ActorSystem, both ways (docs/adr/0005-protoactor-interop.md):
//
//   - An Arbor process has a protoactor address, ProtoPID: Address "arbor:"
//     plus the node name, Id "index.serial". No registry entry stands
//     behind it; an address resolver registered on the ActorSystem when the
//     node starts (before package cluster starts protoactor remote, whose
//     resolver takes every address) maps it back to the process, so
//     protoactor code Sends, Requests, Watches and Stops an Arbor process
//     as it would an actor.
//   - A protoactor actor has an Arbor address, a proxy: a process that
//     forwards what it receives to the actor and exits when the actor
//     stops (proto_proxy.go). A proxy that spawned its actor (SpawnProto,
//     supervision.ProtoChild) owns it.
type protoBridge struct {
	node     *Node
	addr     string // protoactor Address of this node's processes
	strategy *protoStrategy

	mu      sync.Mutex
	stopped bool
	watches map[protoWatch]chan struct{} // protoactor watchers of processes
	remote  map[protoWatch]PID           // watch processes of remote processes (proto_remote.go)
	wg      sync.WaitGroup               // watch and owner goroutines

	proxyMu sync.Mutex
	proxies map[protoKey]PID // live (or stale) proxy of each actor

	owned sync.Map // protoactor Id of an owned actor → *protoProxy
}

// protoKey identifies a protoactor PID as a map key.
type protoKey struct{ address, id string }

// protoWatch is one protoactor Watch of a process.
type protoWatch struct {
	target  PID
	watcher protoKey
}

func newProtoBridge(n *Node) *protoBridge {
	b := &protoBridge{
		node:    n,
		addr:    "arbor:" + n.ident.name,
		watches: make(map[protoWatch]chan struct{}),
		remote:  make(map[protoWatch]PID),
		proxies: make(map[protoKey]PID),
	}
	b.strategy = &protoStrategy{b: b}
	n.system.ProcessRegistry.RegisterAddressResolver(b.resolve)
	return b
}

// ProtoPID returns the protoactor address of the process pid, for
// protoactor code: Send and Request to it reach the process (a request
// arrives as a *Request, so a GenServer answers RequestFuture in
// HandleCall), Watch gives *pa.Terminated when it exits (Why NotFound if it
// was not alive, AddressTerminated if its node was lost), Stop and Poison
// send it the Shutdown exit signal. pid may be a process of another node
// of the cluster: what protoactor code sends to it then crosses nodes on
// Arbor's transport, so a message must be a proto.Message (one that is not
// goes to dead letters, and a request gets a *CallError wrapping the
// transport's error). It returns nil for the zero PID.
func (n *Node) ProtoPID(pid PID) *pa.PID {
	if pid.node == nil {
		return nil
	}
	return n.proto.protoPID(pid)
}

// protoAddrPrefix starts the protoactor Address of every Arbor process.
const protoAddrPrefix = "arbor:"

func (b *protoBridge) protoPID(pid PID) *pa.PID {
	addr := b.addr
	if pid.node != b.node.ident {
		addr = protoAddrPrefix + pid.node.name
	}
	id := make([]byte, 0, 32)
	id = strconv.AppendUint(id, uint64(pid.index), 10)
	id = append(id, '.')
	id = strconv.AppendUint(id, uint64(pid.serial), 10)
	id = append(id, '.')
	id = strconv.AppendUint(id, uint64(pid.node.creation), 10)
	return &pa.PID{Address: addr, Id: string(id)}
}

// arborPID maps the protoactor address of a process of any node back to
// its PID; it reports false for another address or a malformed Id.
func (b *protoBridge) arborPID(p *pa.PID) (PID, bool) {
	if p == nil {
		return PID{}, false
	}
	name, ok := strings.CutPrefix(p.Address, protoAddrPrefix)
	if !ok || name == "" {
		return PID{}, false
	}
	return parseProtoID(name, p.Id)
}

// parseProtoID parses the Id "index.serial.creation" of a ProtoPID of the
// node name.
func parseProtoID(name, id string) (PID, bool) {
	is, rest, ok := strings.Cut(id, ".")
	if !ok {
		return PID{}, false
	}
	ss, cs, ok := strings.Cut(rest, ".")
	if !ok {
		return PID{}, false
	}
	index, err1 := strconv.ParseUint(is, 10, 32)
	serial, err2 := strconv.ParseUint(ss, 10, 32)
	creation, err3 := strconv.ParseUint(cs, 10, 32)
	if err1 != nil || err2 != nil || err3 != nil || creation == 0 {
		return PID{}, false
	}
	return newRemotePID(name, uint32(creation), uint32(index), uint32(serial)), true
}

// resolve is the ActorSystem's address resolver for ProtoPIDs. It claims
// every PID with an Arbor address, so none reaches another resolver
// (protoactor remote's in particular): one of this node's processes
// resolves to the process, one of another node to a process that sends
// on Arbor's transport (proto_remote.go). A process that is not alive, a
// PID of an earlier boot of this node, or a malformed Id resolves to the
// dead-letter process, which answers a request with DeadLetterResponse
// and a Watch with Terminated (Why NotFound), as for a stopped actor.
func (b *protoBridge) resolve(p *pa.PID) (pa.Process, bool) {
	if !strings.HasPrefix(p.Address, protoAddrPrefix) {
		return nil, false
	}
	pid, ok := b.arborPID(p)
	if !ok {
		return b.node.system.DeadLetter, true
	}
	if pid.node != b.node.ident {
		if p.Address == b.addr { // an earlier boot of this node
			return b.node.system.DeadLetter, true
		}
		return &protoProcess{b: b, pid: pid}, true
	}
	c := b.node.lookup(pid)
	if c == nil {
		return b.node.system.DeadLetter, true
	}
	if px, ok := c.recv.(*protoProxy); ok {
		if p := px.proc.Load(); p != nil {
			return p, true
		}
	}
	return &protoProcess{b: b, pid: pid}, true
}

// protoProcess is a process as protoactor sees it. protoactor caches it in
// the *pa.PID it resolved, so it outlives the process: once the process is
// gone, what it receives goes to dead letters.
type protoProcess struct {
	b   *protoBridge
	pid PID
	px  *protoProxy // set for a proxy, which takes the replies to its requests
}

var _ pa.Process = (*protoProcess)(nil)

// SendUserMessage delivers a protoactor message: one with a sender (Request,
// RequestFuture) as a *Request whose Reply goes back to the sender; a
// PoisonPill as the Shutdown exit signal; any other as a message.
func (p *protoProcess) SendUserMessage(to *pa.PID, message any) {
	_, msg, sender := pa.UnwrapEnvelope(message)
	if p.px != nil && to.RequestId != 0 {
		p.px.reply(to.RequestId, msg)
		return
	}
	n := p.b.node
	if p.pid.node != n.ident {
		p.b.sendRemote(to, p.pid, message, msg, sender)
		return
	}
	switch msg.(type) {
	case *pa.PoisonPill:
		if n.Exit(p.pid, Shutdown) != nil {
			n.system.DeadLetter.SendUserMessage(to, message)
		}
		return
	}
	if sender == nil {
		if n.deliverLocal(p.pid, msg, false) != nil {
			n.system.DeadLetter.SendUserMessage(to, message)
		}
		return
	}
	target := p.pid
	req := newRequest(PID{}, msg, func(v any, err error) { p.b.respond(sender, target, v, err) })
	if n.post(p.pid, req) != nil {
		n.system.DeadLetter.SendUserMessage(to, message)
	}
}

// respond sends the answer of a request that came from protoactor to its
// sender: the reply, DeadLetterResponse if the process was gone, or a
// *CallError with the exit reason of a process that exited before
// replying.
func (b *protoBridge) respond(sender *pa.PID, target PID, v any, err error) {
	if err != nil {
		var ce *CallError
		if errors.As(err, &ce) {
			err = ce.Reason // a remote call's error names the process already
		}
		if errors.Is(err, NoProc) {
			v = &pa.DeadLetterResponse{Target: b.protoPID(target)}
		} else {
			v = &CallError{PID: target, Reason: err}
		}
	}
	proc, _ := b.node.system.ProcessRegistry.Get(sender)
	proc.SendUserMessage(sender, v)
}

// SendSystemMessage handles protoactor's system messages: Watch and
// Unwatch, Stop, and the Terminated of an actor a proxy watches.
func (p *protoProcess) SendSystemMessage(to *pa.PID, message any) {
	switch m := message.(type) {
	case *pa.Watch:
		if p.pid.node != p.b.node.ident {
			p.b.watchRemote(p.pid, to, m.Watcher)
			return
		}
		p.b.watch(p.pid, to, m.Watcher)
	case *pa.Unwatch:
		if p.pid.node != p.b.node.ident {
			p.b.unwatchRemote(p.pid, m.Watcher)
			return
		}
		p.b.unwatch(p.pid, m.Watcher)
	case *pa.Stop:
		p.Stop(to)
	case *pa.Terminated:
		_ = p.b.node.deliverLocal(p.pid, m, false)
	}
}

// Stop sends the process the Shutdown exit signal (protoactor's Stop and
// Poison alike: an Arbor process cannot be told to drop its queue).
func (p *protoProcess) Stop(*pa.PID) { _ = p.b.node.Exit(p.pid, Shutdown) }

// watch makes watcher receive Terminated when target exits.
func (b *protoBridge) watch(target PID, self, watcher *pa.PID) {
	if watcher == nil {
		return
	}
	key := protoWatch{target: target, watcher: protoKey{watcher.Address, watcher.Id}}
	exited := b.node.watchExit(target)
	b.mu.Lock()
	if _, dup := b.watches[key]; dup {
		b.mu.Unlock()
		return
	}
	if b.stopped {
		b.mu.Unlock()
		b.terminated(self, watcher, <-exited)
		return
	}
	cancel := make(chan struct{})
	b.watches[key] = cancel
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		select {
		case reason := <-exited:
			b.mu.Lock()
			if b.watches[key] != cancel {
				b.mu.Unlock()
				return // unwatched meanwhile
			}
			delete(b.watches, key)
			b.mu.Unlock()
			b.terminated(self, watcher, reason)
		case <-cancel:
		}
	}()
}

func (b *protoBridge) unwatch(target PID, watcher *pa.PID) {
	if watcher == nil {
		return
	}
	key := protoWatch{target: target, watcher: protoKey{watcher.Address, watcher.Id}}
	b.mu.Lock()
	if cancel, ok := b.watches[key]; ok {
		delete(b.watches, key)
		close(cancel)
	}
	b.mu.Unlock()
}

// terminated tells a protoactor watcher that the process who exited.
func (b *protoBridge) terminated(who, watcher *pa.PID, reason error) {
	why := pa.TerminatedReason_Stopped
	switch {
	case errors.Is(reason, NoProc):
		why = pa.TerminatedReason_NotFound
	case errors.Is(reason, NoConnection):
		why = pa.TerminatedReason_AddressTerminated
	}
	proc, _ := b.node.system.ProcessRegistry.Get(watcher)
	proc.SendSystemMessage(watcher, &pa.Terminated{Who: who, Why: why})
}

// goOwned runs fn on a goroutine the bridge waits for when the node
// stops, or at once if the node has stopped.
func (b *protoBridge) goOwned(fn func()) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		fn()
		return
	}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		fn()
	}()
}

// stop waits for the bridge's goroutines. The node calls it once every
// process has exited, so each of them has its answer.
func (b *protoBridge) stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.wg.Wait()
}

// protoStrategy is the supervisor strategy of every actor a proxy owns:
// it never restarts in place. It records the failure as the actor's exit
// reason and stops the actor; its proxy then exits with that reason and
// the Arbor supervisor above decides.
type protoStrategy struct{ b *protoBridge }

var _ pa.SupervisorStrategy = (*protoStrategy)(nil)

// HandleFailure stops the failed child.
func (s *protoStrategy) HandleFailure(_ *pa.ActorSystem, sup pa.Supervisor, child *pa.PID, _ *pa.RestartStatistics, reason any, _ any) {
	if v, ok := s.b.owned.Load(child.Id); ok {
		px := v.(*protoProxy)
		pe := &PanicError{Value: reason}
		px.fail(pe)
		select {
		case px.started <- pe: // failed before Started: unblock Init
		default:
		}
	}
	sup.StopChildren(child)
}

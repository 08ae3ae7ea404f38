package registry

import (
	"crypto/rand"
	"encoding/binary"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// NewCluster returns the registry of c's node whose scopes are replicated:
// a scope added on several nodes of c holds the names and groups of the
// processes of all of them (docs/registry.md, "Across nodes"). Writes
// about a process of another node are forwarded to that node, and
// metadata must be a proto.Message or nil (ErrMetaNotProto).
func NewCluster(c *cluster.Cluster) *Registry {
	r := New(c.Node())
	r.cl = c
	return r
}

// repl is the replication state of a scope process; nil on a single node.
type repl struct {
	cl       *cluster.Cluster
	self     string // this node's name
	selfPID  []byte // the scope process, marshalled
	nextAsk  uint64
	peers    map[string]*peerLink
	links    []*peerLink // peers' values, in the order made (a link is never removed): announce ranges over them for every change
	flushing bool        // a flushChanges is on its way
	// flushMark is len(pending) when the flushChanges on its way was
	// sent (holdFlush)
	flushMark int
	// firstAt is when the first change of the flush on its way was
	// queued; held: holdFlush held that flush at least once; yielded: it
	// let the writers run once
	firstAt       time.Time
	held, yielded bool
	// pending holds the changes announced since the last flush, encoded
	// as the entries of a Changes message (wirechange.go); each out
	// stream sends what follows its from
	pending []byte
	enc     changeEncoder
	// header and changes are the message sendOut sends changes in,
	// reused (only the scope process sends)
	header  registrypb.ScopeMessage
	changes registrypb.ChangesMessage
}

// peerLink is what a scope process keeps about the scope on one other
// node: the stream of that node's entries it receives (in) and the
// stream of its own it sends (out).
type peerLink struct {
	node string

	// in
	ask     uint64    // the latest Discover sent; 0: none
	askTo   actor.PID // whom it was sent to; zero: to the node's scope name
	in      actor.PID // the scope process answering ask
	mon     actor.Ref // monitor of in
	seq     uint64    // last seq applied in the session ask
	synced  bool      // the snapshot's last chunk was applied
	names   claimMap
	touched uint64               // what prefetch loaded, kept so that its loads are made
	members map[memberKey]uint64 // the ask of the snapshot or change that set it
	waiters []awaitReq

	// out
	out    actor.PID
	outAsk uint64
	outSeq uint64
	// queued: changes for out are in repl.pending, from offset from on
	// (announce; the earlier ones are in out's snapshot)
	queued bool
	from   int
	// outAsks are the latest asks of out (at most 4, oldest first), which
	// its forwarded writes may carry
	outAsks []uint64

	// processes of the node whose removals wait for their exit reason
	// (Exited); on a purge they get the placeholder
	exitsDue map[actor.PID]struct{}

	// re-asks after gaps (rediscover)
	gapBackoff time.Duration
	gapTimer   *actor.Timer
}

// claim is a registration of a remote node as this node knows it. A claim
// that lost a conflict to a local process is hidden until its owner
// withdraws or changes it.
type claim struct {
	// shown is the name and the registration, as the names table holds
	// them: showing the claim stores a pointer to it (so a new remote name
	// costs one allocation, not two). It never changes once the claim is
	// made; a change of the registration is a new claim.
	shown  item[string, nameEntry]
	gen    uint64
	hidden bool
	// beaten: hidden because it lost to the local registration that holds
	// its name now (conflict); cleared when that registration goes
	// (removeName). Only such a claim is asked about again when the local
	// registration's metadata changes (reresolve).
	beaten bool
}

// newClaim returns the claim of a registration on name, of generation gen.
func newClaim(name string, e nameEntry, gen uint64) *claim {
	return &claim{shown: item[string, nameEntry]{key: name, val: e}, gen: gen}
}

// reg returns c's registration.
func (c *claim) reg() *nameEntry { return &c.shown.val }

// awaitReq waits until the scope process has applied message seq of
// session from node (a forwarded write's announcement).
type awaitReq struct {
	node    string
	session uint64
	seq     uint64
	req     *actor.Request
}

func (p *scopeProc) link(node string) *peerLink {
	l := p.repl.peers[node]
	if l == nil {
		l = &peerLink{node: node, members: map[memberKey]uint64{}, exitsDue: map[actor.PID]struct{}{},
			outAsks: make([]uint64, 0, 4)}
		p.repl.peers[node] = l
		p.repl.links = append(p.repl.links, l)
	}
	return l
}

// initRepl subscribes to node events and asks every node already up.
func (p *scopeProc) initRepl(ctx *actor.Context) error {
	r := p.repl
	r.self = ctx.Node().Name()
	r.selfPID = cluster.MarshalPID(ctx.Self())
	if err := r.cl.MonitorNodes(ctx.Self(), true); err != nil {
		return err
	}
	for _, n := range r.cl.Nodes() {
		p.discover(ctx, n, actor.PID{}, true)
	}
	return nil
}

// newAsk makes the ask numbered n: n in the high 32 bits, so asks grow,
// and 32 random bits below, so that a node that never received the ask
// (it does not run the scope: the Discover went to a name it does not
// have) cannot answer it or write in its name.
func newAsk(n uint64) uint64 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return n<<32 | uint64(binary.LittleEndian.Uint32(b[:]))
}

// publishAsks publishes the current ask of every peer, which forwarded
// writes carry to prove they come from this scope process.
func (p *scopeProc) publishAsks() {
	asks := make(map[string]uint64, len(p.repl.peers))
	for n, l := range p.repl.peers {
		if l.ask != 0 {
			asks[n] = l.ask
		}
	}
	p.s.asks.Store(&asks)
}

// discover sends a fresh ask to node: to its scope process to if known,
// else to the scope's name there.
func (p *scopeProc) discover(ctx *actor.Context, node string, to actor.PID, start bool) {
	l := p.link(node)
	p.repl.nextAsk++
	l.ask, l.askTo, l.seq, l.synced = newAsk(p.repl.nextAsk), to, 0, false
	p.releaseWaiters(l)
	p.publishAsks()
	msg := &registrypb.ScopeMessage{Version: protocolVersion, Scope: p.s.name, From: p.repl.selfPID,
		Body: &registrypb.ScopeMessage_Discover{Discover: &registrypb.Discover{Ask: l.ask, Start: start}}}
	// Always to the scope's name: a node without the scope has no such
	// process, so the ask (a secret, newAsk) reaches only a scope process.
	if err := p.repl.cl.SendNamed(node, ScopeProcessName(p.s.name), msg); err != nil {
		ctx.Logger().Debug().Str("scope", p.s.name).Str("node", node).Err(err).Msg("registry discover not sent")
	}
}

// Back-off of the re-asks after gaps in one session.
const (
	minGapBackoff = 50 * time.Millisecond
	maxGapBackoff = 5 * time.Second
)

// rediscoverMsg makes the scope process ask node again after a gap, if
// its ask is still ask.
type rediscoverMsg struct {
	node string
	ask  uint64
}

// rediscover asks l's node again after a gap in its stream: now if no
// gap was seen in this session yet, else after the back-off, which
// doubles with each gap.
func (p *scopeProc) rediscover(ctx *actor.Context, l *peerLink) {
	if l.gapTimer != nil {
		return // a re-ask is on its way
	}
	if l.gapBackoff == 0 {
		l.gapBackoff = minGapBackoff
		p.discover(ctx, l.node, l.in, false)
		return
	}
	l.gapTimer = ctx.SendAfter(ctx.Self(), rediscoverMsg{node: l.node, ask: l.ask}, l.gapBackoff)
	l.gapBackoff = min(2*l.gapBackoff, maxGapBackoff)
}

// reaskMsg makes the scope process ask node again at once (tests).
type reaskMsg struct{ node string }

// onRediscover handles a rediscoverMsg.
func (p *scopeProc) onRediscover(ctx *actor.Context, m rediscoverMsg) {
	l := p.repl.peers[m.node]
	if l == nil || l.gapTimer == nil {
		return
	}
	l.gapTimer = nil
	if l.ask == m.ask && l.ask != 0 {
		p.discover(ctx, l.node, l.in, false)
	}
}

// nodeEvent handles the cluster's NodeUp and NodeDown.
func (p *scopeProc) nodeEvent(ctx *actor.Context, msg any) {
	switch e := msg.(type) {
	case cluster.NodeUp:
		p.discover(ctx, e.Node, actor.PID{}, false)
	case cluster.NodeDown:
		if l := p.repl.peers[e.Node]; l != nil {
			p.purgeNode(ctx, l, actor.PID{})
		}
	}
}

// remoteDown handles the Down of a monitored peer scope process; it
// reports whether d was one.
func (p *scopeProc) remoteDown(ctx *actor.Context, d actor.Down) bool {
	if p.repl == nil || p.s.node.IsLocal(d.PID) {
		return false
	}
	if l := p.repl.peers[d.PID.NodeName()]; l != nil && l.mon == d.Ref {
		l.mon = actor.Ref{}
		p.purgeNode(ctx, l, d.PID)
	}
	return true
}

// purgeNode removes every entry of l's node. When the node is lost (dead
// is zero) it forgets both streams; when only its scope process dead
// died, it forgets what went to or came from that process, but not an ask
// or a stream of its successor, whose Discover may arrive before dead's
// Down (the keeper restarts a scope process on its link exit, which its
// node sends before the Downs of its monitors).
func (p *scopeProc) purgeNode(ctx *actor.Context, l *peerLink, dead actor.PID) {
	reason := RemoteScopeNodeDown{Scope: p.s.name, Node: l.node}
	claims := l.names
	l.names = claimMap{}
	if claims.len() >= bulkPurgeMin {
		p.purgeNamesBulk(ctx, l, reason)
	} else {
		names := make([]string, 0, claims.len())
		claims.each(func(c *claim) { names = append(names, c.shown.key) })
		p.sortForCallbacks(names)
		for _, name := range names {
			p.reshow(ctx, name, reason)
		}
	}
	p.dropMembers(ctx, l, func(uint64) bool { return true }, reason)
	for pid := range l.exitsDue { // the Exited will not come: release their callbacks
		p.remoteExited(ctx, l, pid, ProcessExit{Err: errExitUnknown})
	}
	if !l.mon.IsZero() {
		ctx.Demonitor(l.mon)
	}
	l.in, l.mon, l.synced = actor.PID{}, actor.Ref{}, false
	if l.gapTimer != nil {
		l.gapTimer.Cancel()
	}
	l.gapTimer, l.gapBackoff = nil, 0
	if dead.IsZero() || l.askTo == dead || l.askTo.IsZero() && l.seq > 0 {
		l.ask, l.askTo, l.seq = 0, actor.PID{}, 0
	}
	if dead.IsZero() || l.out == dead {
		l.out, l.outAsk, l.outSeq, l.queued = actor.PID{}, 0, 0, false
	}
	p.releaseWaiters(l)
	p.publishNodes()
	p.publishAsks()
}

// bulkPurgeMin is the number of a lost node's names from which
// purgeNode takes them out of the table in one pass (table.drop) instead
// of one by one; a variable for the tests.
var bulkPurgeMin = 1024

// purgeNamesBulk is purgeNode's removal of the names l's node claimed
// (its claims already forgotten), for many names: the names its claims
// showed and no other node claims leave the table in one pass; the few
// that another node's claim now shows are reshown one by one after it.
// The callbacks come in the order of the names, as reshow's one by one.
func (p *scopeProc) purgeNamesBulk(ctx *actor.Context, l *peerLink, reason Reason) {
	s := p.s
	wanted := !p.events.IsZero()
	others := false // another node claims names
	for _, o := range p.repl.peers {
		others = others || o != l && o.names.len() > 0
	}
	var gone []event
	var again []string
	// A shown entry of a process of l's node is what l's claim showed:
	// a node's claims are about its own processes only (wire), and any
	// change of a claim reshows its name.
	removed := s.names.drop(func(it *item[string, nameEntry]) bool {
		if it.val.pid.NodeName() != l.node {
			return false // a local process's, or another node's
		}
		if others && p.bestClaim(it.key) != nil {
			again = append(again, it.key)
			return false
		}
		if wanted {
			gone = append(gone, event{kind: evUnregistered, key: it.key, pid: it.val.pid, meta: it.val.meta, reason: reason})
		}
		return true
	})
	s.nameCount.Add(int64(-removed))
	if !wanted {
		for _, name := range again {
			p.reshow(ctx, name, reason)
		}
		return
	}
	slices.SortFunc(gone, func(a, b event) int { return strings.Compare(a.key, b.key) })
	sort.Strings(again)
	for len(gone) > 0 || len(again) > 0 {
		if len(again) == 0 || len(gone) > 0 && gone[0].key < again[0] {
			p.emit(ctx, gone[0])
			gone = gone[1:]
			continue
		}
		p.reshow(ctx, again[0], reason)
		again = again[1:]
	}
}

// drop counts and logs a message refused by the protocol.
func (p *scopeProc) drop(ctx *actor.Context, why string, err error) {
	p.s.dropped.Add(1)
	ctx.Logger().Debug().Str("scope", p.s.name).Str("why", why).Err(err).Msg("registry message dropped")
}

// wire handles a message from another node's scope process.
// m is a *registrypb.ScopeMessage or a *fastChanges (wiredecode.go).
func (p *scopeProc) wire(ctx *actor.Context, m any) {
	if p.repl == nil {
		p.drop(ctx, "scope not replicated", nil)
		return
	}
	d, err := decodeWire(m, p.s.name, p.repl.self)
	if err != nil {
		p.drop(ctx, "malformed", err)
		return
	}
	if d.kind == msgDiscover {
		p.onDiscover(ctx, d)
		return
	}
	l := p.repl.peers[d.node]
	switch {
	case l == nil || l.ask == 0 || d.session != l.ask:
		p.drop(ctx, "not the current session", nil)
		return
	case d.seq != l.seq+1:
		// A gap in the current session: what follows cannot be applied.
		// Ask again, at once the first time, then with a growing back-off
		// so that a send that keeps failing on the peer cannot make the
		// two scope processes loop at full speed.
		p.drop(ctx, "out of sequence", nil)
		p.rediscover(ctx, l)
		return
	case d.kind == msgSnapshot && l.seq == 0:
		if l.in != d.from {
			if !l.mon.IsZero() {
				ctx.Demonitor(l.mon)
			}
			l.in, l.mon = d.from, ctx.Monitor(d.from)
		}
	case d.from != l.in || (d.kind != msgSnapshot && !l.synced) || (d.kind == msgSnapshot && l.synced):
		p.drop(ctx, "unexpected in session", nil)
		return
	}
	l.seq = d.seq
	switch d.kind {
	case msgSnapshot:
		reason := RemoteScopeNodeUp{Scope: p.s.name, Node: l.node}
		for _, n := range d.names {
			p.remoteSetName(ctx, l, n, hashString(n.name), nil, reason)
		}
		for _, m := range d.members {
			p.remoteSetMember(ctx, l, m, reason)
		}
		if d.last {
			p.sweep(ctx, l, reason)
			l.synced = true
			p.publishNodes()
		}
	case msgChanges:
		var arrived time.Time
		if p.s.lag != nil {
			arrived = time.Now()
		}
		var hs [prefetchChanges]uint64 // the hashes of the names of the changes prefetched
		for i, c := range d.changes {
			if i%prefetchChanges == 0 {
				p.prefetch(l, d.changes[i:min(i+prefetchChanges, len(d.changes))], &hs)
			}
			switch c.kind {
			case chRegistered:
				p.s.recordLag(arrived, c.time)
				p.remoteSetName(ctx, l, c.asName(), hs[i%prefetchChanges], c.claim, decodeReason(c.reason))
			case chUnregistered:
				p.remoteDelName(ctx, l, c.key, hs[i%prefetchChanges], c.pid, decodeReason(c.reason))
			case chJoined:
				p.s.recordLag(arrived, c.time)
				p.remoteSetMember(ctx, l, c.asMember(), decodeReason(c.reason))
			case chLeft:
				p.remoteDelMember(ctx, l, memberKey{c.key, c.pid}, decodeReason(c.reason))
			case chExited:
				p.remoteExited(ctx, l, c.pid, decodeReason(c.reason))
			}
			if c.reason.GetExitFollows() && (c.kind == chUnregistered || c.kind == chLeft) {
				l.exitsDue[c.pid] = struct{}{}
			}
		}
	}
	p.releaseWaiters(l)
}

// prefetchChanges is how many changes prefetch loads the slots of at a
// time: their cache lines stay in the first-level cache until applied.
const prefetchChanges = 32

// prefetch loads the slots of the names table and of l's claims where
// applying cs (at most prefetchChanges) will probe, for the changes of
// names, and puts the hashes of their names in hs: in big tables each
// slot is a cache miss, and loaded change by change, as the change is
// applied, they come one after the other; loaded in a short loop of
// their own, where nothing waits for a load, the CPU fetches many at
// once.
func (p *scopeProc) prefetch(l *peerLink, cs []change, hs *[prefetchChanges]uint64) {
	for i := range cs {
		if k := cs[i].kind; k == chRegistered || k == chUnregistered {
			hs[i] = hashString(cs[i].key)
		}
	}
	var sum uint64
	for i := range cs {
		if k := cs[i].kind; k == chRegistered || k == chUnregistered {
			p.s.names.touch(hs[i])
			sum += l.names.touch(hs[i])
		}
	}
	l.touched += sum
}

// onDiscover answers an ask with a snapshot and opens the out stream.
func (p *scopeProc) onDiscover(ctx *actor.Context, d decodedMessage) {
	l := p.link(d.node)
	if l.out == d.from && d.ask <= l.outAsk {
		p.drop(ctx, "stale discover", nil)
		return
	}
	// Changes queued for the old stream are in the snapshot.
	if l.out != d.from {
		l.outAsks = l.outAsks[:0]
	}
	// The last few asks of the same process stay valid for its forwarded
	// writes: one sent just before a re-ask arrives after it.
	if len(l.outAsks) == cap(l.outAsks) && len(l.outAsks) > 0 {
		l.outAsks = append(l.outAsks[:0], l.outAsks[1:]...)
	}
	l.outAsks = append(l.outAsks, d.ask)
	l.out, l.outAsk, l.outSeq, l.queued = d.from, d.ask, 0, false
	p.sendSnapshot(ctx, l)
	if l.in != d.from && l.askTo != d.from && (d.start || l.ask == 0) {
		p.discover(ctx, d.node, d.from, false)
	}
}

// sendSnapshot sends l's out stream every entry of this node, in chunks.
func (p *scopeProc) sendSnapshot(ctx *actor.Context, l *peerLink) {
	snap := &registrypb.Snapshot{}
	size := 0
	flush := func(last bool) {
		snap.Last = last
		p.sendOut(ctx, l, &registrypb.ScopeMessage_Snapshot{Snapshot: snap})
		snap, size = &registrypb.Snapshot{}, 0
	}
	p.procs.each(func(ps *procState) {
		if ps.dead {
			return
		}
		for _, name := range ps.names {
			it := p.s.names.load(name)
			if it == nil || it.val.pid != ps.pid {
				continue
			}
			n, err := p.wireName(name, it.val)
			if err != nil {
				continue
			}
			sz := proto.Size(n)
			if size > 0 && size+sz > maxChunkBytes {
				flush(false) // before an entry that would overflow the chunk
			}
			snap.Names = append(snap.Names, n)
			size += sz
		}
		for _, group := range ps.groups {
			it := p.s.members.load(memberKey{group, ps.pid})
			if it == nil {
				continue
			}
			m, err := p.wireMember(group, ps.pid, it.val.meta, it.val.time)
			if err != nil {
				continue
			}
			sz := proto.Size(m)
			if size > 0 && size+sz > maxChunkBytes {
				flush(false) // before an entry that would overflow the chunk
			}
			snap.Members = append(snap.Members, m)
			size += sz
		}
	})
	flush(true)
}

func (p *scopeProc) wireName(name string, e nameEntry) (*registrypb.Name, error) {
	meta, err := encodeMeta(e.meta)
	if err != nil {
		return nil, err
	}
	return &registrypb.Name{Name: name, Pid: cluster.MarshalPID(e.pid), Meta: meta, Time: e.time}, nil
}

func (p *scopeProc) wireMember(group string, pid actor.PID, meta any, time int64) (*registrypb.Member, error) {
	m, err := encodeMeta(meta)
	if err != nil {
		return nil, err
	}
	return &registrypb.Member{Group: group, Pid: cluster.MarshalPID(pid), Meta: m, Time: time}, nil
}

// sendOut sends body on l's out stream with its next seq: a
// *registrypb.ScopeMessage_Snapshot, or the entries of a Changes already
// encoded (repl.pending), which the cluster writes straight into its
// buffer as the message's changes field (registrypb.ChangesMessage).
func (p *scopeProc) sendOut(ctx *actor.Context, l *peerLink, body any) {
	l.outSeq++
	var m proto.Message
	switch b := body.(type) {
	case *registrypb.ScopeMessage_Snapshot:
		m = &registrypb.ScopeMessage{Version: protocolVersion, Scope: p.s.name, From: p.repl.selfPID,
			Session: l.outAsk, Seq: l.outSeq, Body: b}
	case []byte:
		// The header and the message are the repl's, reused from one
		// send to the next: the cluster encodes a message before its send
		// returns.
		r := p.repl
		h := &r.header
		h.Version, h.Scope, h.From, h.Session, h.Seq = protocolVersion, p.s.name, r.selfPID, l.outAsk, l.outSeq
		r.changes.ScopeMessage, r.changes.Entries = h, b
		m = &r.changes
	}
	// To the scope's name on the peer, not to the PID its Discover named:
	// that PID is only what the message claims, and a node without the
	// scope receives nothing.
	if err := p.repl.cl.SendNamed(l.node, ScopeProcessName(p.s.name), m); err != nil {
		// The seq stays counted: the peer sees the gap at the next
		// message and asks again, after its back-off (wire).
		ctx.Logger().Warn().Str("scope", p.s.name).Str("node", l.node).Err(err).Msg("registry replication message not sent")
	}
}

// announce queues the change just appended to repl.pending from offset
// start (or drops it, when no out stream is open) for every out stream.
// The queues go out as one Changes message per stream when the scope
// process handles the flushChanges it sends itself with the first change:
// after the writes already in its mailbox (and, while they keep coming,
// after the ones behind them: holdFlush).
func (p *scopeProc) announce(ctx *actor.Context, start int) {
	queued := false
	for _, l := range p.repl.links {
		if !l.out.IsZero() {
			if !l.queued {
				l.queued, l.from = true, start
			}
			queued = true
		}
	}
	if !queued {
		p.repl.pending = p.repl.pending[:start]
		return
	}
	if !p.repl.flushing {
		p.repl.flushing, p.repl.flushMark, p.repl.firstAt = true, len(p.repl.pending), time.Now()
		_ = ctx.Send(ctx.Self(), flushChanges{})
	}
}

// maxHeldChanges bounds the bytes of changes holdFlush lets wait: below
// the cluster's batch size (32 KiB), so that a flush still goes out in
// the peer's batch, with no buffer of its own. maxHold bounds how long
// the first of them waits for the others: a scope process kept busy by
// other work (its peers' changes, a purge) while its own writes trickle
// in would otherwise hold them until they made up maxHeldChanges.
const (
	maxHeldChanges = 24 << 10
	maxHold        = time.Millisecond
)

// holdFlush reports whether the flushChanges just handled should go
// round once more instead of flushing, and sends it again if so: when
// the writes that were in the mailbox behind it made changes (the scope
// process is busy: more writes are likely behind those), up to
// maxHeldChanges and maxHold; and once more when a round found no new change after
// such rounds, yielding first so that the writers it answered (runnable,
// not yet run) write again, for as long as they do (a few writers, whose
// writes a yield lets through a round at a time, fill a flush as many
// would). A burst then goes out in fewer, fuller
// messages (fewer sends, write and read system calls and wake-ups on
// every node), each round adding what the writers queued meanwhile; a
// lone write, after which the mailbox held nothing, is flushed at once.
func (p *scopeProc) holdFlush(ctx *actor.Context) bool {
	r := p.repl
	hold := false
	switch {
	case len(r.pending) >= maxHeldChanges || time.Since(r.firstAt) >= maxHold:
	case len(r.pending) > r.flushMark:
		// The writers wrote again (after a yield too): hold, and yield
		// again when they fall behind.
		r.held, r.yielded, hold = true, false, true
	case r.held && !r.yielded:
		// Busy until now, and the writers it answered last have not
		// written again yet: let them run first (they are runnable),
		// once for each time they wrote again.
		r.yielded, hold = true, true
		runtime.Gosched()
	}
	if !hold {
		return false
	}
	r.flushMark = len(r.pending)
	return ctx.Send(ctx.Self(), flushChanges{}) == nil
}

// flushChanges makes the scope process send the changes it queued.
type flushChanges struct{}

// flush sends every out stream its queued changes, encoded once for all
// the streams that queued the same ones (normally every stream: one
// opened since the last flush queued fewer).
func (p *scopeProc) flush(ctx *actor.Context) {
	r := p.repl
	r.flushing, r.held, r.yielded = false, false, false
	type encoded struct {
		from int
		body []byte
	}
	var done []encoded
	for _, l := range r.links {
		if l.queued && !l.out.IsZero() {
			var body []byte
			for _, e := range done {
				if e.from == l.from {
					body = e.body
				}
			}
			if body == nil {
				body = r.pending[l.from:]
				done = append(done, encoded{l.from, body})
			}
			p.sendOut(ctx, l, body)
		}
		l.queued = false
	}
	if cap(r.pending) > 1<<20 {
		r.pending = nil // do not keep a burst's buffer for ever
	} else {
		r.pending = r.pending[:0]
	}
}

// replicated reports whether changes must be announced.
func (p *scopeProc) replicated() bool { return p.repl != nil && len(p.repl.peers) > 0 }

func (p *scopeProc) announceName(ctx *actor.Context, name string, e nameEntry, reason Reason) {
	p.announceEntry(ctx, fChangeRegistered, name, e.pid, e.meta, e.time, reason)
}

func (p *scopeProc) announceJoined(ctx *actor.Context, group string, pid actor.PID, meta any, time int64, reason Reason) {
	p.announceEntry(ctx, fChangeJoined, group, pid, meta, time, reason)
}

func (p *scopeProc) announceEntry(ctx *actor.Context, kind protowire.Number, key string, pid actor.PID, meta any, time int64, reason Reason) {
	if !p.replicated() {
		return
	}
	r := p.repl
	start := len(r.pending)
	b, err := r.enc.appendEntryChange(r.pending, kind, key, pid, meta, time, reason)
	if err != nil {
		return // checked by the write already (checkMeta)
	}
	r.pending = b
	p.announce(ctx, start)
}

func (p *scopeProc) announceUnregistered(ctx *actor.Context, name string, pid actor.PID, reason Reason) {
	if !p.replicated() {
		return
	}
	start := len(p.repl.pending)
	p.repl.pending = p.repl.enc.appendKeyChange(p.repl.pending, fChangeUnregistered, name, pid, reason)
	p.announce(ctx, start)
}

func (p *scopeProc) announceLeft(ctx *actor.Context, group string, pid actor.PID, reason Reason) {
	if !p.replicated() {
		return
	}
	start := len(p.repl.pending)
	p.repl.pending = p.repl.enc.appendKeyChange(p.repl.pending, fChangeLeft, group, pid, reason)
	p.announce(ctx, start)
}

// announceExited gives the peers the exit reason of a process whose
// removals were announced before its Down (alive).
func (p *scopeProc) announceExited(ctx *actor.Context, pid actor.PID, reason Reason) {
	if !p.replicated() {
		return
	}
	start := len(p.repl.pending)
	p.repl.pending = p.repl.enc.appendExited(p.repl.pending, pid, reason)
	p.announce(ctx, start)
}

// announceEvents announces the removals in evs (from purge) with reason.
func (p *scopeProc) announceEvents(ctx *actor.Context, evs []event, reason Reason) {
	if !p.replicated() {
		return
	}
	for _, ev := range evs {
		switch ev.kind {
		case evUnregistered:
			p.announceUnregistered(ctx, ev.key, ev.pid, reason)
		case evLeft:
			p.announceLeft(ctx, ev.key, ev.pid, reason)
		}
	}
}

// remoteExited hands the exit reason of a process of l's node to the
// event process, where the callbacks of its early removals wait for it.
func (p *scopeProc) remoteExited(ctx *actor.Context, l *peerLink, pid actor.PID, reason Reason) {
	delete(l.exitsDue, pid)
	if !p.events.IsZero() {
		_ = ctx.Send(p.events, exitReason{pid: pid, reason: reason})
	}
}

// remoteSetName applies l's node's claim on a name, whose hash is h (for
// the claims and the names table alike); made is that claim if the
// decoder made it already (newFastClaim), or nil.
func (p *scopeProc) remoteSetName(ctx *actor.Context, l *peerLink, n wireName, h uint64, made *claim, reason Reason) {
	p.s.names.touch(h) // fetched while the claims are probed
	old := l.names.get(n.name, h)
	if old != nil && old.reg().pid == n.pid && old.reg().time == n.time && metaEqual(old.reg().meta, n.meta) {
		old.gen = l.ask
		return // known already: nothing fires
	}
	c := made
	if c == nil {
		c = newClaim(n.name, nameEntry{pid: n.pid, meta: n.meta, time: n.time}, l.ask)
	} else {
		c.gen = l.ask
	}
	l.names.set(h, c)
	it := p.s.names.loadHashed(n.name, h)
	if it == nil {
		// Nothing shown: no other visible claim either (any change of a
		// claim reshows its name, and the best visible one is shown), so
		// c is the best; reshow would find that with a lookup per node.
		p.show(ctx, c, h, reason)
		return
	}
	if p.s.node.IsLocal(it.val.pid) && p.alive(ctx, it.val.pid) {
		p.conflict(ctx, n.name, it.val, c)
		return
	}
	p.reshow(ctx, n.name, reason)
}

// show shows claim c for its name, which nothing shows; h is the name's
// hash.
func (p *scopeProc) show(ctx *actor.Context, c *claim, h uint64, reason Reason) {
	p.s.names.putHashed(&c.shown, h)
	p.s.nameCount.Add(1)
	p.emit(ctx, event{kind: evRegistered, key: c.shown.key, pid: c.reg().pid, meta: c.reg().meta, reason: reason})
}

// remoteDelName applies l's node's withdrawal of its claim on a name,
// whose hash is h.
func (p *scopeProc) remoteDelName(ctx *actor.Context, l *peerLink, name string, h uint64, pid actor.PID, reason Reason) {
	old := l.names.get(name, h)
	if old == nil || old.reg().pid != pid {
		return
	}
	l.names.del(name, h)
	p.reshow(ctx, name, reason)
}

// bestClaim returns the claim on name that the default rule prefers among
// the visible claims of remote nodes, or nil.
func (p *scopeProc) bestClaim(name string) *claim {
	var best *claim
	h := hashString(name)
	for _, l := range p.repl.peers {
		c := l.names.get(name, h)
		if c == nil || c.hidden {
			continue
		}
		if best == nil || newer(c.reg().time, c.reg().pid, best.reg().time, best.reg().pid) {
			best = c
		}
	}
	return best
}

// newer reports whether registration (t1, p1) wins over (t2, p2) by the
// default rule: the later time, then the greater PID.
func newer(t1 int64, p1 actor.PID, t2 int64, p2 actor.PID) bool {
	if t1 != t2 {
		return t1 > t2
	}
	return pidLess(p2, p1)
}

// pidLess is Arbor's total order on PIDs: node name, creation, index,
// serial.
func pidLess(a, b actor.PID) bool {
	if an, bn := a.NodeName(), b.NodeName(); an != bn {
		return an < bn
	}
	if ac, bc := a.Creation(), b.Creation(); ac != bc {
		return ac < bc
	}
	ai, as := a.ID()
	bi, bs := b.ID()
	if ai != bi {
		return ai < bi
	}
	return as < bs
}

// reshow makes the shown registration of a name that no local process
// holds the best remote claim, firing the callbacks of the change.
func (p *scopeProc) reshow(ctx *actor.Context, name string, reason Reason) {
	s := p.s
	it := s.names.load(name)
	if it != nil && s.node.IsLocal(it.val.pid) {
		return
	}
	c := p.bestClaim(name)
	var best nameEntry
	if c != nil {
		best = *c.reg()
	}
	switch {
	case it == nil && c == nil:
	case it == nil:
		p.show(ctx, c, hashString(name), reason)
	case c == nil:
		s.names.remove(name)
		s.nameCount.Add(-1)
		p.emit(ctx, event{kind: evUnregistered, key: name, pid: it.val.pid, meta: it.val.meta, reason: reason})
	case it.val.pid == best.pid:
		if it.val.time == best.time && metaEqual(it.val.meta, best.meta) {
			return
		}
		prev := it.val.meta
		s.names.put(&c.shown)
		if !metaEqual(prev, best.meta) {
			p.emit(ctx, event{kind: evRegistryUpdated, key: name, pid: best.pid, prev: prev, meta: best.meta, reason: reason})
		}
	default:
		old := it.val
		s.names.put(&c.shown)
		p.emit(ctx, event{kind: evUnregistered, key: name, pid: old.pid, meta: old.meta, reason: reason})
		p.emit(ctx, event{kind: evRegistered, key: name, pid: best.pid, meta: best.meta, reason: reason})
	}
}

// remoteSetMember applies l's node's membership.
func (p *scopeProc) remoteSetMember(ctx *actor.Context, l *peerLink, m wireMember, reason Reason) {
	s := p.s
	k := memberKey{m.group, m.pid}
	l.members[k] = l.ask
	prev := s.members.load(k)
	if prev != nil && prev.val.time == m.time && metaEqual(prev.val.meta, m.meta) {
		return
	}
	e := newMember(m.group, m.pid, m.meta, m.time)
	gs := p.groups[m.group]
	if prev != nil {
		e.val.slot = prev.val.slot
		gs.read.view.Load().slots[e.val.slot].Store(e)
		gs.read.republish()
		s.members.put(e)
		if !metaEqual(prev.val.meta, m.meta) {
			p.emit(ctx, event{kind: evGroupUpdated, key: m.group, pid: m.pid, prev: prev.val.meta, meta: m.meta, reason: reason})
		}
		return
	}
	if gs == nil {
		gs = p.newGroup(m.group)
	}
	p.appendMember(gs, e)
	s.members.put(e)
	p.emit(ctx, event{kind: evJoined, key: m.group, pid: m.pid, meta: m.meta, reason: reason})
}

// remoteDelMember applies l's node's leave.
func (p *scopeProc) remoteDelMember(ctx *actor.Context, l *peerLink, k memberKey, reason Reason) {
	if _, ok := l.members[k]; !ok {
		return
	}
	delete(l.members, k)
	gs := p.groups[k.group]
	if gs == nil {
		return
	}
	if old := p.removeMember(k.group, gs, k.pid); old != nil {
		p.emit(ctx, event{kind: evLeft, key: k.group, pid: k.pid, meta: old.val.meta, reason: reason})
	}
}

// sortForCallbacks sorts the names a purge or a sweep removes, so that
// their callbacks come in an order that does not depend on a map's; with
// no callbacks to run the order is not seen, and 100k names took a third
// of a purge's time to sort.
func (p *scopeProc) sortForCallbacks(names []string) {
	if !p.events.IsZero() {
		sort.Strings(names)
	}
}

// dropMembers removes l's node's memberships whose generation drop
// selects.
func (p *scopeProc) dropMembers(ctx *actor.Context, l *peerLink, drop func(gen uint64) bool, reason Reason) {
	keys := make([]memberKey, 0)
	for k, gen := range l.members {
		if drop(gen) {
			keys = append(keys, k)
		}
	}
	if !p.events.IsZero() { // else the order is not seen (sortForCallbacks)
		p.sortMembers(keys)
	}
	for _, k := range keys {
		p.remoteDelMember(ctx, l, k, reason)
	}
}

// sortMembers sorts keys by group, then PID.
func (p *scopeProc) sortMembers(keys []memberKey) {
	slices.SortFunc(keys, func(a, b memberKey) int {
		if a.group != b.group {
			if a.group < b.group {
				return -1
			}
			return 1
		}
		if pidLess(a.pid, b.pid) {
			return -1
		}
		return 1
	})
}

// sweep ends a snapshot: the entries of l's node it did not list go.
func (p *scopeProc) sweep(ctx *actor.Context, l *peerLink, reason Reason) {
	var stale []string
	l.names.each(func(c *claim) {
		if c.gen != l.ask {
			stale = append(stale, c.shown.key)
		}
	})
	p.sortForCallbacks(stale)
	for _, name := range stale {
		l.names.del(name, hashString(name))
		p.reshow(ctx, name, reason)
	}
	p.dropMembers(ctx, l, func(gen uint64) bool { return gen != l.ask }, reason)
}

// publishNodes publishes the nodes this scope is synced with.
func (p *scopeProc) publishNodes() {
	var nodes []string
	for n, l := range p.repl.peers {
		if l.synced {
			nodes = append(nodes, n)
		}
	}
	sort.Strings(nodes)
	p.s.nodes.Store(&nodes)
}

// releaseWaiters answers the waits on l that are settled (awaitReq.settled).
func (p *scopeProc) releaseWaiters(l *peerLink) {
	n := 0
	for _, w := range l.waiters {
		if done, err := w.settled(l); done {
			w.req.Reply(err)
			continue
		}
		l.waiters[n] = w
		n++
	}
	clear(l.waiters[n:])
	l.waiters = l.waiters[:n]
}

// restartRepl forgets the streams of a scope process that died (its
// peers' streams went to it) and the nodes that went down meanwhile; the
// entries learnt from the nodes still up stay until their next snapshot
// replaces them.
func (p *scopeProc) restartRepl(ctx *actor.Context) {
	// The dead process may have queued changes and sent itself the
	// flushChanges that would send them: that message died with it, and a
	// flag left set would keep this process from ever sending itself
	// another, so no change would leave it again. The changes themselves
	// are in the snapshots the peers get when they ask this process.
	p.repl.flushing = false
	p.repl.pending = p.repl.pending[:0]
	up := map[string]bool{}
	for _, n := range p.repl.cl.Nodes() {
		up[n] = true
	}
	for node, l := range p.repl.peers {
		for _, w := range l.waiters {
			// The dead process failed these requests with its exit
			// reason when it exited; this only makes sure.
			w.req.Reply(ErrSessionEnded)
		}
		l.ask, l.askTo, l.in, l.mon, l.seq, l.synced, l.waiters = 0, actor.PID{}, actor.PID{}, actor.Ref{}, 0, false, nil
		l.gapTimer.Cancel() // its message would go to the dead process
		l.gapTimer, l.gapBackoff = nil, 0
		l.out, l.outAsk, l.outSeq, l.queued = actor.PID{}, 0, 0, false
		if !up[node] {
			p.purgeNode(ctx, l, actor.PID{})
		}
	}
	p.publishNodes()
	p.publishAsks()
}

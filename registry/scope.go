package registry

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
)

// Scope is one scope as this node sees it. Reads (Lookup, Members, counts)
// are served from structures the scope process publishes, without a round
// trip; writes are calls to the scope process. Get one with
// Registry.Scope; its methods may be called from any goroutine.
type Scope struct {
	name    string
	node    *actor.Node
	handler any                       // WithEventHandler's, or nil
	pid     atomic.Pointer[actor.PID] // the scope process, replaced when it restarts
	cl      *cluster.Cluster          // nil: the scope serves this node only
	// repl is the replication state; only the current scope process
	// touches it, and it outlives a restart of the process.
	repl *repl
	// events is the event process of the latest scope process, if any: a
	// restarted scope process's event process waits for it to exit first.
	events atomic.Pointer[actor.PID]

	// Read side, written only by the scope process.
	names      *nameTable
	nameCount  atomic.Int64
	localNames atomic.Int64
	groups     sync.Map // string -> *groupRead
	groupCount atomic.Int64
	members    *memberTable
	nodes      atomic.Pointer[[]string]          // peers synced with, sorted
	asks       atomic.Pointer[map[string]uint64] // the scope process's current ask of each peer
	dropped    atomic.Uint64                     // replication messages refused
	forged     atomic.Uint64                     // forwarded writes refused as not from a peer

	lag   metric.Float64Histogram // replication lag (telemetry.go); nil without telemetry
	lagAt metric.RecordOption
}

func newScope(n *actor.Node, cl *cluster.Cluster, name string) *Scope {
	return &Scope{name: name, node: n, cl: cl, names: newTable[string, nameEntry](hashString),
		members: newTable[memberKey, memberMeta](hashMember)}
}

// Nodes returns the other nodes of the scope whose entries this node
// holds (it has applied their snapshot and the session is open), sorted.
// It is empty for a scope that is not replicated.
func (s *Scope) Nodes() []string {
	if p := s.nodes.Load(); p != nil {
		return slices.Clone(*p)
	}
	return nil
}

// Dropped returns how many replication messages the scope process has
// refused: malformed, of another version, of an ended session, about
// processes of another node than the sender's, or forwarded writes from
// a node that is not of the scope.
func (s *Scope) Dropped() uint64 { return s.dropped.Load() }

// Forged returns how many forwarded writes the scope process has refused
// because they did not come from the scope process of a peer of the
// scope (a node that did not add the scope, or a forged requester); they
// are counted in Dropped too, and logged.
func (s *Scope) Forged() uint64 { return s.forged.Load() }

// nameEntry is a registration, held immutable in a names item.
type nameEntry struct {
	pid  actor.PID
	meta any
	time int64
}

// memberEntry is an immutable group membership: the same item is in the
// group's member view and in the members table.
type memberEntry = item[memberKey, memberMeta]

type memberMeta struct {
	meta any
	time int64
	// slot is the entry's position in the group's current view. Only the
	// scope process reads or writes it (it changes when a removal moves
	// the entry); readers use the other fields, which never change.
	slot int
}

func newMember(group string, pid actor.PID, meta any, time int64) *memberEntry {
	return &memberEntry{key: memberKey{group, pid}, val: memberMeta{meta: meta, time: time}}
}

type memberKey struct {
	group string
	pid   actor.PID
}

// EventHandler returns the handler the scope was added with
// (WithEventHandler), or nil. A package that adds a scope for its own use
// with a handler of its own (cluster/singleton's AddScope) finds it
// again from the scope.
func (s *Scope) EventHandler() any { return s.handler }

// Name returns the scope's name.
func (s *Scope) Name() string { return s.name }

// PID returns the scope process (a new one after it restarted).
func (s *Scope) PID() actor.PID {
	if p := s.pid.Load(); p != nil {
		return *p
	}
	return actor.PID{}
}

// live reports whether a registry entry for pid may be returned: remote
// PIDs are trusted to the replication protocol, local ones must be alive.
func (s *Scope) live(pid actor.PID) bool {
	return s.node.IsAlive(pid) || !s.node.IsLocal(pid)
}

// Lookup returns the process registered under name and its metadata. It
// returns ErrNotRegistered if no live process holds the name.
func (s *Scope) Lookup(name string) (actor.PID, any, error) {
	it := s.names.load(name)
	if it == nil || !s.live(it.val.pid) {
		return actor.PID{}, nil, s.nameErr("lookup", name, actor.PID{}, ErrNotRegistered)
	}
	return it.val.pid, metaValue(it.val.meta), nil
}

// Count returns the number of registered names in the scope, on every node.
// A local process that has exited is counted until the scope process has
// handled its exit.
func (s *Scope) Count() int { return int(s.nameCount.Load()) }

// LocalCount returns the number of names held by processes of this node,
// with the same lag as Count.
func (s *Scope) LocalCount() int { return int(s.localNames.Load()) }

// call sends a write to the scope process.
func (s *Scope) call(ctx context.Context, req any) (any, error) {
	v, err := s.node.Call(ctx, s.PID(), req)
	if err != nil {
		if ce, ok := err.(*actor.CallError); ok && ce.Reason == actor.NoProc {
			return nil, ErrScopeStopped
		}
		return nil, err
	}
	return v, nil
}

// writeErr returns the error a write's reply carries.
func (s *Scope) writeErr(ctx context.Context, req any) error {
	v, err := s.call(ctx, req)
	if err != nil {
		return err
	}
	if e, ok := v.(error); ok {
		return e
	}
	return nil
}

// nameErr returns err, the outcome of op on name about pid, as an
// *OpError; nil and a *NameError (which names the scope and the name
// already) are returned as they are.
func (s *Scope) nameErr(op, name string, pid actor.PID, err error) error {
	if _, ok := err.(*NameError); ok || err == nil {
		return err
	}
	return &OpError{Op: op, Scope: s.name, Name: name, PID: pid, Err: err}
}

// groupErr is nameErr for an operation on a group.
func (s *Scope) groupErr(op, group string, pid actor.PID, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Scope: s.name, Group: group, PID: pid, Err: err}
}

// checkWrite validates the arguments every write shares.
func (s *Scope) checkWrite(key string, pid actor.PID) error {
	if key == "" {
		return ErrBadName
	}
	if pid.IsZero() {
		return ErrNotAlive // names no process, of this node or another
	}
	if !s.node.IsLocal(pid) && !s.remote(pid) {
		return ErrNotLocal
	}
	return nil
}

// remote reports whether pid is a process of another node whose writes
// are forwarded to it: in a replicated scope only.
func (s *Scope) remote(pid actor.PID) bool {
	return s.cl != nil && !pid.IsZero() && !s.node.IsLocal(pid)
}

// checkWriteMeta is checkWrite for a write that carries metadata, which a
// replicated scope must be able to send.
func (s *Scope) checkWriteMeta(key string, pid actor.PID, meta any) error {
	if err := s.checkWrite(key, pid); err != nil {
		return err
	}
	if s.cl != nil {
		return checkMeta(meta)
	}
	return nil
}

// Register gives pid the name in the scope, with metadata meta. If pid
// holds the name already, its metadata is replaced (OnRegistryProcessUpdated
// fires). A process may hold several names. The name is released when pid
// exits. Register returns when the registration is visible to Lookup on
// this node. In a replicated scope (NewCluster) a PID of another node is
// registered by that node's scope process (the call is forwarded) and meta
// must be a proto.Message or nil. Errors: ErrBadName, ErrNotLocal for a
// PID of another node in a scope that is not replicated, ErrMetaNotProto,
// ErrNotAlive if pid is not alive (or zero), a *NameError wrapping ErrTaken (with
// the holder) if another live process holds the name, ErrScopeStopped, the
// forwarding call's error, or the call's error if ctx ends first.
func (s *Scope) Register(ctx context.Context, name string, pid actor.PID, meta any) error {
	err := s.checkWriteMeta(name, pid, meta)
	switch {
	case err != nil:
	case s.remote(pid):
		err = s.forwardRegister(ctx, name, pid, meta)
	default:
		err = s.writeErr(ctx, newRegisterReq(name, pid, meta, s.cl != nil))
	}
	return s.nameErr("register", name, pid, err)
}

// Unregister removes name if pid holds it (forwarded to pid's node, as
// Register). Errors: ErrBadName, ErrNotLocal, ErrNotAlive for the zero PID,
// ErrNotRegistered if no live process holds the name, a *NameError wrapping
// ErrNotOwner (with the holder) if another process holds it,
// ErrScopeStopped, or the call's error if ctx ends first.
func (s *Scope) Unregister(ctx context.Context, name string, pid actor.PID) error {
	err := s.checkWrite(name, pid)
	switch {
	case err != nil:
	case s.remote(pid):
		err = s.forwardUnregister(ctx, name, pid)
	default:
		err = s.writeErr(ctx, unregisterReq{name: name, pid: pid})
	}
	return s.nameErr("unregister", name, pid, err)
}

// Update replaces the metadata of name with fn(pid, old metadata) and
// returns the holder and the new metadata. fn runs inside the scope
// process, so it must be quick and must not call the registry. When the
// holder is on another node (a replicated scope), fn runs on this node on
// the metadata it shows and the holder's node stores the result only if
// the registration has not changed meanwhile; otherwise fn runs again, up
// to 8 times. Errors: ErrBadName, ErrNotRegistered, ErrUpdatePanicked if
// fn panicked (the entry is unchanged), ErrNotLocal if the holder is on
// another node of a scope that is not replicated, ErrMetaNotProto,
// ErrUpdateContended, ErrScopeStopped, or the call's error if ctx ends
// first.
func (s *Scope) Update(ctx context.Context, name string, fn func(pid actor.PID, meta any) any) (actor.PID, any, error) {
	if name == "" {
		return actor.PID{}, nil, s.nameErr("update", name, actor.PID{}, ErrBadName)
	}
	for range maxUpdateRetries {
		v, err := s.call(ctx, updateReq{name: name, fn: fn})
		if err != nil {
			return actor.PID{}, nil, s.nameErr("update", name, actor.PID{}, err)
		}
		res := v.(updateResult)
		if res.err != ErrNotLocal || s.cl == nil {
			return res.pid, res.meta, s.nameErr("update", name, res.pid, res.err)
		}
		pid, meta, err := s.forwardUpdate(ctx, name, fn)
		if err != errRetryLocal {
			return pid, meta, s.nameErr("update", name, pid, err)
		}
	}
	return actor.PID{}, nil, s.nameErr("update", name, actor.PID{}, ErrUpdateContended)
}

// sync returns once the scope process has handled every message queued
// before the call and the event process has run every callback produced
// so far. Tests use it to assert that no further callback fires.
func (s *Scope) sync(ctx context.Context) error {
	v, err := s.call(ctx, syncReq{})
	if err != nil {
		return err
	}
	select {
	case <-v.(chan struct{}):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

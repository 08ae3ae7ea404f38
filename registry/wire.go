package registry

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// protocolVersion is the version of the scope-to-scope protocol
// (docs/registry.md); a message of another version is dropped.
const protocolVersion uint32 = 1

// maxChunkBytes bounds the entries of one Snapshot chunk, far below the
// cluster's MaxMessageBytes.
const maxChunkBytes = 256 << 10

// MaxMetaBytes bounds the encoded size of one entry's metadata in a
// replicated scope: a write whose metadata is larger fails with
// ErrMetaTooLarge. It is far below cluster.MaxMessageBytes, so that any
// entry fits in a replication message with room for its name and PID.
const MaxMetaBytes = 1 << 20

// checkMeta returns ErrMetaNotProto unless meta can cross the wire, and
// ErrMetaTooLarge if its encoding is over MaxMetaBytes.
func checkMeta(meta any) error {
	if meta == nil {
		return nil
	}
	m, ok := meta.(proto.Message)
	if !ok {
		return fmt.Errorf("%w: got %T", ErrMetaNotProto, meta)
	}
	if !m.ProtoReflect().IsValid() {
		// A nil pointer of a message type: the owner would keep the nil
		// pointer and every other node an empty message.
		return fmt.Errorf("%w: got a nil %T (pass nil for no metadata)", ErrMetaNotProto, meta)
	}
	if n := proto.Size(m); n > MaxMetaBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrMetaTooLarge, n, MaxMetaBytes)
	}
	return nil
}

// encodeMeta packs metadata for the wire: nil stays nil.
func encodeMeta(meta any) (*anypb.Any, error) {
	if meta == nil {
		return nil, nil
	}
	m, ok := meta.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%w: got %T", ErrMetaNotProto, meta)
	}
	if a, ok := m.(*anypb.Any); ok {
		return a, nil
	}
	return anypb.New(m)
}

// decodeMeta unpacks metadata from the wire. A type this program does not
// link stays an *anypb.Any.
func decodeMeta(a *anypb.Any) any {
	if a == nil {
		return nil
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return a
	}
	return m
}

// metaEqual reports whether two metadata values are the same for the
// purpose of "nothing changed": equal protobuf messages, or both nil.
func metaEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ra, ok1 := a.(*remoteMeta)
	rb, ok2 := b.(*remoteMeta)
	if ok1 && ok2 && ra.sameWire(rb) {
		return true // else the same message may still have come as other bytes (a map's order)
	}
	a, b = metaValue(a), metaValue(b)
	ma, ok1 := a.(proto.Message)
	mb, ok2 := b.(proto.Message)
	if ok1 && ok2 {
		return proto.Equal(ma, mb)
	}
	return false
}

// encodeReason turns a callback reason into its wire form.
func encodeReason(r Reason) *registrypb.Reason {
	switch r := r.(type) {
	case ProcessExit:
		text := "<nil>"
		if r.Err != nil {
			text = r.Err.Error()
		}
		return &registrypb.Reason{Kind: registrypb.Reason_PROCESS_EXIT, Exit: text, ExitFollows: r.Err == errExitUnknown}
	case ConflictResolution:
		return &registrypb.Reason{Kind: registrypb.Reason_CONFLICT_RESOLUTION}
	case Undefined:
		return &registrypb.Reason{Kind: registrypb.Reason_UNDEFINED}
	}
	return &registrypb.Reason{Kind: registrypb.Reason_NORMAL}
}

// remoteExit is the exit reason of a process of another node, known only
// by its text.
type remoteExit struct{ text string }

func (e *remoteExit) Error() string { return e.text }

// knownExits are the exit reasons rebuilt as the actor sentinels they
// name, so that errors.Is works across nodes for them.
var knownExits = map[string]error{}

func init() {
	for _, err := range []error{actor.Normal, actor.Shutdown, actor.Killed, actor.NoProc, actor.NoConnection} {
		knownExits[err.Error()] = err
	}
}

// decodeReason rebuilds a callback reason from the wire.
func decodeReason(r *registrypb.Reason) Reason {
	switch r.GetKind() {
	case registrypb.Reason_PROCESS_EXIT:
		if r.GetExitFollows() {
			return ProcessExit{Err: errExitUnknown} // the event waits for Exited
		}
		if err, ok := knownExits[r.GetExit()]; ok {
			return ProcessExit{Err: err}
		}
		return ProcessExit{Err: &remoteExit{r.GetExit()}}
	case registrypb.Reason_CONFLICT_RESOLUTION:
		return ConflictResolution{}
	case registrypb.Reason_UNDEFINED:
		return Undefined{}
	}
	return Normal{}
}

// errBadMessage marks a message that fails the protocol's checks.
var errBadMessage = errors.New("registry: bad replication message")

// decodePID decodes a PID field, which must name a process of node (when
// node is not empty).
func decodePID(b []byte, node string) (actor.PID, error) {
	pid, err := cluster.UnmarshalPID(b)
	if err != nil {
		return actor.PID{}, fmt.Errorf("%w: pid: %v", errBadMessage, err)
	}
	if pid.IsZero() {
		return actor.PID{}, fmt.Errorf("%w: zero pid", errBadMessage)
	}
	if node != "" && pid.NodeName() != node {
		return actor.PID{}, fmt.Errorf("%w: pid %v is not of node %s", errBadMessage, pid, node)
	}
	return pid, nil
}

// wireName is a decoded Name.
type wireName struct {
	name string
	pid  actor.PID
	meta any
	time int64
}

// wireMember is a decoded Member.
type wireMember struct {
	group string
	pid   actor.PID
	meta  any
	time  int64
}

func decodeName(n *registrypb.Name, node string) (wireName, error) {
	if n.GetName() == "" {
		return wireName{}, fmt.Errorf("%w: empty name", errBadMessage)
	}
	pid, err := decodePID(n.GetPid(), node)
	if err != nil {
		return wireName{}, err
	}
	return wireName{name: n.GetName(), pid: pid, meta: decodeMeta(n.GetMeta()), time: n.GetTime()}, nil
}

func decodeMember(m *registrypb.Member, node string) (wireMember, error) {
	if m.GetGroup() == "" {
		return wireMember{}, fmt.Errorf("%w: empty group", errBadMessage)
	}
	pid, err := decodePID(m.GetPid(), node)
	if err != nil {
		return wireMember{}, err
	}
	return wireMember{group: m.GetGroup(), pid: pid, meta: decodeMeta(m.GetMeta()), time: m.GetTime()}, nil
}

// decodedMessage is a ScopeMessage that passed the checks that need no
// state: version, scope, a sender of another node, entries of the
// sender's node.
type decodedMessage struct {
	from    actor.PID
	node    string // the sender's node
	session uint64
	seq     uint64
	kind    msgKind
	ask     uint64 // Discover
	start   bool   // Discover from a starting scope process
	names   []wireName
	members []wireMember
	last    bool // Snapshot
	changes []change
}

// change is one decoded change of the sender's entries: the fields of a
// Registered or Joined entry, or the key and PID of an Unregistered or a
// Left, or the PID of an Exited, in one flat struct (80 bytes: a
// receiver holds a slice of them per message in flight, and a field per
// kind made it 160).
type change struct {
	kind   changeKind
	key    string // the name (chRegistered, chUnregistered) or the group (chJoined, chLeft)
	pid    actor.PID
	meta   any   // chRegistered, chJoined
	time   int64 // chRegistered, chJoined
	reason *registrypb.Reason
	// claim is a chRegistered change's claim when the hand decoder made
	// it with the change (its key, pid, meta and time are the change's;
	// newFastClaim), or nil.
	claim *claim
}

// entryChange is the change of a kind with the fields of a Name
// (chRegistered) or a Member (chJoined).
func entryChange(kind changeKind, key string, pid actor.PID, meta any, time int64) change {
	return change{kind: kind, key: key, pid: pid, meta: meta, time: time}
}

// asName is a chRegistered change's entry.
func (c *change) asName() wireName {
	return wireName{name: c.key, pid: c.pid, meta: c.meta, time: c.time}
}

// asMember is a chJoined change's entry.
func (c *change) asMember() wireMember {
	return wireMember{group: c.key, pid: c.pid, meta: c.meta, time: c.time}
}

type msgKind uint8

const (
	msgDiscover msgKind = iota + 1
	msgSnapshot
	msgChanges
)

type changeKind uint8

const (
	chRegistered changeKind = iota + 1
	chUnregistered
	chJoined
	chLeft
	chExited
)

// decodeChange decodes one change of node's entries.
func decodeChange(c *registrypb.Change, node string) (change, error) {
	var ch change
	var err error
	switch b := c.GetChange().(type) {
	case *registrypb.Change_Registered:
		var n wireName
		n, err = decodeName(b.Registered.GetEntry(), node)
		ch, ch.reason = entryChange(chRegistered, n.name, n.pid, n.meta, n.time), b.Registered.GetReason()
	case *registrypb.Change_Unregistered:
		ch.kind, ch.key, ch.reason = chUnregistered, b.Unregistered.GetName(), b.Unregistered.GetReason()
		ch.pid, err = decodePID(b.Unregistered.GetPid(), node)
	case *registrypb.Change_Joined:
		var m wireMember
		m, err = decodeMember(b.Joined.GetEntry(), node)
		ch, ch.reason = entryChange(chJoined, m.group, m.pid, m.meta, m.time), b.Joined.GetReason()
	case *registrypb.Change_Left:
		ch.kind, ch.key, ch.reason = chLeft, b.Left.GetGroup(), b.Left.GetReason()
		ch.pid, err = decodePID(b.Left.GetPid(), node)
	case *registrypb.Change_Exited:
		ch.kind, ch.reason = chExited, b.Exited.GetReason()
		ch.pid, err = decodePID(b.Exited.GetPid(), node)
	default:
		return ch, fmt.Errorf("%w: empty change", errBadMessage)
	}
	if err != nil {
		return ch, err
	}
	if (ch.kind == chUnregistered || ch.kind == chLeft) && ch.key == "" {
		return ch, fmt.Errorf("%w: empty name or group", errBadMessage)
	}
	return ch, nil
}

// decodeMessage checks m for scope on node self and decodes it. It never
// panics, whatever m holds.
func decodeMessage(m *registrypb.ScopeMessage, scope, self string) (decodedMessage, error) {
	var d decodedMessage
	if m.GetVersion() != protocolVersion {
		return d, fmt.Errorf("%w: version %d", errBadMessage, m.GetVersion())
	}
	if m.GetScope() != scope {
		return d, fmt.Errorf("%w: scope %q", errBadMessage, m.GetScope())
	}
	from, err := decodePID(m.GetFrom(), "")
	if err != nil {
		return d, err
	}
	if from.NodeName() == self {
		return d, fmt.Errorf("%w: from this node", errBadMessage)
	}
	d.from, d.node, d.session, d.seq = from, from.NodeName(), m.GetSession(), m.GetSeq()
	var single *registrypb.Change
	switch b := m.GetBody().(type) {
	case *registrypb.ScopeMessage_Discover:
		d.kind, d.ask, d.start = msgDiscover, b.Discover.GetAsk(), b.Discover.GetStart()
		if d.ask == 0 {
			return d, fmt.Errorf("%w: discover without ask", errBadMessage)
		}
		return d, nil
	case *registrypb.ScopeMessage_Snapshot:
		d.kind, d.last = msgSnapshot, b.Snapshot.GetLast()
		for _, n := range b.Snapshot.GetNames() {
			wn, err := decodeName(n, d.node)
			if err != nil {
				return d, err
			}
			d.names = append(d.names, wn)
		}
		for _, m := range b.Snapshot.GetMembers() {
			wm, err := decodeMember(m, d.node)
			if err != nil {
				return d, err
			}
			d.members = append(d.members, wm)
		}
	case *registrypb.ScopeMessage_Changes:
		d.kind = msgChanges
		for _, c := range b.Changes.GetChanges() {
			ch, err := decodeChange(c, d.node)
			if err != nil {
				return d, err
			}
			d.changes = append(d.changes, ch)
		}
	case *registrypb.ScopeMessage_Registered:
		single = &registrypb.Change{Change: &registrypb.Change_Registered{Registered: b.Registered}}
	case *registrypb.ScopeMessage_Unregistered:
		single = &registrypb.Change{Change: &registrypb.Change_Unregistered{Unregistered: b.Unregistered}}
	case *registrypb.ScopeMessage_Joined:
		single = &registrypb.Change{Change: &registrypb.Change_Joined{Joined: b.Joined}}
	case *registrypb.ScopeMessage_Left:
		single = &registrypb.Change{Change: &registrypb.Change_Left{Left: b.Left}}
	default:
		return d, fmt.Errorf("%w: no body", errBadMessage)
	}
	if single != nil {
		ch, err := decodeChange(single, d.node)
		if err != nil {
			return d, err
		}
		d.kind, d.changes = msgChanges, []change{ch}
	}
	if d.session == 0 || d.seq == 0 {
		return d, fmt.Errorf("%w: no session", errBadMessage)
	}
	return d, nil
}

// errExitUnknown is the exit reason peers are told for a process found
// dead before its exit reason reached the scope process.
var errExitUnknown = errors.New("exited (reason not yet known)")

package registry

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// A ScopeMessage carrying Changes (nearly every message of a replicated
// scope) is decoded by hand, on the cluster's reader, straight into a
// decodedMessage: the generic decoder built a tree of small objects per
// change (Change, its oneof, Registered, Name, Any, Reason) only to have
// them copied into entries. The hand decoder takes only the plain case:
// each field of its wire type at most once (the changes as often as they
// come), nothing unknown, valid UTF-8, a PID and a name where the
// protocol needs them. Anything else falls back to the generic decoder
// and decodeMessage, so both paths accept the same messages and decode
// them alike (TestFastDecodeMatchesGenerated, FuzzDecodeScopeMessage).

func init() { registrypb.DecodeFast = func(b []byte) (any, bool) { return decodeFast(b) } }

// fastChanges is a Changes ScopeMessage decoded by decodeFast; the checks
// that need the receiving scope (version, scope, sender, session) are
// left to checkFast.
type fastChanges struct {
	version uint32
	scope   string
	d       decodedMessage
}

// fastFree recycles the fastChanges values decodeFast fills, with their
// slices of changes: the scope process gives one back once it applied it
// (release), so that a receiver does not allocate and clear a slice of
// changes per message. It is a bounded free list rather than a
// sync.Pool: a pool is emptied by every other garbage collection, and a
// receiver at full speed collects every few milliseconds, so most
// messages found it empty and allocated their slice again. It hands out
// the value given back last (its slice is the likeliest still in a
// cache). A value's slice is kept up to fastKeepChanges changes: enough
// for a message as large as a held flush (maxHeldChanges of changes and
// the round that passed it; a registration's change is 40 bytes or
// more), which is what most messages are when many processes register
// at once; a larger one's slice is collected. Up to fastFreeLen values
// are kept, with room for fastKeepTotal changes in all (about 1.3 MB):
// at full speed a receiver's reader runs ahead of its scope process by
// hundreds of messages, which then come back together, and a short list
// kept few of them (most messages got a new value and slice). A value
// that is never given back (a message dropped on the way) is collected
// as any other.
var fastFree struct {
	sync.Mutex
	vals []*fastChanges
	room int // the changes the kept values have room for
}

const (
	fastFreeLen     = 512
	fastKeepChanges = 1024
	fastKeepTotal   = 16 << 10
)

// newFastChanges takes a value from fastFree, or makes one.
func newFastChanges() *fastChanges {
	fastFree.Lock()
	defer fastFree.Unlock()
	if n := len(fastFree.vals); n > 0 {
		m := fastFree.vals[n-1]
		fastFree.vals[n-1] = nil
		fastFree.vals = fastFree.vals[:n-1]
		fastFree.room -= cap(m.d.changes)
		return m
	}
	return new(fastChanges)
}

// release gives m back to fastFree. m must not be used after it: the
// strings and metadata its changes held live on where they were stored.
func (m *fastChanges) release() {
	cs := m.d.changes
	if cap(cs) > fastKeepChanges {
		cs = nil // a burst's: not kept
	}
	clear(cs)
	*m = fastChanges{}
	m.d.changes = cs[:0]
	fastFree.Lock()
	defer fastFree.Unlock()
	if len(fastFree.vals) < fastFreeLen && fastFree.room+cap(cs) <= fastKeepTotal {
		fastFree.vals = append(fastFree.vals, m)
		fastFree.room += cap(cs)
	}
}

// decodeWire decodes a message from another node's scope process, either
// form, for scope on node self.
func decodeWire(m any, scope, self string) (decodedMessage, error) {
	switch m := m.(type) {
	case *fastChanges:
		return checkFast(m, scope, self)
	case *registrypb.ScopeMessage:
		return decodeMessage(m, scope, self)
	}
	return decodedMessage{}, fmt.Errorf("%w: %T", errBadMessage, m)
}

// checkFast makes decodeMessage's checks on a message decodeFast decoded.
func checkFast(m *fastChanges, scope, self string) (decodedMessage, error) {
	d := m.d
	switch {
	case m.version != protocolVersion:
		return d, fmt.Errorf("%w: version %d", errBadMessage, m.version)
	case m.scope != scope:
		return d, fmt.Errorf("%w: scope %q", errBadMessage, m.scope)
	case d.node == self:
		return d, fmt.Errorf("%w: from this node", errBadMessage)
	case d.session == 0 || d.seq == 0:
		return d, fmt.Errorf("%w: no session", errBadMessage)
	}
	return d, nil
}

// fields tracks the fields of one message seen so far (numbers below 64).
type fields uint64

// once marks field num seen and reports whether it was not before.
func (f *fields) once(num protowire.Number) bool {
	bit := fields(1) << uint(num)
	if *f&bit != 0 {
		return false
	}
	*f |= bit
	return true
}

// decodeFast decodes the wire bytes of a ScopeMessage whose body is
// Changes, or reports false for any other message or any case it leaves
// to the generic decoder.
func decodeFast(b []byte) (*fastChanges, bool) {
	var (
		seen         fields
		from, body   []byte
		haveChanges  bool
		scope        []byte
		version, ses uint64
		seq          uint64
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || !seen.once(num) {
			return nil, false
		}
		b = b[n:]
		switch {
		case typ == protowire.VarintType && (num == 1 || num == 4 || num == 5):
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, false
			}
			b = b[n:]
			switch num {
			case 1:
				version = v
			case 4:
				ses = v
			default:
				seq = v
			}
		case typ == protowire.BytesType && (num == 2 || num == 3 || num == fScopeChanges):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, false
			}
			b = b[n:]
			switch num {
			case 2:
				scope = v
			case 3:
				from = v
			default:
				body, haveChanges = v, true
			}
		default:
			return nil, false
		}
	}
	if !haveChanges || !utf8.Valid(scope) {
		return nil, false
	}
	pid, err := decodePID(from, "")
	if err != nil {
		return nil, false
	}
	m := newFastChanges()
	m.version, m.scope = uint32(version), string(scope)
	m.d.from, m.d.node, m.d.session, m.d.seq, m.d.kind = pid, pid.NodeName(), ses, seq, msgChanges
	// Room for the changes counted, up to maxRoomChanges: beyond that the
	// slice grows as changes decode, so that a forged message refused at
	// its first change has not made room for all the others first.
	if n := min(countChanges(body), maxRoomChanges); cap(m.d.changes) < n {
		// Twice the old room (up to what release keeps), so that a
		// recycled value grows to the usual message size in a few steps;
		// a new one, exactly the room (the reader runs ahead of the scope
		// process by hundreds of messages at full speed, so that many
		// values are new).
		room := n
		if c := cap(m.d.changes); c > 0 {
			room = max(n, min(2*c, fastKeepChanges))
		}
		m.d.changes = make([]change, 0, room)
	}
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 || num != fChangesChanges || typ != protowire.BytesType {
			return nil, false
		}
		body = body[n:]
		v, n := protowire.ConsumeBytes(body)
		if n < 0 {
			return nil, false
		}
		body = body[n:]
		c, ok := decodeFastChange(v, m.d.node)
		if !ok {
			m.release()
			return nil, false
		}
		m.d.changes = append(m.d.changes, c)
	}
	return m, true
}

// countChanges counts the changes of an encoded Changes body: its
// fields up to the first that is not a change of at least minChangeBytes
// (the decoder refuses the message there anyway), so that a forged body
// of tiny fields gets no room for more changes than its bytes could hold.
func countChanges(b []byte) int {
	n := 0
	for len(b) > 0 {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 || num != fChangesChanges || typ != protowire.BytesType {
			break
		}
		v, m := protowire.ConsumeBytes(b[k:])
		if m < 0 || len(v) < minChangeBytes {
			break
		}
		b = b[k+m:]
		n++
	}
	return n
}

// maxRoomChanges bounds the room decodeFast makes before decoding: more
// than a held flush carries (maxHeldChanges bytes).
const maxRoomChanges = 4 * fastKeepChanges

// minChangeBytes is less than any change's encoding: a change holds at
// least its name (or group) and its process's PID, which names a node.
const minChangeBytes = 8

// decodeFastChange decodes one Change of node's entries as decodeChange
// would, or reports false.
func decodeFastChange(b []byte, node string) (change, bool) {
	var ch change
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || typ != protowire.BytesType || num < fChangeRegistered || num > fChangeExited {
		return ch, false
	}
	v, n2 := protowire.ConsumeBytes(b[n:])
	if n2 < 0 || n+n2 != len(b) { // exactly one member of the oneof
		return ch, false
	}
	var (
		seen            fields
		key, pidb, meta []byte
		haveMeta        bool
		time            uint64
		reason          *registrypb.Reason
		reasonNum       protowire.Number
	)
	switch num {
	case fChangeRegistered, fChangeJoined:
		reasonNum = fEntryReason
	case fChangeExited:
		reasonNum = fExitedReason
	default:
		reasonNum = fKeyReason
	}
	for len(v) > 0 {
		f, t, n := protowire.ConsumeTag(v)
		if n < 0 || t != protowire.BytesType || !seen.once(f) {
			return ch, false
		}
		v = v[n:]
		val, n := protowire.ConsumeBytes(v)
		if n < 0 {
			return ch, false
		}
		v = v[n:]
		var ok bool
		switch {
		case f == reasonNum:
			reason, ok = decodeFastReason(val)
		case (num == fChangeRegistered || num == fChangeJoined) && f == fEntry:
			key, pidb, meta, haveMeta, time, ok = decodeFastEntry(val)
		case (num == fChangeUnregistered || num == fChangeLeft) && f == fKeyName:
			key, ok = val, utf8.Valid(val)
		case (num == fChangeUnregistered || num == fChangeLeft) && f == fKeyPID,
			num == fChangeExited && f == fExitedPID:
			pidb, ok = val, true
		}
		if !ok {
			return ch, false
		}
	}
	if num != fChangeExited && len(key) == 0 {
		return ch, false // an entry or a removal without its name or group
	}
	pid, err := decodePID(pidb, node)
	if err != nil {
		return ch, false
	}
	if num == fChangeRegistered {
		c, ok := newFastClaim(key, pid, meta, haveMeta, int64(time))
		if !ok {
			return ch, false
		}
		ch = entryChange(chRegistered, c.shown.key, pid, c.shown.val.meta, int64(time))
		ch.claim, ch.reason = c, reason
		return ch, true
	}
	var md any
	if haveMeta {
		var ok bool
		if md, ok = decodeFastMeta(meta); !ok {
			return ch, false
		}
	}
	switch num {
	case fChangeJoined:
		ch = entryChange(chJoined, string(key), pid, md, int64(time))
	case fChangeUnregistered:
		ch.kind, ch.key, ch.pid = chUnregistered, string(key), pid
	case fChangeLeft:
		ch.kind, ch.key, ch.pid = chLeft, string(key), pid
	default:
		ch.kind, ch.pid = chExited, pid
	}
	ch.reason = reason
	return ch, true
}

// decodeFastEntry decodes a Name or a Member: its name or group, PID,
// metadata (an Any's bytes) and time.
func decodeFastEntry(b []byte) (key, pid, meta []byte, haveMeta bool, time uint64, ok bool) {
	var seen fields
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || !seen.once(num) {
			return nil, nil, nil, false, 0, false
		}
		b = b[n:]
		switch {
		case num == fNameTime && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, nil, nil, false, 0, false
			}
			b, time = b[n:], v
		case (num == fNameName || num == fNamePID || num == fNameMeta) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, nil, nil, false, 0, false
			}
			b = b[n:]
			switch num {
			case fNameName:
				if !utf8.Valid(v) {
					return nil, nil, nil, false, 0, false
				}
				key = v
			case fNamePID:
				pid = v
			default:
				meta, haveMeta = v, true
			}
		default:
			return nil, nil, nil, false, 0, false
		}
	}
	return key, pid, meta, haveMeta, time, true
}

// emptyReason is the Reason of an empty reason field, shared: nothing
// writes a decoded Reason.
var emptyReason = &registrypb.Reason{}

// decodeFastReason decodes a Reason. The fields are read into locals, so
// that only a Reason that carries more than a kind is allocated (a local
// Reason whose address is returned would be allocated for every change).
func decodeFastReason(b []byte) (*registrypb.Reason, bool) {
	if len(b) == 0 {
		return emptyReason, true
	}
	var (
		seen    fields
		kind    registrypb.Reason_Kind
		exit    string
		follows bool
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || !seen.once(num) {
			return nil, false
		}
		b = b[n:]
		switch {
		case (num == fReasonKind || num == fReasonFollow) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, false
			}
			b = b[n:]
			if num == fReasonKind {
				kind = registrypb.Reason_Kind(int32(v))
			} else {
				follows = protowire.DecodeBool(v)
			}
		case num == fReasonExit && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 || !utf8.Valid(v) {
				return nil, false
			}
			b, exit = b[n:], string(v)
		default:
			return nil, false
		}
	}
	if exit == "" && !follows && kind >= 0 && int(kind) < len(kindReasons) {
		return kindReasons[kind], true
	}
	return &registrypb.Reason{Kind: kind, Exit: exit, ExitFollows: follows}, true
}

// kindReasons are the Reasons of a kind alone (Normal, ConflictResolution,
// Undefined), shared as emptyReason is.
var kindReasons = func() []*registrypb.Reason {
	rs := make([]*registrypb.Reason, len(registrypb.Reason_Kind_name))
	for i := range rs {
		rs[i] = &registrypb.Reason{Kind: registrypb.Reason_Kind(i)}
	}
	rs[0] = emptyReason
	return rs
}()

// metaType caches the type URL met last with its message type: a scope's
// metadata is mostly of one type. Only found types are kept (a linked
// type stays registered).
var metaType atomic.Pointer[urlType]

type urlType struct {
	url string
	mt  protoreflect.MessageType
}

// decodeFastMeta decodes an Any's bytes into the remoteMeta that
// decodes, when read, as decodeMeta decodes the Any.
func decodeFastMeta(b []byte) (any, bool) {
	url, value, hasValue, ok := parseFastMeta(b)
	if !ok {
		return nil, false
	}
	return &remoteMeta{typ: metaTypeOf(url), value: string(value), hasValue: hasValue}, true
}

// parseFastMeta reads an Any's bytes: its type URL and value (aliasing
// b), and whether the value field was there (an empty one included).
func parseFastMeta(b []byte) (url, value []byte, hasValue, ok bool) {
	var seen fields
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType || (num != fAnyTypeURL && num != fAnyValue) || !seen.once(num) {
			return nil, nil, false, false
		}
		b = b[n:]
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, nil, false, false
		}
		b = b[n:]
		if num == fAnyTypeURL {
			if !utf8.Valid(v) {
				return nil, nil, false, false
			}
			url = v
		} else {
			value = v
		}
	}
	return url, value, seen&(1<<fAnyValue) != 0, true
}

// metaTypeOf returns the urlType of a type URL, through metaType.
func metaTypeOf(url []byte) *urlType {
	t := metaType.Load()
	if t == nil || t.url != string(url) {
		t = &urlType{url: string(url)}
		if mt, err := protoregistry.GlobalTypes.FindMessageByURL(t.url); err == nil {
			t.mt = mt
			metaType.Store(t)
		}
	}
	return t
}

// fastClaim is a claim made by the hand decoder with its metadata, in
// one allocation.
type fastClaim struct {
	claim claim
	meta  remoteMeta
}

// newFastClaim makes the claim of a registration decoded by hand (its
// generation is set when it is applied): the claim and its metadata in
// one allocation, the name and the metadata's value in one string,
// where decoding the change and applying it made four objects. Applying
// it stores the claim (and shows its item) as it is, unless the peer's
// claim on the name was known already. It reports false for metadata
// that is not an Any's bytes.
func newFastClaim(key []byte, pid actor.PID, meta []byte, haveMeta bool, time int64) (*claim, bool) {
	if !haveMeta {
		return &claim{shown: item[string, nameEntry]{key: string(key), val: nameEntry{pid: pid, time: time}}}, true
	}
	url, value, hasValue, ok := parseFastMeta(meta)
	if !ok {
		return nil, false
	}
	var sb strings.Builder
	sb.Grow(len(key) + len(value))
	sb.Write(key)
	sb.Write(value)
	both := sb.String()
	c := &fastClaim{meta: remoteMeta{typ: metaTypeOf(url), value: both[len(key):], hasValue: hasValue}}
	c.claim.shown = item[string, nameEntry]{key: both[:len(key)], val: nameEntry{pid: pid, meta: &c.meta, time: time}}
	return &c.claim, true
}

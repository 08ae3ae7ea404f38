package registry

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// The changes a scope process announces are encoded by hand, once for
// every peer, straight into the bytes of a Changes message (each one a
// `changes` field holding a Change): the generic marshaller, with its
// nested sizes, cost more than the rest of a replicated write. The bytes
// are what the generated code would write (registrypb's messages, field
// numbers of registry.proto); receivers decode them with the generated
// code. TestChangeEncodingMatchesGenerated checks both.

// Field numbers of registry.proto.
const (
	fChangesChanges = 1 // Changes.changes

	fChangeRegistered   = 1 // Change oneof
	fChangeUnregistered = 2
	fChangeJoined       = 3
	fChangeLeft         = 4
	fChangeExited       = 5

	fEntry       = 1 // Registered.entry, Joined.entry
	fEntryReason = 2 // Registered.reason, Joined.reason

	fKeyName   = 1 // Unregistered.name, Left.group
	fKeyPID    = 2 // Unregistered.pid, Left.pid
	fKeyReason = 3 // Unregistered.reason, Left.reason

	fExitedPID    = 1
	fExitedReason = 2

	fNameName = 1 // Name.name, Member.group
	fNamePID  = 2
	fNameMeta = 3
	fNameTime = 4

	fAnyTypeURL = 1
	fAnyValue   = 2

	fReasonKind   = 1
	fReasonExit   = 2
	fReasonFollow = 3

	fScopeChanges = 16 // ScopeMessage.changes
)

// anyTypePrefix is the prefix anypb.New gives a type URL.
const anyTypePrefix = "type.googleapis.com/"

// changeEncoder encodes changes; its buffers are reused from one change
// to the next.
type changeEncoder struct {
	pid  []byte // the change's PID, encoded
	meta []byte // the metadata's encoding (Any.value)
}

// wireReason is a Reason in wire form (encodeReason, without the message).
type wireReason struct {
	kind    uint64
	exit    string
	follows bool
}

func toWireReason(r Reason) wireReason {
	switch r.(type) {
	case Normal:
		return wireReason{kind: uint64(registrypb.Reason_NORMAL)}
	case ConflictResolution:
		return wireReason{kind: uint64(registrypb.Reason_CONFLICT_RESOLUTION)}
	case Undefined:
		return wireReason{kind: uint64(registrypb.Reason_UNDEFINED)}
	}
	w := encodeReason(r) // ProcessExit, and what encodeReason makes Normal
	return wireReason{kind: uint64(w.GetKind()), exit: w.GetExit(), follows: w.GetExitFollows()}
}

func (r wireReason) size() int {
	n := 0
	if r.kind != 0 {
		n += 1 + protowire.SizeVarint(r.kind)
	}
	if r.exit != "" {
		n += 1 + protowire.SizeBytes(len(r.exit))
	}
	if r.follows {
		n += 2
	}
	return n
}

func (r wireReason) append(b []byte) []byte {
	if r.kind != 0 {
		b = protowire.AppendTag(b, fReasonKind, protowire.VarintType)
		b = protowire.AppendVarint(b, r.kind)
	}
	if r.exit != "" {
		b = protowire.AppendTag(b, fReasonExit, protowire.BytesType)
		b = protowire.AppendString(b, r.exit)
	}
	if r.follows {
		b = protowire.AppendTag(b, fReasonFollow, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	return b
}

// wireMeta is metadata in wire form: an Any's type URL (the prefix and
// the full name, or a given Any's URL) and its value.
type wireMeta struct {
	present    bool
	url1, url2 string
	value      []byte
}

// encodeMetaInto is encodeMeta without the Any: the value is encoded into
// e.meta.
func (e *changeEncoder) encodeMetaInto(meta any) (wireMeta, error) {
	if meta == nil {
		return wireMeta{}, nil
	}
	m, ok := meta.(proto.Message)
	if !ok {
		return wireMeta{}, fmt.Errorf("%w: got %T", ErrMetaNotProto, meta)
	}
	if a, ok := m.(*anypb.Any); ok {
		return wireMeta{present: true, url1: a.GetTypeUrl(), value: a.GetValue()}, nil
	}
	v, err := proto.MarshalOptions{}.MarshalAppend(e.meta[:0], m)
	if err != nil {
		return wireMeta{}, err
	}
	e.meta = v
	return wireMeta{present: true, url1: anyTypePrefix, url2: string(m.ProtoReflect().Descriptor().FullName()), value: v}, nil
}

func (m wireMeta) size() int {
	n := 0
	if l := len(m.url1) + len(m.url2); l > 0 {
		n += 1 + protowire.SizeBytes(l)
	}
	if len(m.value) > 0 {
		n += 1 + protowire.SizeBytes(len(m.value))
	}
	return n
}

func (m wireMeta) append(b []byte) []byte {
	if l := len(m.url1) + len(m.url2); l > 0 {
		b = protowire.AppendTag(b, fAnyTypeURL, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(l))
		b = append(append(b, m.url1...), m.url2...)
	}
	if len(m.value) > 0 {
		b = protowire.AppendTag(b, fAnyValue, protowire.BytesType)
		b = protowire.AppendBytes(b, m.value)
	}
	return b
}

// appendEntryChange appends a Registered (kind fChangeRegistered: key is
// the name) or a Joined (fChangeJoined: key is the group) as one Changes
// entry.
func (e *changeEncoder) appendEntryChange(b []byte, kind protowire.Number, key string, pid actor.PID, meta any, time int64, reason Reason) ([]byte, error) {
	wm, err := e.encodeMetaInto(meta)
	if err != nil {
		return b, err
	}
	e.pid = cluster.AppendPID(e.pid[:0], pid)
	entry := 1 + protowire.SizeBytes(len(key))
	if len(e.pid) > 0 {
		entry += 1 + protowire.SizeBytes(len(e.pid))
	}
	if wm.present {
		entry += 1 + protowire.SizeBytes(wm.size())
	}
	if time != 0 {
		entry += 1 + protowire.SizeVarint(uint64(time))
	}
	wr := toWireReason(reason)
	body := 1 + protowire.SizeBytes(entry) + 1 + protowire.SizeBytes(wr.size())
	b = protowire.AppendTag(b, fChangesChanges, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(1+protowire.SizeBytes(body)))
	b = protowire.AppendTag(b, kind, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(body))
	b = protowire.AppendTag(b, fEntry, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(entry))
	b = protowire.AppendTag(b, fNameName, protowire.BytesType)
	b = protowire.AppendString(b, key)
	if len(e.pid) > 0 {
		b = protowire.AppendTag(b, fNamePID, protowire.BytesType)
		b = protowire.AppendBytes(b, e.pid)
	}
	if wm.present {
		b = protowire.AppendTag(b, fNameMeta, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(wm.size()))
		b = wm.append(b)
	}
	if time != 0 {
		b = protowire.AppendTag(b, fNameTime, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(time))
	}
	b = protowire.AppendTag(b, fEntryReason, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(wr.size()))
	return wr.append(b), nil
}

// appendKeyChange appends an Unregistered (kind fChangeUnregistered) or
// a Left (fChangeLeft) as one Changes entry.
func (e *changeEncoder) appendKeyChange(b []byte, kind protowire.Number, key string, pid actor.PID, reason Reason) []byte {
	e.pid = cluster.AppendPID(e.pid[:0], pid)
	wr := toWireReason(reason)
	body := 1 + protowire.SizeBytes(wr.size())
	if key != "" {
		body += 1 + protowire.SizeBytes(len(key))
	}
	if len(e.pid) > 0 {
		body += 1 + protowire.SizeBytes(len(e.pid))
	}
	b = protowire.AppendTag(b, fChangesChanges, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(1+protowire.SizeBytes(body)))
	b = protowire.AppendTag(b, kind, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(body))
	if key != "" {
		b = protowire.AppendTag(b, fKeyName, protowire.BytesType)
		b = protowire.AppendString(b, key)
	}
	if len(e.pid) > 0 {
		b = protowire.AppendTag(b, fKeyPID, protowire.BytesType)
		b = protowire.AppendBytes(b, e.pid)
	}
	b = protowire.AppendTag(b, fKeyReason, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(wr.size()))
	return wr.append(b)
}

// appendExited appends an Exited as one Changes entry.
func (e *changeEncoder) appendExited(b []byte, pid actor.PID, reason Reason) []byte {
	e.pid = cluster.AppendPID(e.pid[:0], pid)
	wr := toWireReason(reason)
	body := 1 + protowire.SizeBytes(wr.size())
	if len(e.pid) > 0 {
		body += 1 + protowire.SizeBytes(len(e.pid))
	}
	b = protowire.AppendTag(b, fChangesChanges, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(1+protowire.SizeBytes(body)))
	b = protowire.AppendTag(b, fChangeExited, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(body))
	if len(e.pid) > 0 {
		b = protowire.AppendTag(b, fExitedPID, protowire.BytesType)
		b = protowire.AppendBytes(b, e.pid)
	}
	b = protowire.AppendTag(b, fExitedReason, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(wr.size()))
	return wr.append(b)
}

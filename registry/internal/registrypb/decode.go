package registrypb

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// DecodeFast, set by package registry, decodes the wire bytes of a
// ScopeMessage by hand when it can, or reports false.
var DecodeFast func(b []byte) (any, bool)

// DecodeArborPayload is what package cluster calls in place of
// proto.Unmarshal for a ScopeMessage arriving from another node: the
// value DecodeFast makes of b, or else m decoded from b by the generic
// decoder.
func (m *ScopeMessage) DecodeArborPayload(b []byte) (any, error) {
	if DecodeFast != nil {
		if v, ok := DecodeFast(b); ok {
			return v, nil
		}
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeArborPayloadFast is DecodeArborPayload's hand decoding alone:
// the value DecodeFast makes of b, or false. It does not use m: package
// cluster calls it on the type's zero value (a nil *ScopeMessage), so
// that a message decoded by hand costs no ScopeMessage, and makes one for
// DecodeArborPayload only when it reports false.
func (*ScopeMessage) DecodeArborPayloadFast(b []byte) (any, bool) {
	if DecodeFast == nil {
		return nil, false
	}
	return DecodeFast(b)
}

// ArborPayloadSize and AppendArborPayload are what package cluster uses
// in place of proto.Size and proto.MarshalOptions.MarshalAppend for a
// ScopeMessage without a body, whose changes are its unknown fields (as
// package registry sends them): the same bytes, in the generated code's
// order (fields by number, then the unknown fields), written without
// reflection. A ScopeMessage with a body is left to the generated code.
func (m *ScopeMessage) ArborPayloadSize() (int, bool) {
	if m.Body != nil {
		return 0, false
	}
	n := len(m.unknownFields)
	if m.Version != 0 {
		n += 1 + protowire.SizeVarint(uint64(m.Version))
	}
	if m.Scope != "" {
		n += 1 + protowire.SizeBytes(len(m.Scope))
	}
	if len(m.From) > 0 {
		n += 1 + protowire.SizeBytes(len(m.From))
	}
	if m.Session != 0 {
		n += 1 + protowire.SizeVarint(m.Session)
	}
	if m.Seq != 0 {
		n += 1 + protowire.SizeVarint(m.Seq)
	}
	return n, true
}

// AppendArborPayload appends m's encoding to b (see ArborPayloadSize).
func (m *ScopeMessage) AppendArborPayload(b []byte) []byte {
	if m.Version != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(m.Version))
	}
	if m.Scope != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, m.Scope)
	}
	if len(m.From) > 0 {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, m.From)
	}
	if m.Session != 0 {
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, m.Session)
	}
	if m.Seq != 0 {
		b = protowire.AppendTag(b, 5, protowire.VarintType)
		b = protowire.AppendVarint(b, m.Seq)
	}
	return append(b, m.unknownFields...)
}

// ChangesMessage is a ScopeMessage whose body is a Changes message
// already encoded: Header holds the other fields (and no body), Entries
// the encoded `changes` fields of the Changes. Package cluster encodes it
// through its ArborPayload methods as the ScopeMessage with that body,
// the bytes the generated code writes (the changes field, number 16,
// comes after the others), writing Entries straight into its buffer: a
// scope process sends the same entries to every peer without wrapping
// them in a buffer of their own first. It is read only while it is sent
// (package cluster encodes a message before its send returns), so the
// sender may reuse it and Entries afterwards.
type ChangesMessage struct {
	*ScopeMessage // the header; its Body is nil
	Entries       []byte
}

// changesField is ScopeMessage.changes's field number.
const changesField = 16

// ArborPayloadSize reports the size of m's encoding, or false when its
// header has a body.
func (m *ChangesMessage) ArborPayloadSize() (int, bool) {
	n, ok := m.ScopeMessage.ArborPayloadSize()
	if !ok {
		return 0, false
	}
	return n + protowire.SizeTag(changesField) + protowire.SizeBytes(len(m.Entries)), true
}

// AppendArborPayload appends m's encoding to b.
func (m *ChangesMessage) AppendArborPayload(b []byte) []byte {
	b = m.ScopeMessage.AppendArborPayload(b)
	b = protowire.AppendTag(b, changesField, protowire.BytesType)
	return protowire.AppendBytes(b, m.Entries)
}

package cluster

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// The codec of the hot envelopes, written by hand: a CallRequest or a
// CallReply in an Envelope in a Packet. The encoder writes the bytes
// proto.Marshal writes for that Packet (fields in number order, zero
// values left out), straight into a TCP frame; the decoder reads such a
// packet into flat fields that alias it, with no message tree and no
// string of its own, and gives up (false) on anything but the plain
// shape the encoder writes (a field twice, an unknown field, bad UTF-8 in
// a string, an invalid varint), which then takes the generated decoder's
// path with its errors and drops. So the wire format, and what a node
// does with any packet, are unchanged (TestHotEnvelopeMatchesGenerated,
// FuzzHotPacket).

// anyURLPrefix is the prefix of a type URL as anypb.New writes it.
const anyURLPrefix = "type.googleapis.com/"

// Field numbers of the hot envelopes (arbor.proto).
const (
	fieldPacketEnvelope     = 1
	fieldEnvVersion         = 1
	fieldEnvFrom            = 2
	fieldEnvSession         = 3
	fieldEnvCallRequest     = 14
	fieldEnvCallReply       = 15
	fieldReplyPayload       = 2
	fieldReplyError         = 3
	fieldRequestPayload     = 5
	fieldRequestTimeout     = 6
	fieldRequestDefaultTime = 9
)

func sizeTagBytes(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

func sizeTagVarint(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func sizeTagString(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return sizeTagBytes(num, len(s))
}

func appendTagVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendTagString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendTagLen(b []byte, num protowire.Number, n int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

func boolVarint(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func sizeNodeID(id *clusterpb.NodeID) int {
	return sizeTagString(1, id.GetName()) + sizeTagVarint(2, uint64(id.GetCreation()))
}

func appendNodeID(b []byte, id *clusterpb.NodeID) []byte {
	b = appendTagString(b, 1, id.GetName())
	return appendTagVarint(b, 2, uint64(id.GetCreation()))
}

func sizePID(p *clusterpb.PID) int {
	return sizeTagString(1, p.GetNode()) + sizeTagVarint(2, uint64(p.GetCreation())) +
		sizeTagVarint(3, uint64(p.GetIndex())) + sizeTagVarint(4, uint64(p.GetSerial()))
}

func appendPID(b []byte, p *clusterpb.PID) []byte {
	b = appendTagString(b, 1, p.GetNode())
	b = appendTagVarint(b, 2, uint64(p.GetCreation()))
	b = appendTagVarint(b, 3, uint64(p.GetIndex()))
	return appendTagVarint(b, 4, uint64(p.GetSerial()))
}

// sizeAny is the size of an Any's fields: a type URL and a value.
func sizeAny(url string, value int) int {
	n := sizeTagString(1, url)
	if value > 0 {
		n += sizeTagBytes(2, value)
	}
	return n
}

func sizeReason(r *clusterpb.Reason) int {
	return sizeTagVarint(1, uint64(int64(r.GetKind()))) + sizeTagString(2, r.GetText())
}

func appendReason(b []byte, r *clusterpb.Reason) []byte {
	b = appendTagVarint(b, 1, uint64(int64(r.GetKind())))
	return appendTagString(b, 2, r.GetText())
}

// hotValid reports whether every string of a hot envelope is valid UTF-8,
// as proto.Marshal requires of proto3 strings (it fails otherwise, and so
// must the envelope's encoding).
func hotValid(env *clusterpb.Envelope) bool {
	if !utf8.ValidString(env.GetFrom().GetName()) {
		return false
	}
	switch b := env.GetBody().(type) {
	case *clusterpb.Envelope_CallRequest:
		c := b.CallRequest
		return c != nil && utf8.ValidString(c.GetFrom().GetNode()) && utf8.ValidString(c.GetTo().GetNode()) &&
			utf8.ValidString(c.GetToName()) && utf8.ValidString(c.GetPayload().GetTypeUrl()) &&
			utf8.ValidString(c.GetTraceParent()) && utf8.ValidString(c.GetTraceState())
	case *clusterpb.Envelope_CallReply:
		r := b.CallReply
		if r == nil {
			return false
		}
		switch x := r.GetResult().(type) {
		case *clusterpb.CallReply_Payload:
			return x.Payload != nil && utf8.ValidString(x.Payload.GetTypeUrl())
		case *clusterpb.CallReply_Error:
			return x.Error != nil && utf8.ValidString(x.Error.GetText())
		case nil:
			return true
		}
	}
	return false
}

// hotEnvelopeSizes are the sizes of a hot envelope's nested messages,
// worked out once for its encoding.
type hotEnvelopeSizes struct {
	from, body, inner, inner2, env int
}

// sizeHotEnvelope sizes the Packet of a hot envelope, reporting false for
// any other envelope (or one whose encoding must fail), which the
// generated encoder then takes.
func sizeHotEnvelope(env *clusterpb.Envelope) (int, hotEnvelopeSizes, bool) {
	var s hotEnvelopeSizes
	if env == nil || !hotValid(env) {
		return 0, s, false
	}
	n := sizeTagVarint(fieldEnvVersion, uint64(env.GetVersion()))
	if env.From != nil {
		s.from = sizeNodeID(env.From)
		n += sizeTagBytes(fieldEnvFrom, s.from)
	}
	n += sizeTagVarint(fieldEnvSession, env.GetSession())
	switch b := env.GetBody().(type) {
	case *clusterpb.Envelope_CallRequest:
		c := b.CallRequest
		m := sizeTagVarint(1, c.GetCallId())
		if c.From != nil {
			s.inner = sizePID(c.From)
			m += sizeTagBytes(2, s.inner)
		}
		if c.To != nil {
			s.inner2 = sizePID(c.To)
			m += sizeTagBytes(3, s.inner2)
		}
		m += sizeTagString(4, c.GetToName())
		if c.Payload != nil {
			m += sizeTagBytes(fieldRequestPayload, sizeAny(c.Payload.GetTypeUrl(), len(c.Payload.GetValue())))
		}
		m += sizeTagVarint(fieldRequestTimeout, uint64(c.GetTimeoutMs()))
		m += sizeTagString(7, c.GetTraceParent()) + sizeTagString(8, c.GetTraceState())
		m += sizeTagVarint(fieldRequestDefaultTime, boolVarint(c.GetDefaultTimeout()))
		s.body = m
		n += sizeTagBytes(fieldEnvCallRequest, m)
	case *clusterpb.Envelope_CallReply:
		r := b.CallReply
		m := sizeTagVarint(1, r.GetCallId())
		switch x := r.GetResult().(type) {
		case *clusterpb.CallReply_Payload:
			s.inner = sizeAny(x.Payload.GetTypeUrl(), len(x.Payload.GetValue()))
			m += sizeTagBytes(fieldReplyPayload, s.inner)
		case *clusterpb.CallReply_Error:
			s.inner = sizeReason(x.Error)
			m += sizeTagBytes(fieldReplyError, s.inner)
		}
		s.body = m
		n += sizeTagBytes(fieldEnvCallReply, m)
	}
	s.env = n
	return sizeTagBytes(fieldPacketEnvelope, n), s, true
}

// appendHotEnvelope appends the Packet of a hot envelope that
// sizeHotEnvelope sized as s.
func appendHotEnvelope(b []byte, env *clusterpb.Envelope, s hotEnvelopeSizes) []byte {
	b = appendTagLen(b, fieldPacketEnvelope, s.env)
	b = appendTagVarint(b, fieldEnvVersion, uint64(env.GetVersion()))
	if env.From != nil {
		b = appendTagLen(b, fieldEnvFrom, s.from)
		b = appendNodeID(b, env.From)
	}
	b = appendTagVarint(b, fieldEnvSession, env.GetSession())
	switch x := env.GetBody().(type) {
	case *clusterpb.Envelope_CallRequest:
		c := x.CallRequest
		b = appendTagLen(b, fieldEnvCallRequest, s.body)
		b = appendTagVarint(b, 1, c.GetCallId())
		if c.From != nil {
			b = appendTagLen(b, 2, s.inner)
			b = appendPID(b, c.From)
		}
		if c.To != nil {
			b = appendTagLen(b, 3, s.inner2)
			b = appendPID(b, c.To)
		}
		b = appendTagString(b, 4, c.GetToName())
		if a := c.Payload; a != nil {
			b = appendTagLen(b, fieldRequestPayload, sizeAny(a.GetTypeUrl(), len(a.GetValue())))
			b = appendAny(b, a.GetTypeUrl(), a.GetValue())
		}
		b = appendTagVarint(b, fieldRequestTimeout, uint64(c.GetTimeoutMs()))
		b = appendTagString(b, 7, c.GetTraceParent())
		b = appendTagString(b, 8, c.GetTraceState())
		b = appendTagVarint(b, fieldRequestDefaultTime, boolVarint(c.GetDefaultTimeout()))
	case *clusterpb.Envelope_CallReply:
		r := x.CallReply
		b = appendTagLen(b, fieldEnvCallReply, s.body)
		b = appendTagVarint(b, 1, r.GetCallId())
		switch y := r.GetResult().(type) {
		case *clusterpb.CallReply_Payload:
			b = appendTagLen(b, fieldReplyPayload, s.inner)
			b = appendAny(b, y.Payload.GetTypeUrl(), y.Payload.GetValue())
		case *clusterpb.CallReply_Error:
			b = appendTagLen(b, fieldReplyError, s.inner)
			b = appendReason(b, y.Error)
		}
	}
	return b
}

func appendAny(b []byte, url string, value []byte) []byte {
	b = appendTagString(b, 1, url)
	if len(value) > 0 {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, value)
	}
	return b
}

// pidFields is a PID decoded by hand; node aliases the packet.
type pidFields struct {
	node                    []byte
	creation, index, serial uint32
	set                     bool // the PID was in the message (nil otherwise)
}

// anyFields is an Any decoded by hand; both alias the packet.
type anyFields struct {
	url, value []byte
	set        bool
}

// hotFields is a hot envelope decoded by hand (parseHotPacket). Its
// slices alias the packet.
type hotFields struct {
	version      uint32
	fromName     []byte
	fromCreation uint32
	session      uint64
	body         protowire.Number // fieldEnvCallRequest or fieldEnvCallReply

	callID uint64
	// CallRequest
	from, to                pidFields
	toName                  []byte
	payload                 anyFields // a request's, or a reply's payload
	timeoutMs               int64
	traceParent, traceState []byte
	defaultTimeout          bool
	// CallReply: result is fieldReplyPayload (in payload),
	// fieldReplyError (reasonKind and reasonText) or 0 for none.
	result     protowire.Number
	reasonKind int32
	reasonText []byte
}

// fieldSeen records that field num (< 64) was read, and reports false if
// it was read before: the generated decoder would merge or replace, which
// the hand decoder leaves to it.
func fieldSeen(seen *uint64, num protowire.Number) bool {
	bit := uint64(1) << uint(num)
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// fieldReader reads the fields of an encoded message for the hand
// decoders: varint and bytes fields numbered below 64, each at most once
// (fieldSeen). A field of another kind, a repeated one or one that does
// not parse ends the read: next reports false, and the decoder leaves the
// message to the generated one. It is a value, not a callback, so that a
// decoder's scan allocates nothing.
type fieldReader struct {
	b    []byte
	seen uint64
}

// more reports whether fields are left.
func (r *fieldReader) more() bool { return len(r.b) > 0 }

// next reads the next field: its number and type, and its value (v for a
// varint, raw, aliasing the message, for bytes).
func (r *fieldReader) next() (num protowire.Number, typ protowire.Type, v uint64, raw []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(r.b)
	if n < 0 || num >= 64 || !fieldSeen(&r.seen, num) {
		return 0, 0, 0, nil, false
	}
	r.b = r.b[n:]
	switch typ {
	case protowire.VarintType:
		v, n = protowire.ConsumeVarint(r.b)
	case protowire.BytesType:
		raw, n = protowire.ConsumeBytes(r.b)
	default:
		return 0, 0, 0, nil, false
	}
	if n < 0 {
		return 0, 0, 0, nil, false
	}
	r.b = r.b[n:]
	return num, typ, v, raw, true
}

// parseHotPacket decodes a packet that holds a hot envelope in the shape
// the encoder writes. It reports false for any other packet, which the
// generated decoder then reads (and drops if it is malformed).
func parseHotPacket(b []byte, f *hotFields) bool {
	env, ok := soleBytesField(b, fieldPacketEnvelope)
	return ok && parseHotEnvelope(env, f)
}

// soleBytesField returns the value of b's one field, a bytes field
// numbered num, or false when b holds anything else.
func soleBytesField(b []byte, num protowire.Number) ([]byte, bool) {
	got, typ, n := protowire.ConsumeTag(b)
	if n < 0 || got != num || typ != protowire.BytesType {
		return nil, false
	}
	v, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return nil, false
	}
	return v, true
}

func parseHotEnvelope(b []byte, f *hotFields) bool {
	*f = hotFields{}
	for r := (fieldReader{b: b}); r.more(); {
		num, typ, v, raw, ok := r.next()
		switch {
		case !ok:
			return false
		case typ == protowire.VarintType && num == fieldEnvVersion:
			f.version = uint32(v)
		case typ == protowire.VarintType && num == fieldEnvSession:
			f.session = v
		case typ == protowire.BytesType && num == fieldEnvFrom:
			ok = parseHotNodeID(raw, f)
		case typ == protowire.BytesType && (num == fieldEnvCallRequest || num == fieldEnvCallReply):
			if num == fieldEnvCallRequest {
				ok = f.body == 0 && parseHotRequest(raw, f)
			} else {
				ok = f.body == 0 && parseHotReply(raw, f)
			}
			f.body = num
		default:
			return false
		}
		if !ok {
			return false
		}
	}
	return f.body != 0
}

func parseHotNodeID(b []byte, f *hotFields) bool {
	for r := (fieldReader{b: b}); r.more(); {
		num, typ, v, raw, ok := r.next()
		switch {
		case ok && num == 1 && typ == protowire.BytesType && utf8.Valid(raw):
			f.fromName = raw
		case ok && num == 2 && typ == protowire.VarintType:
			f.fromCreation = uint32(v)
		default:
			return false
		}
	}
	return true
}

func parseHotPID(b []byte, p *pidFields) bool {
	p.set = true
	for r := (fieldReader{b: b}); r.more(); {
		num, typ, v, raw, ok := r.next()
		switch {
		case ok && num == 1 && typ == protowire.BytesType && utf8.Valid(raw):
			p.node = raw
		case ok && num == 2 && typ == protowire.VarintType:
			p.creation = uint32(v)
		case ok && num == 3 && typ == protowire.VarintType:
			p.index = uint32(v)
		case ok && num == 4 && typ == protowire.VarintType:
			p.serial = uint32(v)
		default:
			return false
		}
	}
	return true
}

func parseHotAny(b []byte, a *anyFields) bool {
	a.set = true
	for r := (fieldReader{b: b}); r.more(); {
		num, typ, _, raw, ok := r.next()
		switch {
		case ok && num == 1 && typ == protowire.BytesType && utf8.Valid(raw):
			a.url = raw
		case ok && num == 2 && typ == protowire.BytesType:
			a.value = raw
		default:
			return false
		}
	}
	return true
}

func parseHotRequest(b []byte, f *hotFields) bool {
	for r := (fieldReader{b: b}); r.more(); {
		num, typ, v, raw, ok := r.next()
		if !ok {
			return false
		}
		if typ == protowire.VarintType {
			switch num {
			case 1:
				f.callID = v
			case fieldRequestTimeout:
				f.timeoutMs = int64(v)
			case fieldRequestDefaultTime:
				f.defaultTimeout = v != 0
			default:
				return false
			}
			continue
		}
		switch num {
		case 2:
			ok = parseHotPID(raw, &f.from)
		case 3:
			ok = parseHotPID(raw, &f.to)
		case 4:
			ok, f.toName = utf8.Valid(raw), raw
		case fieldRequestPayload:
			ok = parseHotAny(raw, &f.payload)
		case 7:
			ok, f.traceParent = utf8.Valid(raw), raw
		case 8:
			ok, f.traceState = utf8.Valid(raw), raw
		default:
			ok = false
		}
		if !ok {
			return false
		}
	}
	return true
}

func parseHotReply(b []byte, f *hotFields) bool {
	for r := (fieldReader{b: b}); r.more(); {
		num, typ, v, raw, ok := r.next()
		switch {
		case ok && num == 1 && typ == protowire.VarintType:
			f.callID = v
		case ok && num == fieldReplyPayload && typ == protowire.BytesType && f.result == 0:
			f.result = num
			if !parseHotAny(raw, &f.payload) {
				return false
			}
		case ok && num == fieldReplyError && typ == protowire.BytesType && f.result == 0:
			f.result = num
			if !parseHotReason(raw, f) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func parseHotReason(b []byte, f *hotFields) bool {
	for r := (fieldReader{b: b}); r.more(); {
		num, typ, v, raw, ok := r.next()
		switch {
		case ok && num == 1 && typ == protowire.VarintType:
			f.reasonKind = int32(v)
		case ok && num == 2 && typ == protowire.BytesType && utf8.Valid(raw):
			f.reasonText = raw
		default:
			return false
		}
	}
	return true
}

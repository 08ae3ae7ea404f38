package cluster

import (
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/seam"
)

// protocolVersion is the version every Envelope carries. A node drops
// envelopes of any other version.
//
// History: 3, Hello answers name the Hello they answer; 4, packets on
// Arbor's own stream (ADR 0003), and Hellos name the node they are meant
// for (HelloRefused). Within 4, user messages gained a cast flag: an
// optional field a node that predates it skips (it then delivers a cast
// as a plain message), so the version stayed; likewise Hellos gained the
// sender's heartbeat interval (a node that predates it skips it, and a
// Hello without it is judged by the receiver's own timeout). arbor.proto and
// docs/clustering.md state it too (TestProtocolVersionDocumented).
const protocolVersion = 4

// RemoteError is an exit reason that crossed nodes as text: an error that is
// none of the reasons Arbor encodes by kind (Normal, Shutdown, Killed,
// NoProc, NoConnection, ShutdownError, PanicError).
type RemoteError struct {
	Text string
}

func (e *RemoteError) Error() string { return e.Text }

func encodePID(p actor.PID) *clusterpb.PID {
	if p.IsZero() {
		return nil
	}
	i, s := p.ID()
	return &clusterpb.PID{Node: p.NodeName(), Creation: p.Creation(), Index: i, Serial: s}
}

// decodePID returns the zero PID for a missing or nameless PID.
func decodePID(p *clusterpb.PID) actor.PID {
	if p == nil || p.GetNode() == "" {
		return actor.PID{}
	}
	return rt.NewPID(p.GetNode(), p.GetCreation(), p.GetIndex(), p.GetSerial())
}

func encodeRef(r actor.Ref) *clusterpb.Ref {
	if r.IsZero() {
		return nil
	}
	n, c, id := rt.RefID(r)
	return &clusterpb.Ref{Node: n, Creation: c, Id: id}
}

func decodeRef(r *clusterpb.Ref) actor.Ref {
	if r == nil || r.GetNode() == "" {
		return actor.Ref{}
	}
	return rt.NewRef(r.GetNode(), r.GetCreation(), r.GetId())
}

// maxReasonText bounds the text of an exit reason that crosses nodes: a
// reason is carried by exit signals and call errors, which must never be
// too large to send.
const maxReasonText = 64 << 10

// reasonText cuts s to maxReasonText bytes (on a rune boundary), saying so.
func reasonText(s string) string {
	if len(s) <= maxReasonText {
		return s
	}
	const more = " [reason text cut at 64 KiB]"
	cut := maxReasonText - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

// encodeReason maps an exit reason to its wire form. Reasons with no kind of
// their own travel as text, cut to 64 KiB.
func encodeReason(err error) *clusterpb.Reason {
	var (
		se *actor.ShutdownError
		pe *actor.PanicError
	)
	switch {
	case err == nil || err == actor.Normal:
		return &clusterpb.Reason{Kind: clusterpb.ReasonKind_REASON_KIND_NORMAL}
	case err == actor.Shutdown:
		return &clusterpb.Reason{Kind: clusterpb.ReasonKind_REASON_KIND_SHUTDOWN}
	case err == actor.Kill:
		return &clusterpb.Reason{Kind: clusterpb.ReasonKind_REASON_KIND_KILL}
	case err == actor.Killed:
		return &clusterpb.Reason{Kind: clusterpb.ReasonKind_REASON_KIND_KILLED}
	case err == actor.NoProc:
		return &clusterpb.Reason{Kind: clusterpb.ReasonKind_REASON_KIND_NOPROC}
	case err == actor.NoConnection:
		return &clusterpb.Reason{Kind: clusterpb.ReasonKind_REASON_KIND_NOCONNECTION}
	case errors.As(err, &se):
		return &clusterpb.Reason{Kind: clusterpb.ReasonKind_REASON_KIND_SHUTDOWN_WITH_REASON, Text: reasonText(fmt.Sprint(se.Reason))}
	case errors.As(err, &pe):
		return &clusterpb.Reason{Kind: clusterpb.ReasonKind_REASON_KIND_PANIC, Text: reasonText(fmt.Sprint(pe.Value))}
	}
	return &clusterpb.Reason{Kind: clusterpb.ReasonKind_REASON_KIND_OTHER, Text: reasonText(err.Error())}
}

// decodeReason maps a wire reason back to an error. A missing or unknown
// kind decodes as a *RemoteError, never as Normal, so a garbled reason
// cannot pass for a clean exit.
func decodeReason(r *clusterpb.Reason) error {
	switch r.GetKind() {
	case clusterpb.ReasonKind_REASON_KIND_NORMAL:
		return actor.Normal
	case clusterpb.ReasonKind_REASON_KIND_SHUTDOWN:
		return actor.Shutdown
	case clusterpb.ReasonKind_REASON_KIND_KILL:
		return actor.Kill
	case clusterpb.ReasonKind_REASON_KIND_KILLED:
		return actor.Killed
	case clusterpb.ReasonKind_REASON_KIND_NOPROC:
		return actor.NoProc
	case clusterpb.ReasonKind_REASON_KIND_NOCONNECTION:
		return actor.NoConnection
	case clusterpb.ReasonKind_REASON_KIND_SHUTDOWN_WITH_REASON:
		return &actor.ShutdownError{Reason: r.GetText()}
	case clusterpb.ReasonKind_REASON_KIND_PANIC:
		return &actor.PanicError{Value: r.GetText()}
	case clusterpb.ReasonKind_REASON_KIND_OTHER:
		return &RemoteError{Text: r.GetText()}
	}
	return &RemoteError{Text: fmt.Sprintf("unknown reason kind %d: %s", r.GetKind(), r.GetText())}
}

// encodePayload wraps a user message. It returns ErrNotProtoMessage for a
// message that is not a proto.Message and ErrTooLarge for one that encodes
// to more than MaxMessageBytes.
func encodePayload(msg any) (*anypb.Any, error) {
	a := &anypb.Any{}
	if err := encodeAny(a, msg); err != nil {
		return nil, err
	}
	return a, nil
}

// encodeAny wraps a user message into a, as anypb.New does (with a type
// URL from typeURL's cache), with encodePayload's errors.
func encodeAny(a *anypb.Any, msg any) error {
	pm, ok := msg.(proto.Message)
	if !ok || pm == nil {
		return fmt.Errorf("%w: %T", ErrNotProtoMessage, msg)
	}
	b, err := proto.MarshalOptions{}.Marshal(pm)
	if err != nil {
		return fmt.Errorf("encode %T: %w", msg, err)
	}
	if len(b) > MaxMessageBytes {
		return fmt.Errorf("%w: %T is %d bytes", ErrTooLarge, msg, len(b))
	}
	a.TypeUrl, a.Value = typeURL(pm.ProtoReflect().Descriptor().FullName()), b
	return nil
}

// callRequestOut is the envelope of one call's request, its parts made in
// one allocation (its payload by encodeAny).
type callRequestOut struct {
	env      clusterpb.Envelope
	body     clusterpb.Envelope_CallRequest
	req      clusterpb.CallRequest
	from, to clusterpb.PID
	payload  anypb.Any
}

// envelope fills in the request's envelope and returns it, for t.envelope
// to stamp.
func (o *callRequestOut) envelope(id uint64, from, to actor.PID, toName string, timeoutMs int64, defaultTimeout bool, traceParent, traceState string) *clusterpb.Envelope {
	o.req = clusterpb.CallRequest{
		CallId: id, From: fillPID(&o.from, from), To: fillPID(&o.to, to), ToName: toName, Payload: &o.payload,
		TimeoutMs: timeoutMs, DefaultTimeout: defaultTimeout, TraceParent: traceParent, TraceState: traceState,
	}
	o.body.CallRequest = &o.req
	o.env.Body = &o.body
	return &o.env
}

// fillPID is encodePID into w: it returns w, or nil for the zero PID.
func fillPID(w *clusterpb.PID, p actor.PID) *clusterpb.PID {
	if p.IsZero() {
		return nil
	}
	i, s := p.ID()
	w.Node, w.Creation, w.Index, w.Serial = p.NodeName(), p.Creation(), i, s
	return w
}

// callReplyOut is the envelope of one call's reply, its parts made in one
// allocation.
type callReplyOut struct {
	env     clusterpb.Envelope
	body    clusterpb.Envelope_CallReply
	reply   clusterpb.CallReply
	payload clusterpb.CallReply_Payload
	failed  clusterpb.CallReply_Error
	value   anypb.Any
}

// typeURLs caches the type URL of each message type that crossed nodes
// (copy on write; it only holds types linked into this binary, so it stays
// bounded).
var typeURLs atomic.Pointer[map[protoreflect.FullName]string]

// typeURL returns the type URL anypb.New gives a message of type name,
// without a string of its own once the type is cached.
func typeURL(name protoreflect.FullName) string {
	cache := typeURLs.Load()
	if cache != nil {
		if u, ok := (*cache)[name]; ok {
			return u
		}
	}
	u := anyURLPrefix + string(name)
	for {
		next := make(map[protoreflect.FullName]string, 1)
		if cache != nil {
			maps.Copy(next, *cache)
		}
		next[name] = u
		if typeURLs.CompareAndSwap(cache, &next) {
			return u
		}
		cache = typeURLs.Load()
	}
}

// payloadMarshaler is a message type of Arbor's own that can write its
// encoding without reflection (package registry's replication messages):
// ArborPayloadSize reports its size, or false to leave it to the generic
// marshaller; AppendArborPayload appends the bytes proto.Marshal would
// write.
type payloadMarshaler interface {
	ArborPayloadSize() (int, bool)
	AppendArborPayload(b []byte) []byte
}

// userMessage is a UserMessage about to be encoded, with its sizes
// worked out (makeUserMessage): its record can be written straight into
// a peer's users buffer behind its length, with no copy of its own.
type userMessage struct {
	to                      actor.PID
	toName                  string
	msg                     proto.Message
	typ                     string           // msg's full name
	custom                  payloadMarshaler // msg, when it writes its own encoding
	payload                 int              // the size of msg's encoding
	cast                    bool
	traceParent, traceState string
	size                    int // the size of the record
}

// makeUserMessage sizes a UserMessage for a PID, or for the name toName,
// carrying msg (with the cast flag if cast is set, and the sender's span
// in W3C form if traceParent is set).
func makeUserMessage(to actor.PID, toName string, msg proto.Message, cast bool, traceParent, traceState string) userMessage {
	u := userMessage{to: to, toName: toName, msg: msg, cast: cast, traceParent: traceParent, traceState: traceState,
		typ: string(msg.ProtoReflect().Descriptor().FullName())}
	if pm, ok := msg.(payloadMarshaler); ok {
		if n, ok := pm.ArborPayloadSize(); ok {
			u.custom, u.payload = pm, n
		}
	}
	if u.custom == nil {
		u.payload = proto.Size(msg)
	}
	n := 0
	if !to.IsZero() {
		i, s := to.ID()
		n += 3 + protowire.SizeVarint(uint64(to.Creation())) + protowire.SizeVarint(uint64(i)) + protowire.SizeVarint(uint64(s))
	}
	if toName != "" {
		n += 1 + protowire.SizeBytes(len(toName))
	}
	if cast {
		n += 2
	}
	n += 1 + protowire.SizeBytes(len(u.typ))
	n += 1 + protowire.SizeBytes(u.payload)
	if traceParent != "" {
		n += 1 + protowire.SizeBytes(len(traceParent))
		if traceState != "" {
			n += 1 + protowire.SizeBytes(len(traceState))
		}
	}
	u.size = n
	return u
}

// append appends the record (the encoding of the UserMessage, without
// version or session) to b; the payload is encoded straight into b. It
// returns an error, and b as it was, if the message cannot be encoded or
// its encoding is not the size makeUserMessage found (it changed while
// it was being sent).
func (u *userMessage) append(b []byte) ([]byte, error) {
	in, start := b, len(b)
	if !u.to.IsZero() {
		i, s := u.to.ID()
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(u.to.Creation()))
		b = protowire.AppendTag(b, 5, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(i))
		b = protowire.AppendTag(b, 6, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(s))
	}
	if u.toName != "" {
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendString(b, u.toName)
	}
	if u.cast {
		b = protowire.AppendTag(b, 10, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendString(b, u.typ)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(u.payload))
	if u.custom != nil {
		b = u.custom.AppendArborPayload(b)
	} else {
		var err error
		b, err = proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, u.msg)
		if err != nil {
			return in, fmt.Errorf("encode %T: %w", u.msg, err)
		}
	}
	if u.traceParent != "" {
		b = protowire.AppendTag(b, 11, protowire.BytesType)
		b = protowire.AppendString(b, u.traceParent)
		if u.traceState != "" {
			b = protowire.AppendTag(b, 12, protowire.BytesType)
			b = protowire.AppendString(b, u.traceState)
		}
	}
	if n := len(b) - start; n != u.size {
		return in, fmt.Errorf("encode %T: %d bytes, sized as %d (was it changed while being sent?)", u.msg, n, u.size)
	}
	return b, nil
}

// appendUserMessage appends the encoding of a UserMessage (without version
// or session) to a message for a PID, or for the name toName, to b, with
// the cast flag if cast is set (a plain message carries no flag). It
// returns an error if msg cannot be encoded.
func appendUserMessage(b []byte, to actor.PID, toName string, msg proto.Message, cast bool) ([]byte, error) {
	u := makeUserMessage(to, toName, msg, cast, "", "")
	return u.append(b)
}

// userFields is a UserMessage decoded from a UserBatch; its slices alias
// the batch.
type userFields struct {
	toCreation, toIndex, toSerial uint32
	toName, typ, payload          []byte
	cast                          bool
	traceParent, traceState       []byte // the sender's span, W3C form
}

// parseUserMessage decodes the fields of one encoded UserMessage without
// copying. It returns ErrMalformed for bytes that do not parse.
func parseUserMessage(b []byte) (userFields, error) {
	var f userFields
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return f, fmt.Errorf("%w: user message: %v", ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case typ == protowire.VarintType && (num >= 4 && num <= 6 || num == 10):
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return f, fmt.Errorf("%w: user message: %v", ErrMalformed, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 4:
				f.toCreation = uint32(v)
			case 5:
				f.toIndex = uint32(v)
			case 6:
				f.toSerial = uint32(v)
			case 10:
				f.cast = v != 0
			}
		case typ == protowire.BytesType && (num >= 7 && num <= 9 || num == 11 || num == 12):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return f, fmt.Errorf("%w: user message: %v", ErrMalformed, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 7:
				f.toName = v
			case 8:
				f.typ = v
			case 9:
				f.payload = v
			case 11:
				f.traceParent = v
			case 12:
				f.traceState = v
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return f, fmt.Errorf("%w: user message: %v", ErrMalformed, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return f, nil
}

// decodePayload unwraps a user message. It returns ErrMalformed for a
// missing payload, an unknown type or bytes that do not decode.
func decodePayload(a *anypb.Any) (proto.Message, error) {
	if a == nil {
		return nil, fmt.Errorf("%w: no payload", ErrMalformed)
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return nil, fmt.Errorf("%w: payload %s: %v", ErrMalformed, a.GetTypeUrl(), err)
	}
	return m, nil
}

// The wire's SignalKind numbers seam.SignalKind's kinds that cross nodes
// as they are (TestSignalKindsMatchTheWire checks it), so a kind is written
// and read without a table.

func encodeSignalKind(k seam.SignalKind) clusterpb.SignalKind {
	if !k.Remote() {
		return clusterpb.SignalKind_SIGNAL_KIND_UNSPECIFIED
	}
	return clusterpb.SignalKind(k)
}

// decodeSignalKind reports false for a kind that does not cross nodes
// (unspecified, local-only or unknown).
func decodeSignalKind(k clusterpb.SignalKind) (seam.SignalKind, bool) {
	if k < 0 || k > 255 || !seam.SignalKind(k).Remote() {
		return 0, false
	}
	return seam.SignalKind(k), true
}

// checkEnvelope validates the parts of an envelope every handler relies on.
// It returns ErrVersion for another protocol version and ErrMalformed for a
// missing sender or body.
func checkEnvelope(env *clusterpb.Envelope) error {
	if env == nil {
		return fmt.Errorf("%w: nil envelope", ErrMalformed)
	}
	if env.GetVersion() != protocolVersion {
		return fmt.Errorf("%w: %d", ErrVersion, env.GetVersion())
	}
	if env.GetFrom().GetName() == "" || env.GetFrom().GetCreation() == 0 {
		return fmt.Errorf("%w: no sender node", ErrMalformed)
	}
	if _, _, err := splitNodeName(env.GetFrom().GetName()); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if env.GetBody() == nil {
		return fmt.Errorf("%w: no body", ErrMalformed)
	}
	return nil
}

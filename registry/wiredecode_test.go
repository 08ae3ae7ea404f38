package registry

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// genericDecode is the reference: the generated code's decoder, then
// decodeMessage.
func genericDecode(b []byte, scope, self string) (decodedMessage, error, error) {
	var m registrypb.ScopeMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		return decodedMessage{}, err, nil
	}
	d, err := decodeMessage(&m, scope, self)
	return d, nil, err
}

// sameDecoded reports how two decoded messages differ, or nil.
func sameDecoded(a, b decodedMessage) error {
	if a.from != b.from || a.node != b.node || a.session != b.session || a.seq != b.seq || a.kind != b.kind ||
		a.ask != b.ask || a.start != b.start || a.last != b.last || len(a.names) != len(b.names) ||
		len(a.members) != len(b.members) || len(a.changes) != len(b.changes) {
		return fmt.Errorf("header or lengths differ: %+v and %+v", a, b)
	}
	sameMeta := func(x, y any) bool {
		x, y = metaValue(x), metaValue(y) // the hand decoder's is decoded when read
		return reflect.TypeOf(x) == reflect.TypeOf(y) && metaEqual(x, y)
	}
	for i, x := range a.changes {
		y := b.changes[i]
		if x.kind != y.kind || x.key != y.key || x.pid != y.pid || !proto.Equal(x.reason, y.reason) ||
			x.time != y.time || !sameMeta(x.meta, y.meta) {
			return fmt.Errorf("change %d: %+v and %+v", i, x, y)
		}
		for _, c := range []change{x, y} {
			if err := claimOfChange(c); err != nil {
				return fmt.Errorf("change %d: %w", i, err)
			}
		}
	}
	return nil
}

// claimOfChange checks that the claim a change came with (if any) is the
// change's registration.
func claimOfChange(c change) error {
	if c.claim == nil {
		return nil
	}
	e := c.claim.reg()
	if c.kind != chRegistered || c.claim.shown.key != c.key || e.pid != c.pid || e.time != c.time || e.meta != c.meta ||
		c.claim.gen != 0 || c.claim.hidden {
		return fmt.Errorf("came with the claim %+v, not its own", c.claim)
	}
	return nil
}

// checkBothWays decodes b by hand and with the generic decoder and fails
// unless both give the same (fast reports whether the hand decoder must
// have taken it).
func checkBothWays(t testing.TB, b []byte, fast bool) {
	t.Helper()
	const scope, self = "s", "self@127.0.0.1:2"
	want, perr, derr := genericDecode(b, scope, self)
	fm, ok := decodeFast(b)
	if fast && !ok {
		t.Fatalf("the hand decoder left a plain Changes message to the generic one")
	}
	v, err := new(registrypb.ScopeMessage).DecodeArborPayload(b)
	if (err != nil) != (perr != nil) {
		t.Fatalf("DecodeArborPayload: %v; the generated code: %v", err, perr)
	}
	if !ok {
		if _, isFast := v.(*fastChanges); isFast {
			t.Fatalf("DecodeArborPayload decoded by hand what decodeFast refused")
		}
		return
	}
	if perr != nil {
		t.Fatalf("the hand decoder took bytes the generated code refuses (%v)", perr)
	}
	got, err := decodeWire(fm, scope, self)
	if (err != nil) != (derr != nil) {
		t.Fatalf("hand decoder: %v; generic: %v", err, derr)
	}
	if err != nil {
		return
	}
	if err := sameDecoded(got, want); err != nil {
		t.Fatal(err)
	}
}

// TestFastDecodeMatchesGenerated: the hand decoder of the receivers
// (wiredecode.go) takes every change kind, reason and kind of metadata
// as written by the generated code and by the hand encoder, and decodes
// them as proto.Unmarshal and decodeMessage do; messages it leaves to the
// generic decoder (other bodies, repeated or unknown fields, bad data)
// get the generic decoder's answer.
func TestFastDecodeMatchesGenerated(t *testing.T) {
	node := actor.NewNode(actor.WithNodeName("x@127.0.0.1:9"))
	defer func() { _ = node.Stop(context.Background()) }()
	pid, err := node.Spawn(idle{})
	if err != nil {
		t.Fatal(err)
	}
	pidb := cluster.MarshalPID(pid)
	given, err := anypb.New(wrapperspb.Int64(-3))
	if err != nil {
		t.Fatal(err)
	}
	unknownType := &anypb.Any{TypeUrl: "type.googleapis.com/no.such.Type", Value: []byte{8, 1}}
	badValue := &anypb.Any{TypeUrl: "type.googleapis.com/google.protobuf.StringValue", Value: []byte{0xff}}
	reasons := []Reason{Normal{}, ProcessExit{Err: actor.Killed}, ProcessExit{Err: errExitUnknown}, ProcessExit{},
		ConflictResolution{}, Undefined{}}
	metas := []any{nil, wrapperspb.String("meta"), wrapperspb.String(""), given, &anypb.Any{}, unknownType, badValue,
		wrapperspb.Bytes(bytes.Repeat([]byte{7}, 300))}
	header := func(body []byte) []byte {
		m := &registrypb.ScopeMessage{Version: protocolVersion, Scope: "s", From: pidb, Session: 3, Seq: 4}
		m.ProtoReflect().SetUnknown(protoreflect.RawFields(changesBody(body)))
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hand, want := encodeEveryChange(t, pid, reasons, metas)
	// Every change alone, as the generated code writes it, then all of
	// them in one message as the hand encoder writes them (what sendOut
	// sends).
	for i, c := range want.Changes {
		b, err := proto.Marshal(&registrypb.ScopeMessage{Version: protocolVersion, Scope: "s", From: pidb, Session: 3, Seq: 4,
			Body: &registrypb.ScopeMessage_Changes{Changes: &registrypb.Changes{Changes: []*registrypb.Change{c}}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprint("generated/", i), func(t *testing.T) { checkBothWays(t, b, true) })
	}
	all := header(hand)
	checkBothWays(t, all, true)
	got, _ := decodeFast(all)
	if len(got.d.changes) != len(want.Changes) {
		t.Fatalf("decoded %d changes, want %d", len(got.d.changes), len(want.Changes))
	}
	if m := metaValue(got.d.changes[8].meta); !proto.Equal(m.(proto.Message), wrapperspb.String("meta")) {
		t.Fatalf("metadata decoded as %v", m)
	}
	if m := metaValue(got.d.changes[40].meta); !proto.Equal(m.(proto.Message), unknownType) {
		t.Fatalf("metadata of an unknown type decoded as %v, want the Any", m)
	}

	// What the hand decoder leaves to the generic one, or refuses, with
	// the generic decoder's answer.
	var enc changeEncoder
	one := enc.appendKeyChange(nil, fChangeUnregistered, "name", pid, ConflictResolution{})
	field := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	unreg := func(body []byte) []byte { return field(fChangesChanges, field(fChangeUnregistered, body)) }
	others := map[string][]byte{
		"empty":                 {},
		"no body":               mustMarshal(t, &registrypb.ScopeMessage{Version: 1, Scope: "s", From: pidb, Session: 3, Seq: 4}),
		"discover":              mustMarshal(t, &registrypb.ScopeMessage{Version: 1, Scope: "s", From: pidb, Body: &registrypb.ScopeMessage_Discover{Discover: &registrypb.Discover{Ask: 2}}}),
		"single registered":     mustMarshal(t, &registrypb.ScopeMessage{Version: 1, Scope: "s", From: pidb, Session: 3, Seq: 4, Body: &registrypb.ScopeMessage_Registered{Registered: &registrypb.Registered{Entry: &registrypb.Name{Name: "n", Pid: pidb}}}}),
		"changes twice":         cat(header(one), changesBody(one)),
		"version twice":         cat(header(one), protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)),
		"unknown field":         cat(header(one), field(9, []byte("x"))),
		"wrong wire type":       cat(header(one), protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 1)),
		"two oneof members":     header(field(fChangesChanges, cat(field(fChangeUnregistered, cat(field(fKeyName, []byte("a")), field(fKeyPID, pidb))), field(fChangeLeft, cat(field(fKeyName, []byte("b")), field(fKeyPID, pidb)))))),
		"empty change":          header(field(fChangesChanges, nil)),
		"name twice":            header(unreg(cat(field(fKeyName, []byte("a")), field(fKeyName, []byte("b")), field(fKeyPID, pidb)))),
		"no name":               header(unreg(field(fKeyPID, pidb))),
		"no pid":                header(unreg(field(fKeyName, []byte("a")))),
		"bad utf-8":             header(unreg(cat(field(fKeyName, []byte{0xff}), field(fKeyPID, pidb)))),
		"pid of another node":   header(unreg(cat(field(fKeyName, []byte("a")), field(fKeyPID, cluster.MarshalPID(rt.NewPID("o@127.0.0.1:3", 1, 2, 3)))))),
		"reason twice":          header(unreg(cat(field(fKeyName, []byte("a")), field(fKeyPID, pidb), field(fKeyReason, nil), field(fKeyReason, nil)))),
		"truncated":             header(one)[:len(header(one))-1],
		"wrong version":         header(one)[2:],
		"registered no entry":   header(field(fChangesChanges, field(fChangeRegistered, field(fEntryReason, nil)))),
		"entry empty name":      header(field(fChangesChanges, field(fChangeRegistered, field(fEntry, field(fNamePID, pidb))))),
		"meta with extra field": header(field(fChangesChanges, field(fChangeRegistered, field(fEntry, cat(field(fNameName, []byte("n")), field(fNamePID, pidb), field(fNameMeta, field(5, nil))))))),
	}
	for name, b := range others {
		t.Run(name, func(t *testing.T) { checkBothWays(t, b, false) })
	}
	// From this node, of another scope, without a session: refused both ways.
	self := cluster.MarshalPID(rt.NewPID("self@127.0.0.1:2", 1, 2, 3))
	for _, m := range []*registrypb.ScopeMessage{
		{Version: 1, Scope: "s", From: self, Session: 3, Seq: 4},
		{Version: 1, Scope: "t", From: pidb, Session: 3, Seq: 4},
		{Version: 2, Scope: "s", From: pidb, Session: 3, Seq: 4},
		{Version: 1, Scope: "s", From: pidb, Seq: 4},
		{Version: 1, Scope: "s", From: pidb, Session: 3},
	} {
		m.ProtoReflect().SetUnknown(protoreflect.RawFields(changesBody(nil)))
		b := mustMarshal(t, m)
		if _, err := decodeWire(mustFast(t, b), "s", "self@127.0.0.1:2"); err == nil {
			t.Errorf("accepted %v", m)
		}
		checkBothWays(t, b, true)
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// registrations encodes n Registered changes of pid, named "n<i>" for i
// from first on, with metadata "meta-of-<i>" when withMeta.
func registrations(tb testing.TB, pid actor.PID, first, n int, withMeta bool) []byte {
	tb.Helper()
	var (
		enc  changeEncoder
		body []byte
	)
	for i := first; i < first+n; i++ {
		var meta any
		if withMeta {
			meta = wrapperspb.String(fmt.Sprint("meta-of-", i))
		}
		var err error
		if body, err = enc.appendEntryChange(body, fChangeRegistered, fmt.Sprint("n", i), pid, meta, 5, Normal{}); err != nil {
			tb.Fatal(err)
		}
	}
	return body
}

// scopeChanges encodes the ScopeMessage of scope s from pid (session 3,
// seq 4) whose changes are body.
func scopeChanges(tb testing.TB, pid actor.PID, body []byte) []byte {
	tb.Helper()
	m := &registrypb.ScopeMessage{Version: protocolVersion, Scope: "s", From: cluster.MarshalPID(pid), Session: 3, Seq: 4}
	m.ProtoReflect().SetUnknown(protoreflect.RawFields(changesBody(body)))
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustFast(t *testing.T, b []byte) *fastChanges {
	t.Helper()
	m, ok := decodeFast(b)
	if !ok {
		t.Fatalf("not decoded by hand: %x", b)
	}
	return m
}

// TestScopeMessageMarshalMatchesGenerated: what package cluster writes
// for a ScopeMessage through its ArborPayload methods (the changes as
// unknown fields, as sendOut sends them) is what proto.Marshal writes;
// a message with a body is left to the generated code.
func TestScopeMessageMarshalMatchesGenerated(t *testing.T) {
	var enc changeEncoder
	pid := rt.NewPID("x@127.0.0.1:9", 1, 2, 3)
	body := enc.appendKeyChange(nil, fChangeUnregistered, "n", pid, Normal{})
	for _, m := range []*registrypb.ScopeMessage{
		{},
		{Version: 1, Scope: "s", From: cluster.MarshalPID(pid), Session: 1 << 40, Seq: 3},
		{Version: 1 << 31, Seq: 1},
		{Scope: "ß", Session: 1},
	} {
		for _, unknown := range [][]byte{nil, changesBody(nil), changesBody(body)} {
			m.ProtoReflect().SetUnknown(protoreflect.RawFields(unknown))
			want := mustMarshal(t, m)
			n, ok := m.ArborPayloadSize()
			if !ok || n != len(want) || n != proto.Size(m) {
				t.Fatalf("%v: size %d, %v; want %d", m, n, ok, len(want))
			}
			if got := m.AppendArborPayload([]byte{9}); !bytes.Equal(got, append([]byte{9}, want...)) {
				t.Fatalf("%v: encoded as %x, want %x", m, got[1:], want)
			}
		}
	}
	// What sendOut sends: a header and the entries, written after it.
	for _, entries := range [][]byte{nil, body, append(slices.Clone(body), body...)} {
		h := &registrypb.ScopeMessage{Version: 1, Scope: "s", From: cluster.MarshalPID(pid), Session: 1 << 40, Seq: 3}
		m := &registrypb.ChangesMessage{ScopeMessage: h, Entries: entries}
		var changes registrypb.Changes
		if err := proto.Unmarshal(entries, &changes); err != nil {
			t.Fatal(err)
		}
		want := mustMarshal(t, &registrypb.ScopeMessage{Version: 1, Scope: "s", From: cluster.MarshalPID(pid), Session: 1 << 40, Seq: 3,
			Body: &registrypb.ScopeMessage_Changes{Changes: &changes}})
		if n, ok := m.ArborPayloadSize(); !ok || n != len(want) {
			t.Fatalf("changes %x: size %d, %v; want %d", entries, n, ok, len(want))
		}
		if got := m.AppendArborPayload([]byte{9}); !bytes.Equal(got, append([]byte{9}, want...)) {
			t.Fatalf("changes %x: encoded as %x, want %x", entries, got[1:], want)
		}
	}
	withBody := &registrypb.ScopeMessage{Version: 1, Body: &registrypb.ScopeMessage_Discover{Discover: &registrypb.Discover{Ask: 1}}}
	if _, ok := withBody.ArborPayloadSize(); ok {
		t.Fatal("a message with a body is not left to the generated code")
	}
	if _, ok := (&registrypb.ChangesMessage{ScopeMessage: withBody}).ArborPayloadSize(); ok {
		t.Fatal("a ChangesMessage whose header has a body is not left to the generated code")
	}
}

// TestFastDecodeReasonOfAKindAllocatesNothing: a Reason that is a kind
// alone (Normal, ConflictResolution, Undefined: nearly every change) is
// decoded to a shared value, with no allocation; one with an exit reason
// still decodes whole.
func TestFastDecodeReasonOfAKindAllocatesNothing(t *testing.T) {
	for k := range registrypb.Reason_Kind_name {
		b, err := proto.Marshal(&registrypb.Reason{Kind: registrypb.Reason_Kind(k)})
		if err != nil {
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(100, func() {
			if _, ok := decodeFastReason(b); !ok {
				t.Fatal("not decoded")
			}
		}); allocs != 0 {
			t.Errorf("kind %d: %v allocations per decode, want 0", k, allocs)
		}
	}
	want := &registrypb.Reason{Kind: registrypb.Reason_Kind(1), Exit: "boom", ExitFollows: true}
	b, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := decodeFastReason(b)
	if !ok || !proto.Equal(got, want) {
		t.Fatalf("decoded %v (%v), want %v", got, ok, want)
	}
}

// TestFastDecodeReusesChangesAcrossCollections: the slice of changes a
// released message leaves is reused by the next message decoded, even
// after garbage collections in between (a sync.Pool was emptied by them,
// and a receiver collects every few milliseconds at full speed, so the
// slice was allocated anew for most messages).
func TestFastDecodeReusesChangesAcrossCollections(t *testing.T) {
	pid := RemotePID("b@127.0.0.1:1", 1, 2, 3)
	b := scopeChanges(t, pid, registrations(t, pid, 0, 64, false))
	seen := map[*change]bool{}  // the backing arrays of the slices handed out
	for range fastFreeLen + 2 { // a value recycled from earlier tests may be too small
		d := mustFast(t, b)
		seen[unsafe.SliceData(d.d.changes)] = true
		d.release()
	}
	var fresh int
	for range 20 {
		runtime.GC()
		runtime.GC()
		d := mustFast(t, b)
		if len(d.d.changes) != 64 {
			t.Fatalf("decoded %d changes, want 64", len(d.d.changes))
		}
		if p := unsafe.SliceData(d.d.changes); !seen[p] {
			fresh++
			seen[p] = true
		}
		d.release()
	}
	if fresh > 2 {
		t.Fatalf("the changes' slice was allocated again in %d of 20 decodes after a collection", fresh)
	}
}

// TestFastDecodeKeepsTheChangesOfAFullFlush: the slice of changes of a
// message as large as a held flush (maxHeldChanges of changes, and the
// round that passed it) is given back for the next message, as a short
// one's is: with 64 writers most messages are that large, and each
// allocated its slice again (a sixth of a receiver's allocations).
func TestFastDecodeKeepsTheChangesOfAFullFlush(t *testing.T) {
	pid := RemotePID("b@127.0.0.1:1", 1, 2, 3)
	var body []byte
	for i := 0; len(body) < maxHeldChanges+64*60; i += 64 {
		body = append(body, registrations(t, pid, i, 64, false)...)
	}
	b := scopeChanges(t, pid, body)
	d := mustFast(t, b)
	n := len(d.d.changes)
	d.release()
	for range 3 {
		d := mustFast(t, b)
		first := unsafe.SliceData(d.d.changes)
		d.release()
		d = mustFast(t, b)
		if len(d.d.changes) != n {
			t.Fatalf("decoded %d changes, want %d", len(d.d.changes), n)
		}
		if unsafe.SliceData(d.d.changes) != first {
			t.Fatalf("the slice of %d changes (%d bytes) was not kept for the next message", n, len(body))
		}
		d.release()
	}
}

// TestFastDecodeMakesTheClaim: the hand decoder makes a registration's
// claim with its metadata in one allocation and the name with the
// metadata's value in one string, two allocations, where decoding made
// three (the name, the metadata and its value) and applying a fourth
// (the claim).
func TestFastDecodeMakesTheClaim(t *testing.T) {
	const node = "b@127.0.0.1:1"
	pid := RemotePID(node, 1, 2, 3)
	var enc changeEncoder
	for _, meta := range []any{wrapperspb.String("meta-of-1"), nil} {
		field, err := enc.appendEntryChange(nil, fChangeRegistered, "name-1", pid, meta, 5, Normal{})
		if err != nil {
			t.Fatal(err)
		}
		_, _, n := protowire.ConsumeTag(field)
		b, _ := protowire.ConsumeBytes(field[n:])
		c, ok := decodeFastChange(b, node)
		if !ok || c.claim == nil {
			t.Fatalf("meta %v: decoded %v with claim %v", meta, ok, c.claim)
		}
		if err := claimOfChange(c); err != nil || c.key != "name-1" || c.pid != pid || c.time != 5 {
			t.Fatalf("meta %v: decoded %+v: %v", meta, c, err)
		}
		if got := metaValue(c.meta); meta != nil && !proto.Equal(got.(proto.Message), wrapperspb.String("meta-of-1")) || meta == nil && got != nil {
			t.Fatalf("metadata decoded as %v", got)
		}
		// Without metadata: the claim and the name.
		if allocs := testing.AllocsPerRun(100, func() { _, _ = decodeFastChange(b, node) }); allocs > 2 {
			t.Errorf("meta %v: %v allocations per registration decoded, want 2", meta, allocs)
		}
	}
}

// TestFastDecodeSizesTheChanges: a new value's slice of changes has room
// for exactly the message's changes. It was sized by the message's bytes
// (one change per 64), twice what the changes of registrations with
// metadata need; at full speed most messages get a new value.
func TestFastDecodeSizesTheChanges(t *testing.T) {
	pid := RemotePID("b@127.0.0.1:1", 1, 2, 3)
	body := registrations(t, pid, 0, 100, true)
	b := scopeChanges(t, pid, body)
	var held []*fastChanges // the free list's values, taken so that the decode makes a new one
	for range fastFreeLen {
		held = append(held, newFastChanges())
	}
	d := mustFast(t, b)
	if len(d.d.changes) != 100 || cap(d.d.changes) != 100 {
		t.Errorf("100 changes (%d bytes) decoded into a slice of length %d, room %d", len(body), len(d.d.changes), cap(d.d.changes))
	}
	d.release()
	for _, v := range held {
		v.release()
	}
}

// TestScopeMessageDecodedWithoutAMessage: package cluster finds the
// ScopeMessage type's hand decoder on its zero value (a nil message) and
// decodes a Changes message with it, making no ScopeMessage; it made a
// new one (through reflection) for every message, which the hand decoder
// does not use.
func TestScopeMessageDecodedWithoutAMessage(t *testing.T) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName((&registrypb.ScopeMessage{}).ProtoReflect().Descriptor().FullName())
	if err != nil {
		t.Fatal(err)
	}
	fast, ok := mt.Zero().Interface().(interface {
		DecodeArborPayloadFast(payload []byte) (any, bool)
	})
	if !ok {
		t.Fatalf("%T has no decoder usable on its zero value", mt.Zero().Interface())
	}
	pid := RemotePID("b@127.0.0.1:1", 1, 2, 3)
	m := &registrypb.ScopeMessage{Version: protocolVersion, Scope: "s", From: cluster.MarshalPID(pid), Session: 3, Seq: 4}
	var enc changeEncoder
	body := enc.appendKeyChange(nil, fChangeUnregistered, "name", pid, Normal{})
	m.ProtoReflect().SetUnknown(protoreflect.RawFields(changesBody(body)))
	b := mustMarshal(t, m)
	v, ok := fast.DecodeArborPayloadFast(b)
	fc, isFast := v.(*fastChanges)
	if !ok || !isFast || len(fc.d.changes) != 1 || fc.d.changes[0].key != "name" {
		t.Fatalf("decoded as %v, %v", v, ok)
	}
	fc.release()
	if v, ok := fast.DecodeArborPayloadFast([]byte{0xff}); ok {
		t.Fatalf("garbage decoded as %v", v)
	}
}

// BenchmarkFastDecodeChanges decodes a Changes message of 64
// registrations with metadata, as a receiver of replicated names gets
// them, and gives it back (the scope process's part is left out).
func BenchmarkFastDecodeChanges(b *testing.B) {
	pid := RemotePID("b@127.0.0.1:1", 1, 2, 3)
	msg := scopeChanges(b, pid, registrations(b, pid, 100000, 64, true))
	b.ReportAllocs()
	for b.Loop() {
		d, ok := decodeFast(msg)
		if !ok {
			b.Fatal("not decoded")
		}
		d.release()
	}
}

// TestFastDecodeKeepsTheMessagesInFlight: the values of hundreds of
// messages decoded before the scope process applies any (its reader runs
// that far ahead at full speed) are all kept once given back, and the
// next messages reuse them: the free list kept 16, so that most messages
// made a new value and slice.
func TestFastDecodeKeepsTheMessagesInFlight(t *testing.T) {
	pid := RemotePID("b@127.0.0.1:1", 1, 2, 3)
	b := scopeChanges(t, pid, registrations(t, pid, 0, 8, false))
	const inFlight = 300
	decodeAll := func() []*fastChanges {
		ds := make([]*fastChanges, inFlight)
		for i := range ds {
			ds[i] = mustFast(t, b)
		}
		return ds
	}
	releaseAll := func(ds []*fastChanges) {
		for _, d := range ds {
			d.release()
		}
	}
	releaseAll(decodeAll()) // the values, made once
	seen := map[*change]bool{}
	first := decodeAll()
	for _, d := range first {
		seen[unsafe.SliceData(d.d.changes)] = true
	}
	releaseAll(first)
	fresh := 0
	again := decodeAll()
	for _, d := range again {
		if !seen[unsafe.SliceData(d.d.changes)] {
			fresh++
		}
	}
	releaseAll(again)
	if fresh > 0 {
		t.Errorf("%d of %d messages in flight got a new slice of changes", fresh, inFlight)
	}
}

// TestFastDecodeOfForgedChangesAllocatesLittle: a Changes body of tiny
// fields (here 2 MB of empty varints), which the decoder refuses at the
// first, makes no room for all of them first: counted as changes, they
// cost 80 B each (80 MB here) before the refusal.
func TestFastDecodeOfForgedChangesAllocatesLittle(t *testing.T) {
	pid := RemotePID("b@127.0.0.1:1", 1, 2, 3)
	for _, field := range [][]byte{
		{0x08, 0x00}, // not a change
		protowire.AppendBytes(protowire.AppendTag(nil, fChangesChanges, protowire.BytesType), make([]byte, 8)), // a change of garbage
	} {
		b := scopeChanges(t, pid, bytes.Repeat(field, (2<<20)/len(field)))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, ok := decodeFast(b)
		runtime.ReadMemStats(&after)
		if ok {
			t.Fatal("a forged message decoded")
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("decoding a refused %d-byte message of %x allocated %d bytes", len(b), field[:2], got)
		}
	}
}

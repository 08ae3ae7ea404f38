package registry

import (
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// anyBytes is the wire form of m as an Any (what a change carries).
func anyBytes(t *testing.T, m proto.Message, opts proto.MarshalOptions) []byte {
	t.Helper()
	v, err := opts.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	a := &anypb.Any{TypeUrl: anyTypePrefix + string(m.ProtoReflect().Descriptor().FullName()), Value: v}
	b, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFastDecodeLeavesMetadataUndecoded: a receiver's hand decoder keeps
// a change's metadata as its bytes (no message made: on the old code it
// decoded each into a new message); the first read decodes it, and every
// reader, racing or not, gets that one message.
func TestFastDecodeLeavesMetadataUndecoded(t *testing.T) {
	b := anyBytes(t, wrapperspb.String("meta-of-1"), proto.MarshalOptions{})
	m, ok := decodeFastMeta(b)
	if !ok {
		t.Fatal("not decoded")
	}
	r, ok := m.(*remoteMeta)
	if !ok {
		t.Fatalf("decoded to %T, want the bytes kept", m)
	}
	if r.dec.Load() != nil {
		t.Fatal("decoded before it was read")
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = decodeFastMeta(b) }); allocs > 2 {
		t.Errorf("%v allocations per metadata, want at most 2 (the value kept, no message)", allocs)
	}
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Go(func() { got[i] = metaValue(m) })
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] {
			t.Fatalf("readers got different values: %p and %p", g, got[0])
		}
	}
	if !proto.Equal(got[0].(proto.Message), wrapperspb.String("meta-of-1")) {
		t.Fatalf("decoded as %v", got[0])
	}
	if metaValue(m) != got[0] {
		t.Fatal("a later read got another value")
	}
}

// TestRemoteMetaEqual: metadata kept as bytes compares by its bytes, and
// by its message when the bytes differ (a map's fields in another order),
// and against decoded metadata by its message.
func TestRemoteMetaEqual(t *testing.T) {
	fields := map[string]*structpb.Value{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		fields[k] = structpb.NewStringValue(k)
	}
	s := &structpb.Struct{Fields: fields}
	dec := func(b []byte) any {
		m, ok := decodeFastMeta(b)
		if !ok {
			t.Fatal("not decoded")
		}
		return m
	}
	one := anyBytes(t, s, proto.MarshalOptions{Deterministic: true})
	var other []byte
	for range 100 { // a map's order is random when not deterministic
		if other = anyBytes(t, s, proto.MarshalOptions{}); string(other) != string(one) {
			break
		}
	}
	x, y := dec(one), dec(other)
	switch {
	case !metaEqual(x, dec(one)):
		t.Error("the same bytes are not equal")
	case !metaEqual(x, y):
		t.Error("the same message in other bytes is not equal")
	case !metaEqual(x, s) || !metaEqual(s, y):
		t.Error("bytes and their message are not equal")
	case metaEqual(x, dec(anyBytes(t, wrapperspb.String("x"), proto.MarshalOptions{}))):
		t.Error("other metadata is equal")
	case metaEqual(x, nil) || metaEqual(nil, x):
		t.Error("metadata is equal to none")
	}
}

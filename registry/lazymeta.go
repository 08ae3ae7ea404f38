package registry

import (
	"sync/atomic"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// remoteMeta is the metadata of another node's entry as a change brought
// it (an Any's type URL and value), decoded when it is first read: a
// receiver applies every name the owner registers, and decoding each
// one's metadata (a new message and the generic unmarshaller) was a
// sixth of its work for metadata that a scope read mostly for the PID
// never looks at. Everything that hands metadata to the user or compares
// it goes through metaValue or metaEqual, which decode it; the decoded
// message is kept, so every read of the entry sees the same one, as with
// metadata decoded on arrival. Any goroutine may read it.
type remoteMeta struct {
	typ      *urlType // the type URL and, when it is linked in, its message type
	value    string   // the Any's value (a copy of the wire bytes)
	hasValue bool     // the Any had a value field (an empty one included)
	dec      atomic.Pointer[decodedMeta]
}

type decodedMeta struct{ v any }

// metaValue returns the metadata m as the user sees it: m itself, or a
// remoteMeta decoded.
func metaValue(m any) any {
	if r, ok := m.(*remoteMeta); ok {
		return r.get()
	}
	return m
}

// get returns r decoded as decodeMeta decodes the Any: a message of its
// type, or the Any itself when the type is unknown or the value does not
// decode. Readers that race decode it alike; the first decoding stored is
// the one every reader gets.
func (r *remoteMeta) get() any {
	if d := r.dec.Load(); d != nil {
		return d.v
	}
	d := &decodedMeta{v: r.decode()}
	if r.dec.CompareAndSwap(nil, d) {
		return d.v
	}
	return r.dec.Load().v
}

func (r *remoteMeta) decode() any {
	if mt := r.typ.mt; mt != nil {
		m := mt.New().Interface()
		if proto.Unmarshal([]byte(r.value), m) == nil {
			return m
		}
	}
	a := &anypb.Any{TypeUrl: r.typ.url}
	if r.hasValue {
		a.Value = []byte(r.value)
	}
	return a
}

// sameWire reports whether r and o came as the same bytes (then they
// decode to equal values).
func (r *remoteMeta) sameWire(o *remoteMeta) bool {
	return r == o || r.typ.url == o.typ.url && r.hasValue == o.hasValue && r.value == o.value
}

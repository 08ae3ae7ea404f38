package cluster

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/arbor-otp/arbor/actor"
)

// MarshalPID encodes a PID so that it can travel inside a user's protobuf
// message (as a bytes field). The zero PID encodes as nil. The bytes are
// the encoding of the wire's PID message (node = 1, creation = 2,
// index = 3, serial = 4), written by hand: the registry marshals one per
// replicated change, and the generic marshaller cost more than the rest.
func MarshalPID(pid actor.PID) []byte {
	if pid.IsZero() {
		return nil
	}
	return AppendPID(make([]byte, 0, len(pid.NodeName())+2+3*6), pid)
}

// AppendPID appends what MarshalPID returns for pid to b.
func AppendPID(b []byte, pid actor.PID) []byte {
	if pid.IsZero() {
		return b
	}
	node := pid.NodeName()
	i, s := pid.ID()
	if node != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, node)
	}
	for _, f := range [...]struct {
		num protowire.Number
		v   uint32
	}{{2, pid.Creation()}, {3, i}, {4, s}} {
		if f.v != 0 {
			b = protowire.AppendTag(b, f.num, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(f.v))
		}
	}
	return b
}

// errBadPIDBytes is what UnmarshalPID reports for bytes that do not parse.
var errBadPIDBytes = errors.New("cannot parse")

// lastNodeName is the node name UnmarshalPID checked last: PIDs come in
// runs of one node, and the check parses the name's address.
var lastNodeName atomic.Pointer[string]

// UnmarshalPID decodes a PID encoded by MarshalPID; nil or empty bytes give
// the zero PID. It returns an error wrapping ErrMalformed for bytes that are
// not an encoded PID. It accepts any valid encoding of the wire's PID
// message (fields in any order, unknown fields skipped, the last of a
// repeated field winning), as the generic decoder would.
func UnmarshalPID(b []byte) (actor.PID, error) {
	if len(b) == 0 {
		return actor.PID{}, nil
	}
	var (
		node                    []byte
		creation, index, serial uint32
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return actor.PID{}, fmt.Errorf("%w: pid: %w", ErrMalformed, errBadPIDBytes)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return actor.PID{}, fmt.Errorf("%w: pid: %w", ErrMalformed, errBadPIDBytes)
			}
			node, b = v, b[n:]
		case num >= 2 && num <= 4 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return actor.PID{}, fmt.Errorf("%w: pid: %w", ErrMalformed, errBadPIDBytes)
			}
			b = b[n:]
			switch num {
			case 2:
				creation = uint32(v)
			case 3:
				index = uint32(v)
			default:
				serial = uint32(v)
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return actor.PID{}, fmt.Errorf("%w: pid: %w", ErrMalformed, errBadPIDBytes)
			}
			b = b[n:]
		}
	}
	if last := lastNodeName.Load(); last != nil && *last == string(node) {
		// The name checked last (so valid UTF-8 and a node name), its
		// string shared, not copied.
		return rt.NewPID(*last, creation, index, serial), nil
	}
	if !utf8.Valid(node) {
		return actor.PID{}, fmt.Errorf("%w: pid: node name is not UTF-8", ErrMalformed)
	}
	name := string(node)
	if _, _, err := splitNodeName(name); err != nil {
		return actor.PID{}, fmt.Errorf("%w: pid: %v", ErrMalformed, err)
	}
	lastNodeName.Store(&name)
	return rt.NewPID(name, creation, index, serial), nil
}

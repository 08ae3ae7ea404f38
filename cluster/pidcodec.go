package cluster

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// MarshalPID encodes a PID so that it can travel inside a user's protobuf
// message (as a bytes field). The zero PID encodes as nil.
func MarshalPID(pid actor.PID) []byte {
	p := encodePID(pid)
	if p == nil {
		return nil
	}
	b, _ := proto.Marshal(p)
	return b
}

// UnmarshalPID decodes a PID encoded by MarshalPID; nil or empty bytes give
// the zero PID. It returns an error wrapping ErrMalformed for bytes that are
// not an encoded PID.
func UnmarshalPID(b []byte) (actor.PID, error) {
	if len(b) == 0 {
		return actor.PID{}, nil
	}
	p := &clusterpb.PID{}
	if err := proto.Unmarshal(b, p); err != nil {
		return actor.PID{}, fmt.Errorf("%w: pid: %v", ErrMalformed, err)
	}
	if _, _, err := splitNodeName(p.GetNode()); err != nil {
		return actor.PID{}, fmt.Errorf("%w: pid: %v", ErrMalformed, err)
	}
	return decodePID(p), nil
}

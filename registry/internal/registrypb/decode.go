package registrypb

import "google.golang.org/protobuf/proto"

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

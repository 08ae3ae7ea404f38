package registry

import "github.com/arbor-otp/arbor/actor"

// The replication protocol between the scope processes of one scope on
// different nodes. These are the Go shapes of the messages; the cluster
// work encodes them with protobuf (docs/registry.md describes the flow).
// Nothing sends them yet: a single node never replicates.
//
// Every message carries ProtocolVersion; a scope process drops (and logs)
// a message of a version it does not speak, so two nodes of different
// versions simply do not share a scope.

// ProtocolVersion is the version of the scope-to-scope protocol.
const ProtocolVersion uint32 = 1

// WireReasonKind is a callback Reason as carried between nodes.
type WireReasonKind uint8

// The reasons on the wire.
const (
	WireNormal WireReasonKind = iota + 1
	WireProcessExit
	WireRemoteScopeNodeUp
	WireRemoteScopeNodeDown
	WireConflictResolution
	WireUndefined
)

// String returns the reason's name.
func (k WireReasonKind) String() string {
	switch k {
	case WireNormal:
		return "normal"
	case WireProcessExit:
		return "process_exit"
	case WireRemoteScopeNodeUp:
		return "remote_scope_node_up"
	case WireRemoteScopeNodeDown:
		return "remote_scope_node_down"
	case WireConflictResolution:
		return "conflict_resolution"
	case WireUndefined:
		return "undefined"
	}
	return "unknown"
}

// WireReason is a Reason on the wire. Exit carries the text of a
// ProcessExit error (the receiving node rebuilds it as an opaque error).
type WireReason struct {
	Kind WireReasonKind
	Exit string
}

// NameRecord is one registration: the unit of replication for names.
// Meta must be a proto.Message or nil in a clustered scope.
type NameRecord struct {
	Name string
	PID  actor.PID
	Meta any
	// Time is when the owning node made or last updated the registration
	// (ns since the Unix epoch); the newer record wins a conflict by
	// default.
	Time int64
}

// MemberRecord is one group membership.
type MemberRecord struct {
	Group string
	PID   actor.PID
	Meta  any
	Time  int64
}

// Discover is sent by a scope process to the scope process of the same
// scope on a node that just connected (and to all of them at start): "I
// run this scope; send me your local entries".
type Discover struct {
	Version uint32
	Scope   string
	From    actor.PID // the sending scope process
}

// AckSync answers Discover (and is sent unprompted in return) with every
// entry the sender owns, that is, whose process runs on its node. The
// receiver adds them with reason RemoteScopeNodeUp, resolving any name
// conflict, and monitors From to learn when the node goes away.
type AckSync struct {
	Version uint32
	Scope   string
	From    actor.PID
	Names   []NameRecord
	Members []MemberRecord
}

// SyncRegister announces a registration or a metadata update made by the
// owning node. Reason is Normal for an API call, ConflictResolution when
// the owner re-asserts a name after a conflict.
type SyncRegister struct {
	Version uint32
	Scope   string
	Record  NameRecord
	Reason  WireReason
}

// SyncUnregister announces that the owning node removed a name (explicit
// unregister, process exit, conflict loss).
type SyncUnregister struct {
	Version uint32
	Scope   string
	Name    string
	PID     actor.PID
	Meta    any
	Reason  WireReason
}

// SyncJoin announces a join or a membership metadata update.
type SyncJoin struct {
	Version uint32
	Scope   string
	Record  MemberRecord
	Reason  WireReason
}

// SyncLeave announces that a process left a group (explicitly or by
// exiting).
type SyncLeave struct {
	Version uint32
	Scope   string
	Group   string
	PID     actor.PID
	Meta    any
	Reason  WireReason
}

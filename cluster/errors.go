package cluster

import (
	"errors"
	"fmt"
)

var (
	// ErrNotProtoMessage is returned (wrapped, inside an *actor.CallError
	// for calls) when a message for another node is not a proto.Message:
	// only protobuf crosses nodes.
	ErrNotProtoMessage = errors.New("cluster: message for a remote node is not a proto.Message")
	// ErrMalformed is the reason an envelope from a peer is dropped: it does
	// not decode, lacks a field every envelope needs, or carries a payload of
	// a type this node does not know.
	ErrMalformed = errors.New("cluster: malformed envelope")
	// ErrVersion is the reason an envelope of another protocol version is
	// dropped.
	ErrVersion = errors.New("cluster: unsupported protocol version")
	// ErrBadNodeName is returned for a node name that is not name@host:port
	// with a non-empty name and a host peers can reach (a wildcard address
	// such as 0.0.0.0 or :: is none).
	ErrBadNodeName = errors.New("cluster: node name is not name@host:port")
	// ErrListen is returned by Start when the node cannot listen on its
	// address.
	ErrListen = errors.New("cluster: cannot listen")
	// ErrStopped is returned by operations on a stopped cluster node.
	ErrStopped = errors.New("cluster: node stopped")
	// ErrQueueFull is returned by a send to a node that is still connecting
	// when the messages already waiting for it reach the queue's bound.
	ErrQueueFull = errors.New("cluster: queue for a connecting node is full")
	// ErrTooLarge is returned (wrapped) for a message to another node, a
	// call's request or its reply, that encodes to more than
	// MaxMessageBytes. A reply that is too large fails the call with a
	// *RemoteError carrying this error's text.
	ErrTooLarge = errors.New("cluster: message too large to cross nodes")
	// ErrUnknownProtoAddress is returned by Proxy for a protoactor PID
	// whose address is no node's with an open session.
	ErrUnknownProtoAddress = errors.New("cluster: no node at the protoactor address")
)

// Reasons carried by NodeDown.
var (
	// ErrConnectionLost is the NodeDown reason when the stream to the node
	// broke (the node died or closed the connection).
	ErrConnectionLost = errors.New("cluster: connection lost")
	// ErrHeartbeatTimeout is the NodeDown reason when nothing arrived from
	// the node within the heartbeat timeout (a frozen node or a silent
	// network cut).
	ErrHeartbeatTimeout = errors.New("cluster: heartbeat timeout")
	// ErrSessionReset is the NodeDown reason when the node opened a new
	// session (it restarted, or it declared this node down first), or
	// said that it no longer has the session open.
	ErrSessionReset = errors.New("cluster: session reset by peer")
	// ErrNodeLeft is the NodeDown reason when the node stopped cleanly
	// (Cluster.Stop): its processes exited first and their exit reasons
	// reached this node's links and monitors before the NodeDown.
	ErrNodeLeft = errors.New("cluster: node left the cluster")
	// ErrConnectFailed is the reason a connection attempt failed; messages
	// queued for the node are dropped and its watchers get NoConnection.
	ErrConnectFailed = errors.New("cluster: connect failed")
	// ErrNameMismatch is the reason a connection attempt failed when the
	// node at the address calls itself by another name (see
	// NameMismatchError).
	ErrNameMismatch = errors.New("cluster: node answers under another name")
)

// NameMismatchError is why a session with Name could not open: the node
// listening at Name's address calls itself Answered. A node is known by
// exactly the name it calls itself (name@advertised address), so no session
// opens on either side; the attempt is logged once at error level, calls
// to Name fail with NoConnection and this error, and the node keeps
// retrying Name quietly (a node of that name may yet take the address).
// It unwraps to ErrNameMismatch.
type NameMismatchError struct {
	Name     string // the name this node tried to reach
	Answered string // the name the node at its address calls itself
}

func (e *NameMismatchError) Error() string {
	return fmt.Sprintf("cluster: %s answers as %s; list a node under the name it calls itself", e.Name, e.Answered)
}

func (e *NameMismatchError) Unwrap() error { return ErrNameMismatch }

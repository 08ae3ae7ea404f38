package cluster

// NodeUp is the message a process subscribed with MonitorNodes receives when
// a session with another node opens.
type NodeUp struct {
	Node string
}

// NodeDown is the message a process subscribed with MonitorNodes receives
// when the session with a node ends. Reason is ErrNodeLeft (the node
// stopped cleanly), ErrConnectionLost, ErrHeartbeatTimeout,
// ErrSessionReset or ErrStopped (this node stopped).
type NodeDown struct {
	Node   string
	Reason error
}

// peerState is where a session with a peer stands.
type peerState uint8

const (
	peerDown       peerState = iota // no session; nothing is sent
	peerConnecting                  // Hello sent (or probe running); sends queue
	peerUp                          // session open; sends go out at once
)

func (s peerState) String() string {
	switch s {
	case peerDown:
		return "down"
	case peerConnecting:
		return "connecting"
	case peerUp:
		return "up"
	}
	return "unknown"
}

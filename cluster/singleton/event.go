package singleton

import "fmt"

// EventKind is what happened to a singleton on one node.
type EventKind uint8

const (
	// Waiting: the node is trying to take the lock (at start, and after
	// a loss).
	Waiting EventKind = iota
	// Acquired: the node took a free lock and started the child.
	Acquired
	// Takeover: the node took the lock after another holder had it, and
	// started the child.
	Takeover
	// Lost: the lock was lost (or could not be confirmed in time); the
	// child was stopped before this event was sent.
	Lost
	// Released: the singleton stopped (its supervisor stopped it, or the
	// child exited) and gave the lock up.
	Released
)

func (k EventKind) String() string {
	switch k {
	case Waiting:
		return "waiting"
	case Acquired:
		return "acquired"
	case Takeover:
		return "takeover"
	case Lost:
		return "lost"
	case Released:
		return "released"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is the message a subscriber receives for each transition of a
// singleton on this node, in order.
type Event struct {
	Key  string
	Node string // this node's name
	Kind EventKind
	// Token is the fencing token of the holding the event is about (zero
	// for Waiting).
	Token uint64
	// Previous is the holder a Takeover took the lock from.
	Previous string
	// Err is why the lock was lost (Lost), or the child's exit reason
	// (Released after the child exited).
	Err error
}

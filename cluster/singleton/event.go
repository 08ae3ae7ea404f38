package singleton

import "fmt"

// EventKind is what happened to a singleton on one node.
type EventKind uint8

const (
	// Waiting: the node is trying to take the lock or the key (at
	// start, and after a loss); in the registry mode, it watches the
	// holder.
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
	// Conflict (registry mode): the key was held on two nodes (after a
	// netsplit healed, or a race) and the other node's instance, which
	// has served longer, was kept; this node's child was stopped with
	// actor.Shutdown before this event was sent, and Waiting follows.
	Conflict
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
	case Conflict:
		return "conflict"
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
	// for Waiting, and in the registry mode).
	Token uint64
	// Previous is the holder a Takeover took the lock (or key) from; for
	// Conflict and Lost in the registry mode, the node that holds the key
	// now, if this node knows it.
	Previous string
	// Err is why the lock or key was lost (Lost, Conflict: wrapping
	// cluster.ErrLeaseLost or ErrKeyLost), or the child's exit reason
	// (Released after the child exited).
	Err error
}

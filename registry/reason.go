package registry

import "fmt"

// Reason says why an event callback fires. It is one of Normal,
// ProcessExit, RemoteScopeNodeUp, RemoteScopeNodeDown, ConflictResolution
// and Undefined; switch on the type:
//
//	switch r := reason.(type) {
//	case registry.ProcessExit:
//		log.Printf("died: %v", r.Err)
//	case registry.Normal:
//	}
type Reason interface {
	String() string
	isReason()
}

// Normal is the reason of an explicit operation: Register, Unregister,
// Update, Join, Leave, UpdateMember.
type Normal struct{}

// ProcessExit is the reason of entries removed because their process
// exited; Err is the process's exit reason (actor.Normal for a clean exit,
// the crash reason otherwise).
type ProcessExit struct{ Err error }

// RemoteScopeNodeUp is the reason of entries learnt when a node of the
// scope connects and the two scope processes exchange their data.
type RemoteScopeNodeUp struct{ Scope, Node string }

// RemoteScopeNodeDown is the reason of entries dropped because the node
// that owned them left the scope or was disconnected.
type RemoteScopeNodeDown struct{ Scope, Node string }

// ConflictResolution is the reason of registrations made and removed while
// resolving a name conflict between two nodes.
type ConflictResolution struct{}

// Undefined is the reason of entries whose process died while the scope
// process was not running, so that the exit reason is unknown.
type Undefined struct{}

func (Normal) String() string { return "normal" }
func (r ProcessExit) String() string {
	if r.Err == nil {
		return "exit: <nil>"
	}
	return "exit: " + r.Err.Error()
}
func (r RemoteScopeNodeUp) String() string {
	return fmt.Sprintf("remote scope node up: %s on %s", r.Scope, r.Node)
}
func (r RemoteScopeNodeDown) String() string {
	return fmt.Sprintf("remote scope node down: %s on %s", r.Scope, r.Node)
}
func (ConflictResolution) String() string { return "conflict resolution" }
func (Undefined) String() string          { return "undefined" }

func (Normal) isReason()              {}
func (ProcessExit) isReason()         {}
func (RemoteScopeNodeUp) isReason()   {}
func (RemoteScopeNodeDown) isReason() {}
func (ConflictResolution) isReason()  {}
func (Undefined) isReason()           {}

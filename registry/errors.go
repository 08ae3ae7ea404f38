package registry

import (
	"errors"
	"strconv"
	"strings"

	"github.com/arbor-otp/arbor/actor"
)

// The causes of registry errors. Operations return them inside an
// *OpError (or as a *NameError's Err) that names the scope and the name or
// group: test for them with errors.Is.
var (
	// ErrUnknownScope is returned by every operation on a scope this node has
	// not added with AddScope.
	ErrUnknownScope = errors.New("registry: unknown scope")
	// ErrScopeExists is returned by AddScope when the node already runs the
	// scope.
	ErrScopeExists = errors.New("registry: scope already added")
	// ErrScopeStopped is returned by writes when the scope process is no
	// longer running (the node is stopping, or it died more often than its
	// keeper restarts it).
	ErrScopeStopped = errors.New("registry: scope process stopped")
	// ErrBadName is returned for an empty scope, name or group (an empty
	// scope is never added, so every operation on it fails with ErrBadName
	// rather than ErrUnknownScope).
	ErrBadName = errors.New("registry: empty scope, name or group")
	// ErrTaken is returned by Register when another process holds the name;
	// errors.As to *NameError gives the holder.
	ErrTaken = errors.New("registry: name taken")
	// ErrNotOwner is returned by Unregister when the name is held by another
	// process than the one given; errors.As to *NameError gives the holder.
	ErrNotOwner = errors.New("registry: name held by another process")
	// ErrNotRegistered is returned when no live process holds the name.
	ErrNotRegistered = errors.New("registry: name not registered")
	// ErrNotInGroup is returned when the process is not a member of the group.
	ErrNotInGroup = errors.New("registry: process not in group")
	// ErrNotAlive is returned by Register and Join for a process that is not
	// alive, and by every write for the zero PID.
	ErrNotAlive = errors.New("registry: process not alive")
	// ErrNotLocal is returned by writes about a process of another node in
	// a scope that is not replicated (a Registry made with New): a write is
	// done by the scope process of the process's own node. In a replicated
	// scope it is the refusal of a forwarded write by the owner's node,
	// which does not take this node's scope process for its peer in the
	// scope (Scope.Forged counts them there).
	ErrNotLocal = errors.New("registry: process of another node")
	// ErrNoNode is returned by Call, Cast and Send when their context
	// belongs to no node: it is neither a process's *actor.Context (or
	// derived from one) nor marked with actor.WithNode; and by AddScope of
	// a Registry made from a nil node.
	ErrNoNode = errors.New("registry: context names no node")
	// ErrBadHandler is returned by AddScope for an event handler that
	// implements none of the callback interfaces (a method with another
	// signature is not called): it would never be called.
	ErrBadHandler = errors.New("registry: event handler implements no callback")
	// ErrMetaNotProto is returned by writes to a replicated scope (a
	// Registry made with NewCluster) whose metadata is neither a
	// proto.Message nor nil: it could not cross the wire.
	ErrMetaNotProto = errors.New("registry: metadata of a replicated scope must be a proto.Message or nil")
	// ErrMetaTooLarge is returned by writes to a replicated scope whose
	// metadata encodes to more than MaxMetaBytes: it could not cross the
	// wire.
	ErrMetaTooLarge = errors.New("registry: metadata of a replicated scope too large")
	// ErrSessionEnded is returned by a write forwarded to another node when
	// this node lost its session with that node before it saw the write
	// applied: the owner made the write, and this node sees it once the two
	// sync again.
	ErrSessionEnded = errors.New("registry: session with the owner node ended before this node saw the write")
	// ErrUpdateContended is returned by Update and UpdateMember of an entry
	// of another node that changed every time they tried.
	ErrUpdateContended = errors.New("registry: remote entry kept changing during update")
	// ErrUpdatePanicked is returned by Update and UpdateMember when the
	// update function panicked; the entry is left unchanged.
	ErrUpdatePanicked = errors.New("registry: update function panicked")
)

// OpError is the error of a registry operation other than a refusal
// because of a name's holder (that is a *NameError): it says what was done
// (Op: "register", "unregister", "update", "lookup", "join", "leave",
// "update member", "add", "find"), in which scope, about which name or
// group and which process, and unwraps to the cause: one of the sentinels
// above, or the error of the call to the scope process (a context's
// error). Compare it with errors.Is:
//
//	if errors.Is(err, registry.ErrNotRegistered) { ... }
type OpError struct {
	Op    string
	Scope string
	Name  string    // the name, for an operation on a name
	Group string    // the group, for an operation on a group
	PID   actor.PID // the process the operation was about; zero if none
	Err   error
}

func (e *OpError) Error() string {
	b := make([]byte, 0, 96)
	b = append(b, "registry: "...)
	b = append(b, e.Op...)
	switch {
	case e.Name != "":
		b = append(b, " name "...)
		b = strconv.AppendQuote(b, e.Name)
	case e.Group != "":
		b = append(b, " group "...)
		b = strconv.AppendQuote(b, e.Group)
	}
	if !e.PID.IsZero() {
		b = append(b, " of "...)
		b = append(b, e.PID.String()...)
	}
	if e.Name != "" || e.Group != "" || !e.PID.IsZero() {
		b = append(b, " in"...)
	}
	b = append(b, " scope "...)
	b = strconv.AppendQuote(b, e.Scope)
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, strings.TrimPrefix(e.Err.Error(), "registry: ")...)
	}
	return string(b)
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// NameError is the error of a write refused because of the process that
// holds a name. It unwraps to ErrTaken or ErrNotOwner.
type NameError struct {
	Scope  string
	Name   string
	Holder actor.PID
	Err    error
}

func (e *NameError) Error() string {
	return e.Err.Error() + ": " + e.Scope + "/" + e.Name + " held by " + e.Holder.String()
}

// Unwrap returns ErrTaken or ErrNotOwner.
func (e *NameError) Unwrap() error { return e.Err }

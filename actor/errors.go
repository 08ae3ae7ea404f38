package actor

import "errors"

var (
	// ErrNodeStopped is returned by operations on a node that is stopping or
	// stopped.
	ErrNodeStopped = errors.New("actor: node stopped")
	// ErrNameTaken is returned by Register when the name is held by another
	// process; errors.As to *NameTakenError gives the holder.
	ErrNameTaken = errors.New("actor: name taken")
	// ErrAlreadyNamed is returned by Register when the process already has a
	// registered name (a process holds at most one, as in Erlang).
	ErrAlreadyNamed = errors.New("actor: process already has a name")
	// ErrUnknownName is returned when sending to or looking up a name nobody
	// holds.
	ErrUnknownName = errors.New("actor: unknown name")
	// ErrCallSelf is returned by Call when a process calls itself, which
	// would otherwise deadlock until the deadline.
	ErrCallSelf = errors.New("actor: call to self")
	// ErrRemote is returned when a message is addressed to another node and
	// the node has no cluster transport.
	ErrRemote = errors.New("actor: remote node unreachable")
	// ErrNilReceiver is returned by Spawn, SpawnLink and SpawnMonitor for a
	// nil Receiver: the process would crash on its first message.
	ErrNilReceiver = errors.New("actor: nil receiver")
	// ErrNilNode is returned by Spawn and NewInbox on a nil *Node, and by
	// the Start functions of behaviour and supervision for a nil Spawner.
	ErrNilNode = errors.New("actor: nil node")
	// ErrBadName is returned when a name is empty.
	ErrBadName = errors.New("actor: empty name")
	// ErrZeroPID is returned by Call, Send and Cast (as the Reason of a
	// *CallError for Call) when the PID is the zero PID, which names no
	// process: an unset variable, or the PID of a failed Spawn.
	// errors.Is(err, NoProc) reports true for it as well.
	ErrZeroPID error = zeroPIDError{}
	// ErrNilProps is returned by SpawnProto and SpawnProtoLink for nil
	// protoactor Props.
	ErrNilProps = errors.New("actor: nil protoactor Props")
	// ErrNilProtoPID is returned by Proxy for a nil protoactor PID.
	ErrNilProtoPID = errors.New("actor: nil protoactor PID")
	// ErrRemoteProtoPID is returned by Proxy for a protoactor actor of
	// another node: package cluster's Proxy makes its proxy on its own
	// node, so that nothing travels on protoactor remote's endpoints.
	ErrRemoteProtoPID = errors.New("actor: protoactor PID of another node")
)

type zeroPIDError struct{}

func (zeroPIDError) Error() string { return "actor: zero PID, which names no process" }

// Is makes errors.Is(ErrZeroPID, NoProc) true.
func (zeroPIDError) Is(target error) bool { return target == NoProc }

// NameTakenError reports the process that holds a name.
type NameTakenError struct {
	Name   string
	Holder PID
}

func (e *NameTakenError) Error() string {
	return "actor: name " + e.Name + " taken by " + e.Holder.String()
}

// Is makes errors.Is(err, ErrNameTaken) true.
func (e *NameTakenError) Is(target error) bool { return target == ErrNameTaken }

// CallError is the error of a Call that did not get a reply: the callee
// exited (Reason is its exit reason, NoProc if it was not alive) or the
// caller's context ended (Reason is the context's error). A call by name
// (cluster.CallNamed) sets Name, and Node if it names one, instead of PID.
type CallError struct {
	PID    PID
	Name   string
	Node   string
	Reason error
}

func (e *CallError) Error() string {
	switch {
	case e.Name != "" && e.Node != "":
		return "actor: call " + e.Name + " on " + e.Node + ": " + e.Reason.Error()
	case e.Name != "":
		return "actor: call " + e.Name + ": " + e.Reason.Error()
	case e.PID.IsZero() && errors.Is(e.Reason, ErrZeroPID):
		return "actor: call to the zero PID, which names no process"
	}
	return "actor: call " + e.PID.String() + ": " + e.Reason.Error()
}

// Unwrap returns Reason, so errors.Is(err, NoProc) and
// errors.Is(err, context.DeadlineExceeded) work.
func (e *CallError) Unwrap() error { return e.Reason }

// Errors of the sys hooks (sys.go), which package sys returns as they are.
var (
	// ErrSysUnsupported is returned by a sys operation the process does
	// not support: getting the state of a process that is not a SysStater,
	// replacing the state of one that is not a SysReplacer or whose state
	// cannot be replaced (an event manager, a supervisor).
	ErrSysUnsupported = errors.New("actor: sys operation not supported by the process")
	// ErrSysStateType is returned when a replacement state, or the state
	// asked for by a typed sys call, is not of the process's state type.
	ErrSysStateType = errors.New("actor: state of another type")
)

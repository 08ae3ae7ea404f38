package actor

// Exit is the message a process that traps exits receives instead of dying
// when a linked process exits, or when another process calls Exit on it.
// It arrives after every message From sent before it exited.
type Exit struct {
	From   PID
	Reason error
}

// Down is the message a monitor delivers when the monitored process exits,
// or at once when it was not alive (Reason NoProc).
type Down struct {
	Ref    Ref
	PID    PID
	Reason error
}

// signalKind enumerates the signals that travel in a process's system queue,
// ahead of its ordinary messages.
type signalKind uint8

const (
	sigExit signalKind = iota + 1
	sigLinkExit
	sigLink
	sigUnlink
	sigMonitor
	sigDemonitor
	sigInfo
	sigWatch
)

// signal is one entry of the system queue. It is stored by value so posting a
// signal allocates nothing.
type signal struct {
	kind   signalKind
	from   PID
	ref    Ref
	reason error
	reply  chan Info
	watch  chan error
}

package actor

import "github.com/arbor-otp/arbor/internal/seam"

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

// signal is one entry of a process's system queue, which is handled ahead
// of its ordinary messages. It is stored by value so posting a signal
// allocates nothing. Its kinds are seam's, the one enum of signal kinds
// that the cluster transport also writes on the wire.
type signal struct {
	kind   seam.SignalKind
	from   PID
	ref    Ref
	reason error
	reply  chan Info
	watch  chan error
	sys    *sysRequest // SignalSys: run on the process goroutine (sys.go)
}

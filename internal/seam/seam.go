package seam

import (
	"context"
	"strconv"
	"time"
)

// SignalKind names a signal between processes.
type SignalKind uint8

// The signals up to SignalDown cross nodes, with these numbers on the wire;
// SignalInfo, SignalWatch and SignalSys stay on their node.
const (
	SignalExit      SignalKind = iota + 1 // an exit signal (exit/2, Kill)
	SignalLinkExit                        // the exit of a linked process
	SignalLink                            // a link request
	SignalUnlink                          // an unlink request
	SignalMonitor                         // a monitor request
	SignalDemonitor                       // a monitor's removal
	SignalDown                            // a monitored process's exit
	SignalInfo                            // a process_info request
	SignalWatch                           // a request to be told of the exit
	SignalSys                             // a sys request (package sys)
)

var signalNames = [...]string{
	SignalExit:      "exit",
	SignalLinkExit:  "link_exit",
	SignalLink:      "link",
	SignalUnlink:    "unlink",
	SignalMonitor:   "monitor",
	SignalDemonitor: "demonitor",
	SignalDown:      "down",
	SignalInfo:      "info",
	SignalWatch:     "watch",
	SignalSys:       "sys",
}

// String returns the kind's name in lower case ("link_exit"), or
// "signal(N)" for a number that names no kind.
func (k SignalKind) String() string {
	if int(k) < len(signalNames) && signalNames[k] != "" {
		return signalNames[k]
	}
	return "signal(" + strconv.Itoa(int(k)) + ")"
}

// Remote reports whether signals of kind k cross nodes.
func (k SignalKind) Remote() bool { return k >= SignalExit && k <= SignalDown }

// Signal is a signal between processes of different nodes. PID and Ref
// are package actor's types.
type Signal[PID, Ref any] struct {
	Kind   SignalKind
	From   PID
	Ref    Ref   // the monitor of SignalMonitor, SignalDemonitor, SignalDown
	Reason error // the exit reason of SignalExit, SignalLinkExit, SignalDown
}

// Transport carries messages, calls and signals to processes of other
// nodes. Package cluster implements it; a node holds at most one, and
// without one a PID of another node is unreachable.
type Transport[PID, Ref any] interface {
	// Send delivers msg from a local process (or the zero PID) to a
	// remote one, as a plain message.
	Send(from, to PID, msg any) error
	// Cast delivers msg as Send does, marked as a cast: the receiving
	// node hands it to the process as a cast (a GenServer's HandleCast).
	Cast(from, to PID, msg any) error
	// Call sends msg to a remote process as a call and waits for the
	// answer, as a local call does.
	Call(ctx context.Context, from, to PID, msg any) (any, error)
	// Signal delivers a signal whose Kind is Remote.
	Signal(to PID, s Signal[PID, Ref]) error
}

// TracedSender is implemented by a transport that carries the sender's
// span with a message: actor uses it for a send or cast made within a
// traced span, giving the producer span in W3C form (traceparent,
// tracestate); the receiving node hands them to DeliverTraced.
type TracedSender[PID any] interface {
	SendTraced(from, to PID, msg any, cast bool, parent, state string) error
}

// Runtime is what package actor gives a transport: Node, PID, Ref and
// Request are actor's *Node, PID, Ref and *Request.
type Runtime[Node, PID, Ref, Request any] struct {
	// NewPID builds the PID of a process of any node from its wire form.
	NewPID func(node string, creation, index, serial uint32) PID
	// NewRef builds a Ref from its wire form.
	NewRef func(node string, creation uint32, id uint64) Ref
	// RefID returns the wire form of a Ref (an empty node for the zero Ref).
	RefID func(r Ref) (node string, creation uint32, id uint64)

	// SetTransport installs t as the node's transport; nil removes it.
	SetTransport func(n Node, t Transport[PID, Ref])
	// DeliverLocal posts a message that arrived from another node to a
	// local process, as a cast if cast is set (sent with Transport.Cast),
	// else as a plain message. It returns actor.NoProc if the process is
	// not alive.
	DeliverLocal func(n Node, to PID, msg any, cast bool) error
	// DeliverTraced is DeliverLocal for a message that came with its
	// sender's span (W3C traceparent and tracestate): on a node with
	// telemetry the delivery is a consumer span, the sender's child.
	DeliverTraced func(n Node, to PID, msg any, cast bool, parent, state string) error
	// DeliverSignal hands a signal that arrived from another node (or that
	// the transport makes up, such as NoConnection for a lost node) to a
	// local process; a dead target answers as a dead process does.
	DeliverSignal func(n Node, to PID, s Signal[PID, Ref])

	// NewRequest builds a call request whose answer goes to answer instead
	// of a waiting caller: answer runs once, on the goroutine that replies
	// (or that fails the request when its process exits), unless the
	// request is cancelled first. answer must not block.
	NewRequest func(from PID, msg any, answer func(value any, err error)) Request
	// CancelRequest abandons a request built with NewRequest: a later
	// answer is dropped. It reports whether the request was still pending.
	CancelRequest func(r Request) bool
	// Post delivers a request built with NewRequest to a local process. It
	// returns actor.NoProc (and answer is not called) if the process is
	// not alive.
	Post func(n Node, to PID, r Request) error
	// PostRun is Post for a goroutine that may be lent to the process:
	// if the request finds the process idle (no activation running or
	// scheduled), the calling goroutine runs the activation itself, as a
	// worker of the node would, for one batch, leaving whatever else came
	// meanwhile to a worker; PostRun returns once it did. Only a goroutine
	// that nothing else waits on may call it: the handler may block.
	PostRun func(n Node, to PID, r Request) error

	// KillAll refuses new processes on the node, kills every live one and
	// waits for them to exit (or for ctx to end), leaving the node
	// running, so a transport can still carry their exit signals before
	// it closes.
	KillAll func(ctx context.Context, n Node) error

	// TraceParent returns the W3C traceparent and tracestate of ctx's
	// span, for a call to carry to another node; empty when n has no
	// telemetry or ctx no span. SetRequestTrace gives a request built
	// with NewRequest the span its remote caller sent.
	TraceParent     func(n Node, ctx context.Context) (parent, state string)
	SetRequestTrace func(n Node, r Request, parent, state string)
	// SetRequestDeadline gives a request built with NewRequest its remote
	// caller's deadline, before it is posted: the request expires then (a
	// later answer is dropped, as CancelRequest would drop it, and the
	// request counts as done), and if visible the handler sees it as
	// ctx.Deadline().
	SetRequestDeadline func(r Request, deadline time.Time, visible bool)
}

var installed any

// Install records the runtime. Package actor calls it once, at init.
func Install[Node, PID, Ref, Request any](rt *Runtime[Node, PID, Ref, Request]) {
	installed = rt
}

// Installed returns the runtime package actor installed. The type
// arguments must be the ones actor installed with; anything else is a
// mistake in Arbor itself, and Installed panics so that any test of the
// caller shows it.
func Installed[Node, PID, Ref, Request any]() *Runtime[Node, PID, Ref, Request] {
	rt, ok := installed.(*Runtime[Node, PID, Ref, Request])
	if !ok {
		panic("seam: no runtime installed for these types (is package actor imported?)")
	}
	return rt
}

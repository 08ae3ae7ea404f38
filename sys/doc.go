// Package sys looks into and acts on the running processes of a node, as
// OTP's sys module and observer do: a process's state and status, its
// suspension, a trace of its messages, its statistics; every process of a
// node; the supervision trees of its applications.
//
// # Looking at a process
//
// Every function takes the node and a PID of that node, and runs on the
// process itself, between two messages, as OTP's system messages do:
//
//	st, err := sys.GetStatus(ctx, node, pid)       // name, behaviour, mode, queue, links, monitors, uptime, memory
//	s, err := sys.GetStateAs[[]string](ctx, node, pid) // a GenServer's typed state
//	s, err = sys.ReplaceState(ctx, node, pid, func(s []string) []string { return s[:0] })
//
// What a process shows depends on what runs it: a GenServer its state S
// (replaceable with a function S -> S; a function that panics leaves the
// state as it was), an event manager a behaviour.EventManagerState, a
// Supervisor, DynamicSupervisor or Director a supervision.SupervisorState
// (neither replaceable: ErrUnsupported). A plain actor.Receiver has a
// status and can be suspended and traced; it shows a state if it
// implements actor.SysStater (and actor.SysReplacer to replace it).
//
// A GenServer's state is handed out as it is, not copied (Go values are
// not immutable as Erlang terms are): a state holding maps, slices or
// pointers is then shared with the running server. A server that
// implements behaviour.StateCopier hands out a copy instead.
//
// ctx bounds every call: a process busy in a long handler answers when the
// handler returns, and a call that runs out of time returns ctx's error
// (DefaultTimeout, 5 s, when ctx has no deadline). A process cannot use
// sys on itself (actor.ErrCallSelf).
//
// # Suspend and resume
//
// Suspend stops a process from handling messages: it still takes signals
// (exit signals, links, monitors) and sys requests, so it can be looked at,
// traced, killed. Its messages queue, calls included: a call to a
// suspended GenServer waits and fails at its deadline, as in OTP. Resume
// lets it handle them, in order. A supervisor suspended does not restart
// children until it is resumed (their exits wait in its queue).
//
// # Trace and statistics
//
// Trace logs every message a process takes in and every reply it sends out
// as a zerolog event ("sys":"trace", "event":"in" or "out", with the kind,
// sender, type and text), bounded to TracePerSecond events a second (the
// rest are counted in one "dropped" event) and optionally TraceLimit events
// in all. SetStatistics counts messages in and replies out and the time
// spent in handlers, Arbor's stand-in for reductions. Both are off by
// default, and off they cost the message path one pointer test.
//
// # A node's processes and trees
//
// Processes lists every process of a node with its name, behaviour, mode,
// queue length, links, monitors and a memory estimate; all processes answer
// at once, and one still busy when ctx ends is listed with Answered false.
// Tree walks a supervision tree through WhichChildren; ApplicationTrees
// does so for every running application of the node.
//
// # Other nodes
//
// Every function works on a process of another node of the cluster too,
// once Serve ran on both nodes: Serve starts the node's sys server
// (ServerName), and a request about a remote PID travels to that node's
// server as a protobuf message in a cluster call, and its answer back.
//
//	if err := sys.Serve(c); err != nil { ... } // on every node
//	st, err := sys.GetStatus(ctx, c.Node(), remotePID)
//
// What crosses and what does not: a state crosses when it is a protobuf
// message; for another state Status.State is nil and GetState returns
// ErrNotEncodable. ReplaceState's fn runs on the calling node, between a
// read of the state and a replace that takes place only if the state did
// not change meanwhile (three tries, then ErrStateChanged). A remote
// trace is logged by the process's own node (TraceTo cannot cross); its
// bounds cross. Errors of the remote node come back as *RemoteError
// values that match the sentinels (actor.NoProc, ErrUnsupported,
// ErrStateType, ErrStatisticsOff); a node without a sys server gives
// ErrNotServed; a node that did not call Serve itself gives ErrNotLocal
// for a remote PID.
//
// A whole node is listed, this one or another that serves, with
// ProcessesOn (in an Order, at most MaxListLimit), ApplicationTreesOn and,
// for a node that serves with ServeRegistry, ScopesOn (else
// ErrNoRegistry): observer's "pick any node".
//
// # Guarantees
//
//   - Every answer is a snapshot taken on the process's goroutine between
//     two of its messages; it may be stale by the time it is read.
//     Processes and Tree take one snapshot per process, not of the node as
//     a whole.
//   - A sys request overtakes the messages already queued: it is a signal,
//     which is how a process with a long backlog, or a suspended one,
//     still answers. Unlike OTP's sys, which queues behind them, GetState
//     after a Cast may see the state before the cast; to see the effect of
//     messages sent first, make a call to the process first.
//   - A function that returns ctx's error did not act on the process (a
//     Suspend that timed out did not suspend it).
//   - sys reaches the processes of the node it is given, and those of the
//     other nodes that serve remote sys once the node called Serve; a PID
//     of another node gives ErrNotLocal before that. A remote answer is
//     as stale as a local one, plus the network's delay.
package sys

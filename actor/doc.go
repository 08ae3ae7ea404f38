// Package actor is Arbor's process runtime: Erlang processes in Go, on top of
// protoactor-go.
//
// A Node is one runtime (one per OS process, wrapping a protoactor
// ActorSystem). A process is a Receiver spawned on a node; it handles one
// message at a time on its own goroutine, and ends when its Receive returns
// a non-nil error (the exit reason) or panics (reason *PanicError). Processes
// are identified by PID, a small comparable value.
//
//	node := actor.NewNode()
//	defer node.Stop(ctx)
//
//	pid, _ := node.Spawn(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
//		switch m := msg.(type) {
//		case string:
//			c.Logger().Info().Str("got", m).Msg("hello")
//		case actor.Exit:
//			return m.Reason
//		}
//		return nil
//	}))
//	_ = node.Send(pid, "world")
//
// # Links, monitors, exit signals
//
// Link (both ways) and Monitor (one way, with a Ref) follow Erlang: when a
// process exits with reason R, each linked process dies with R unless R is
// Normal, or, if it traps exits (TrapExit), receives Exit{From, R}; each
// monitor delivers Down{Ref, PID, R}. Exit(pid, Kill) cannot be trapped and
// ends the target with Killed, which then travels along links as an ordinary
// reason. Linking or monitoring a process that is not alive gives NoProc at
// once. Demonitor also discards a Down already queued for that monitor.
//
// Code outside any process (main, tests) uses an Inbox: a process whose
// messages are read with Receive and which can link, monitor and trap exits.
//
// # Calls
//
// Call sends a *Request and waits for its Reply. The caller needs no
// monitor: the callee fails every request it holds (queued, being handled,
// or deferred for a later Reply) with its exit reason when it exits, and a
// call to a dead process fails with NoProc at once. Pass the handler's
// *Context (it is a context.Context) to Call from inside a handler; a call
// to self then fails with ErrCallSelf instead of waiting out its deadline.
// Contexts without a deadline get DefaultCallTimeout. A reply that comes
// after the caller gave up is dropped (from a caller on another node, a
// Reply past the caller's deadline reports false). The caller's deadline
// reaches the callee, on this node or another, as ctx.Deadline() in the
// handler: a request with a deadline is handled with a view of the
// process, a *Context of its own that shares everything of the process
// and whose Deadline, Done and Err are the caller's deadline for as long
// as it is kept (so a goroutine the handler starts, or a context derived
// from the view, keeps the request's deadline while the process handles
// others).
// A call from the handler with that ctx passes the deadline on;
// Request.Deadline returns it for a reply given later, and
// Context.CallDeadline also on the process's own Context. A caller whose
// ctx has no deadline leaves the handler the process's own Context, which
// never expires (its Deadline, Done and Err are constant, as a context's
// must be): compare Self(), not *Context values, to tell processes apart.
// A view costs no allocation of its own for an untraced local caller (it
// is made with the request, one object), and one for a caller on another
// node, a traced call or handler, or a request handed on to another
// process; its Done a timer, made on first use. A
// context derived from a view (context.WithCancel, WithTimeout,
// AfterFunc) starts no goroutine to hear of its deadline: the view has an
// AfterFunc method, which the context package uses instead (one wrapped
// by context.WithValue first still costs the context package's goroutine).
// A call (or a send) to the zero PID fails at once with ErrZeroPID, which
// also matches NoProc. A failed call is a *CallError naming its target:
// the PID, or the name and node of a call by name.
//
// # Names and timers
//
// Register gives a process a node-wide name, released when it exits;
// SendNamed to a free name is an error (ErrUnknownName), never a silent
// drop. SendAfter and CancelTimer schedule messages.
//
// # protoactor actors
//
// A protoactor-go actor on the node's ActorSystem and an Arbor process can
// address, watch and own each other (docs/protoactor.md):
//
//   - ProtoPID(pid) is a process's protoactor address: Send, Request,
//     RequestFuture (a GenServer answers it in HandleCall), Watch (gives
//     Terminated) and Stop (the Shutdown exit signal) work on it.
//   - Proxy(pid) is a process standing for a protoactor actor: Send, Cast
//     and Call (answered by ctx.Respond) reach the actor; Monitor and Link
//     it to learn of the actor's stop.
//   - SpawnProto and SpawnProtoLink spawn an actor owned by such a
//     process: the actor's panic is the process's *PanicError exit,
//     protoactor never restarts it in place, and the process's exit stops
//     it. supervision.ProtoChild is the child spec built on it.
//
// Tests of code that runs processes can use package actor/actortest: a
// quiet node stopped when the test ends, and waiting for an Inbox's next
// message with a deadline.
//
// # System requests
//
// Node.System runs a function on a process's goroutine as a system request
// (OTP's system messages): between two messages, ahead of the queued ones,
// even while the process is suspended; SystemEach does so for every
// process at once. The *SysProcess it gets can suspend and resume the
// process, trace its messages and count its statistics; the Receiver's
// hooks SysStater, SysReplacer and SysDescriber show and replace its
// state. Package sys is the API built on them. With nothing of it on, the
// message path pays one nil pointer test.
//
// # OpenTelemetry
//
// WithTracerProvider, WithMeterProvider and WithTelemetry (the global
// providers) turn on OpenTelemetry for a node. A Call made within a trace
// (its ctx carries a span) is then an "arbor.call" client span, and its
// handling an "arbor.handle" server span below it; a Call outside any
// trace starts none unless the node has WithRootSpans (its duration is
// recorded either way). Spans link up on this node or another (the W3C
// trace context crosses nodes with the call), so a call from A to B to C
// is one trace; while a
// traced request is handled, the *Context carries the handler's span
// (trace.SpanFromContext(ctx)), so calls made from the handler are its
// children. A send or cast made within a recorded span is an "arbor.send"
// or "arbor.cast" producer span; one made outside any trace makes none.
// The node records arbor.process.messages, arbor.call.duration (by
// outcome), arbor.mailbox.length, arbor.mailbox.max_length and
// arbor.processes; packages cluster and supervision add theirs
// (docs/observability.md). A node without these options has no telemetry
// at all: its call, cast and spawn paths pay one nil check (ADR 0010).
//
// # Guarantees
//
//   - Messages from one sender to one process are received in send order.
//     An Exit or Down caused by a process's death is received after every
//     message that process sent before dying.
//   - Exit signals and link/monitor requests travel in a system queue that is
//     handled before waiting messages: a process that does not trap exits
//     dies from a linked crash without first handling its backlog. A handler
//     that is running is never interrupted; a signal takes effect when it
//     returns.
//   - A PID names one process for ever: a PID's slot is reused only with a
//     new serial, and PIDs of a previous boot of a node (another Creation)
//     never reach a process of this boot.
//   - Init (Initializer) runs synchronously inside Spawn. If it fails, Spawn
//     returns the error, the spawner sees no link signal, and no name stays
//     registered.
//   - Node.Stop kills what is still running and waits for every process to
//     exit; protoactor's own Stop, Terminated and restart directive are not
//     used, so their pitfalls (queued messages dropped, Terminated without a
//     reason overtaking messages, restarts in place) do not apply.
//   - Processes run on a bounded pool of worker goroutines: an idle process
//     holds no goroutine, and an idle node keeps at most four parked workers
//     per CPU. The cluster transport may lend a goroutine instead: a
//     remote call that finds its process idle on a call connection is
//     handled on that connection's goroutine, for one batch, exactly as
//     a worker would handle it (ADR 0011's amendment).
package actor

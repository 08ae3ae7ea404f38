// Package cluster makes Arbor nodes into a cluster: nodes find each other
// through a membership Provider (the embedded Static list, or Consul with
// package cluster/consul), talk over one framed TCP stream of Arbor's own
// per peer (opened to the node's address, where protoactor-go remote's
// gRPC server hands it to Arbor; see docs/adr/0003 and 0008), and notice
// each other's death.
//
// Start a node and spawn processes on it as on any actor.Node; their PIDs
// work from every node of the cluster:
//
//	c, err := cluster.Start(ctx, "api",
//		cluster.WithListenAddr("10.0.0.5:7000"),
//		cluster.WithProvider(cluster.Static("api@10.0.0.6:7000")))
//	if err != nil { ... }
//	defer c.Stop(ctx)
//	pid, _ := c.Node().Spawn(worker{})
//	reply, err := actor.Call(ctx, remotePID, &pb.Ping{}) // any node's PID
//
// A node's name is name@host:port, the address peers reach it at (never a
// wildcard address: listening on 0.0.0.0 needs WithAdvertiseAddr). A node
// is known by exactly that name: a Hello meant for another name (a peer
// list with a wrong short name, or localhost for 127.0.0.1) is refused, no
// session opens, and the dialing node logs a NameMismatchError once. Every
// message that crosses nodes is protobuf: a user message that is not a
// proto.Message fails the send (or call) with ErrNotProtoMessage, and the
// receiving node must know the message's type (its generated package is
// linked in). A message, call or reply that encodes to more than
// MaxMessageBytes (4 MiB less 64 KiB) fails on its sender with
// ErrTooLarge. Pass a PID inside your own messages as bytes with
// MarshalPID and UnmarshalPID.
//
// protoactor-go actors take part across nodes (docs/protoactor.md): a
// node's ProtoPID of a process of another node reaches it on Arbor's
// transport, and Proxy makes the proxy of an actor of another node on
// that node, so Arbor code calls, links and monitors it; nothing of it
// travels on protoactor remote's endpoints.
//
// A Locker hands out cluster-wide locks with fencing tokens
// (cluster/consul's NewLocker, on Consul sessions); cluster/singleton runs
// a child only while its node holds one.
//
// Remote Send, Cast, Call, Link, Monitor and Exit keep the semantics of
// local ones: a cast (behaviour.Cast, actor.Cast) to a GenServer of
// another node reaches its HandleCast, a plain send its HandleInfo.
// Subscribe a process to NodeUp and NodeDown with MonitorNodes; Nodes
// lists the nodes with an open session; SendNamed, CastNamed, CallNamed
// and MultiCall reach a registered name on other nodes.
//
// # Failure detection
//
// A node that stops with Stop leaves cleanly: its processes are killed
// first, so links and monitors on other nodes get their real exit reasons
// (actor.Killed, or the reason a process exited with while shutting down),
// then it says Goodbye and its peers get NodeDown with ErrNodeLeft.
//
// Otherwise a session ends, NodeDown is delivered and every link and
// monitor across it fires with reason actor.NoConnection (pending calls
// fail with it) when:
//
//   - the peer's stream breaks (a killed node, or one whose Goodbye could
//     not be sent): within milliseconds, bounded by about 1 s;
//   - nothing arrives from the peer for the heartbeat timeout (a frozen
//     node, a silent network cut): within timeout + interval, 3.5 s with
//     the defaults (WithHeartbeat). Every byte counts, not only whole
//     packets: a large message that takes longer than the timeout to
//     arrive over a slow link does not end its session. Each node tells
//     its peers its heartbeat interval in its Hello, and waits at least 3
//     of a peer's intervals before declaring it down (a node whose own
//     timeout is shorter says so in an info log), but never more than 10
//     times its own timeout, so nodes with different settings keep their
//     sessions and no peer can put off its detection at will; a peer that
//     predates the announcement is judged by the node's own timeout;
//   - the peer opens a new session (it restarted, or it declared this node
//     down first).
//
// The node then retries members of its provider every reconnect interval.
// A node that was itself not running for longer than the heartbeat
// timeout (stopped with SIGSTOP, or a pause of the whole process) does not
// declare its peers down for the silence it slept through: it gives them
// another timeout, so the peers that declared it down see one NodeDown and
// one NodeUp, not a second reset when it resumes. A peer that no longer
// has a session open tells the sender of anything stamped with it
// (SessionClosed), so a half-open session (the resumed node's, or one a
// late Hello opened) ends at once rather than at its heartbeat timeout.
//
// # Guarantees
//
//   - Messages from one process to another arrive in order and at most
//     once, and in order with the links, monitors, exits and calls sent
//     to the same node (user messages travel in per-peer batches, through
//     the same queue); a message sent while there is no session is queued
//     (up to WithMaxPending) until one opens, and dropped if it fails.
//   - Within a session, a link or monitor across nodes fires exactly once:
//     with the process's exit reason, or with NoConnection if the session
//     ends first. After a session ends, nothing sent in it is delivered:
//     each side gives every session an id of its own, never reused during
//     its boot, and the other side stamps it on everything it sends, so a
//     message that an old connection delivers late (after a network cut
//     heals) is dropped even when a new session between the same two boots
//     is open by then.
//   - A PID of an earlier boot of a node (same name, other creation) is
//     never delivered to: messages are dropped, calls, links and monitors
//     get actor.NoProc.
//   - A packet or envelope that is malformed, of another protocol
//     version, or carries a payload of an unknown type is dropped, logged
//     at debug level and counted in Stats; it never crashes the node, and
//     the packets after it on the same stream are still read.
//   - Sends never block on the network: each peer's stream has a writer
//     goroutine of its own (a call or reply that finds the stream idle is
//     written by its sender, but only as far as the socket takes it at
//     once; the writer writes the rest), a send to an unreachable node
//     returns at once, and a Call waits at most until its context's
//     deadline (actor.DefaultCallTimeout without one).
//   - A call made outside any process (Node.Call from a plain goroutine,
//     CallNamed) while the session's stream is idle goes on a call
//     connection of the peer's pool (ADR 0011, PROTOCOL.md): the caller
//     writes the request and reads the reply itself, which saves a
//     goroutine hand-off per call. It keeps every guarantee above: the
//     request is delivered only after what this node sent the peer before
//     it, and the reply returned only after what the peer sent before it;
//     a call connection belongs to one session, and its end fails the
//     calls on it with NoConnection at once; the call ends at its
//     deadline, or when its ctx is cancelled, and closes its connection,
//     so a late reply reaches no later call. A call from a process, or
//     one that finds the stream busy or the pool full, goes on the
//     stream as before. The callee's process writes a pooled reply
//     itself, blocking until the socket takes it (for a large reply, at
//     most until the session ends). Stats counts pooled calls. On the
//     callee, a pooled request that finds its process idle is handled
//     on its call connection's goroutine, as a worker would handle it
//     (ADR 0011's amendment): no other thread is woken for it, and a
//     handler that blocks holds only that connection, whose caller is
//     waiting for its reply anyway. After its write, the caller polls
//     its connection for the reply for up to WithCallSpin (40 µs by
//     default; one caller per peer at a time) before it parks: on a
//     virtual machine whose CPUs idle, a parked caller's wake-up can
//     cost more than the round trip.
//   - Nodes and NodeUp/NodeDown reflect sessions, not the provider's view:
//     the provider only says whom to connect to.
//
// # Testing
//
// One node on the real network per OS process: protoactor's remote
// replaces gRPC's process-wide logger when it starts, which races with an
// earlier node's gRPC goroutines. Package cluster/clustertest runs any
// number of nodes in one process instead, on an in-memory network with the
// same sessions and guarantees (docs/adr/0006), and injects cuts, one-way
// cuts, stalls and delays between them.
package cluster

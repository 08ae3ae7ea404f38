// Package singleton runs a child once in a cluster. Wrap any child spec
// (a worker, or a whole supervision tree) with Spec and put the result in a
// supervisor on every node, in the child's place:
//
//	locker, err := consul.NewLocker(consul.WithLockAddress("127.0.0.1:8500"),
//		consul.WithLockHolder(c.Name()))
//	if err != nil { ... }
//	children := []supervision.ChildSpec{
//		singleton.Spec(billingSpec, singleton.WithLock(locker)),
//	}
//
// The child spec's ID is the cluster-wide key (WithKey sets another). On
// each node the spec starts a singleton process that owns the child: it
// starts the child only when its mode says this node may run it, stops it
// when that is no longer so, and waits to run it again.
//
// # Modes
//
// The lock mode (WithLock) runs the child only while this node holds a
// lock on the key from a cluster.Locker: cluster/consul's Locker, on a
// Consul session. It prefers "at most one" to availability: during a
// netsplit, or while Consul is unreachable, no instance may run at all, but
// two never do. The registry mode (WithRegistry, Highlander) claims the key
// in a replicated registry scope added with AddScope: one instance per
// connected part of the cluster, the younger one shut down after a netsplit
// heals. A Spec with neither fails to start with ErrNoMode. See "The
// registry mode" below and docs/singletons.md for when to pick which.
//
// # The lock mode step by step
//
//   - The singleton's keeper asks the Locker for the key; while another
//     node holds it, it waits (a blocking query in Consul).
//   - Holding the lock, the singleton starts the child with the child
//     spec's Start, as a supervisor would (the child's parent is the
//     singleton's process), and sends Acquired (or Takeover, when another
//     node held the key before).
//   - When the lease is lost, the child is stopped with actor.Shutdown
//     within its shutdown limit (a child that traps exits gets an
//     actor.Exit and can clean up; killed after the limit), then Lost and
//     Waiting are sent and the keeper gives the lock up and tries again.
//     A lease is lost when Consul says the session is gone or the key is
//     another's, and, before Consul could expire the session, when the
//     node could not renew it within its renew deadline (Consul
//     unreachable, the process frozen). The singleton checks the lease by
//     the clock before every message it handles, so a process resumed
//     after a freeze stops its child before it does anything else.
//   - When the child exits by itself, the singleton gives the lock up and
//     exits with the child's reason: its supervisor applies the child's
//     restart type to the singleton, which then waits for the lock again.
//   - When its supervisor stops it, the singleton stops the child within
//     its limit and releases the lock, so another node takes over at once
//     (no lock-delay).
//
// # The registry mode step by step
//
// Add the scope on every node, then wrap the child:
//
//	reg := registry.NewCluster(c)
//	if err := singleton.AddScope(reg, "singletons"); err != nil { ... }
//	children := []supervision.ChildSpec{
//		singleton.Spec(reportSpec, singleton.WithRegistry(reg, "singletons")),
//	}
//	reply, err := singleton.Call(ctx, reg, "singletons", "report", req) // any node
//
// On each node, then:
//
//   - The singleton's process registers itself under the key. If the
//     key is free it waits 100 ms (so that claims made at the same
//     moment are resolved first), checks the claim is still its own,
//     starts the child, publishes the child's PID for Whereis and sends
//     Acquired (Takeover if it had seen another holder).
//   - If another holds the key it sends Waiting and watches: when the
//     name is freed on its node (the holder exited, or its node was
//     declared down), it claims again; when it was freed by a conflict
//     resolved elsewhere, the winner holds the key (its claim may reach
//     this node a moment later), so it only looks again a second later.
//   - When the key is held twice (a netsplit healed), the scope's
//     resolver keeps the instance that has served longest; the other is
//     stopped with actor.Shutdown within its shutdown limit, Conflict
//     and Waiting are sent, and its singleton watches again. A node that
//     starts alone and joins later so stops its own instance, never the
//     long-running one.
//   - The child's own exit and the supervisor's stop are handled as in
//     the lock mode, the key taking the lock's place.
//
// Whereis, Call and Cast find the instance from any node of the scope.
//
// # Fencing
//
// A child reads the token of the lock it runs under with FencingToken, in
// its Start function, in its own process or in a process it started. It
// only ever reads the token of the lease it was started under (ErrNotHeld
// once that is lost), never a later one:
//
//	func (w *biller) Init(ctx *actor.Context) error {
//		tok, err := singleton.FencingToken(ctx)
//		...
//	}
//
// Tokens strictly increase from one holding of the key to the next,
// whichever node holds it. Send the token with every write to an outside
// system and have that system refuse a token lower than one it has seen:
// that, not timing, is what keeps a holder that was frozen, and resumed
// after another took over, from doing harm. FencingToken also checks the
// lease by the clock on each call and returns ErrNotHeld once its renew
// deadline has passed, before the child is told to stop.
//
// # Events
//
// Each transition is logged as a structured zerolog event (component
// "singleton", mode "lock" or "registry", and the fields event, key,
// node, token, previous, child, why, error or reason; the registry
// mode's claims and watching are at debug level) and sent as an Event to
// the processes that subscribed, with WithSubscriber or Subscribe:
// Waiting, Acquired, Takeover, Lost, Released, and Conflict in the
// registry mode.
//
// # Guarantees
//
//   - In the lock mode, at most one child runs per key among nodes that
//     use the same Consul cluster, provided the child is gone within the
//     Locker's stop budget (StopBudgeter; TTL/2 + lock-delay, 7 s with
//     the defaults): the child is told to stop at the renew deadline
//     (TTL/2 after the last confirmed renewal) and Consul expires a
//     session no earlier than TTL after its last renewal, then refuses
//     the key for the lock-delay. A Spec whose child's shutdown limit is
//     not under the budget (Infinity never is) fails to start with
//     ErrShutdownTooLong. A child still alive after its kill is watched,
//     and the lock is not tried again until it has exited; when the
//     singleton's process is killed, its child is killed past its limit
//     and the lock is released only once the child has exited. A process frozen longer than that still holds a running
//     child when it resumes: it stops it at once, and FencingToken refuses
//     it at once, but a write it had begun before the freeze may complete
//     after: that is what the token is for.
//   - Takeover after a holder's node dies takes about 2×TTL plus the
//     lock-delay plus 0.2 s: 22.2 s with the defaults (measured p50
//     22.0 s, p99 23.7 s; consul/api's Lock defaults take about 50 s);
//     after a clean stop it is immediate.
//   - While Consul is unreachable no node starts the child; the holder
//     stops its own within the renew deadline plus its shutdown limit.
//   - Tokens live in Consul's Raft state: they keep increasing across
//     restarts of a Consul cluster that keeps its data, not of a -dev agent.
//   - In the registry mode, one instance runs per connected part of the
//     cluster: during a netsplit each side runs one; after the heal the
//     younger is stopped within about 0.6 s plus its shutdown limit. A
//     new instance starts about 0.1 s after a holder's node is killed
//     (its stream breaks) and 3.6 s after it freezes (the default
//     heartbeat timeout plus interval), plus the 100 ms settle time.
//     Claims racing for longer than the settle time (a message delayed
//     that long) can start two children for as long as the race lasts;
//     the younger is then stopped.
//   - Events reach local subscribers only, in order; a subscriber that
//     exits is dropped.
package singleton

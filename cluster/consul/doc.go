// Package consul is a cluster.Provider backed by a Consul agent: each node
// registers itself as an instance of a Consul service with a TTL check it
// keeps passing, and watches the passing instances of that service with
// blocking queries. It is also a cluster.Locker (NewLocker): locks on
// keys held through Consul sessions, with a fencing token, which
// cluster/singleton's lock mode runs on.
//
//	p := consul.New(consul.WithAddress("127.0.0.1:8500"), consul.WithService("shop"))
//	c, err := cluster.Start(ctx, "api", cluster.WithProvider(p))
//
// The service instance's ID is the node's name (name@host:port) and its
// metadata key "arbor-node" holds it too; the node list given to the
// cluster is the set of those names among passing instances.
//
// # Guarantees
//
//   - A node stays registered while it runs: its TTL check is updated every
//     TTL/3, and if the agent forgot it (an agent restart in dev mode, a
//     deregistration) it registers again on the next update.
//   - Stop deregisters the node. A node that dies without Stop turns
//     critical after the TTL and is removed from the members other nodes
//     see; Consul deregisters it after DeregisterAfter.
//   - When Consul cannot be reached the last view is kept (never an empty
//     one), the failure is logged, and the watch retries with a backoff up
//     to 5 s. The view may therefore be stale; sessions between nodes, and
//     NodeUp/NodeDown, do not depend on Consul.
//
// # Locks
//
//	l, err := consul.NewLocker(consul.WithLockAddress("127.0.0.1:8500"), consul.WithLockHolder(c.Name()))
//	lease, err := l.Acquire(ctx, "billing") // blocks until held
//	defer lease.Release(ctx)
//	select { case <-lease.Lost(): ... }
//
// The lock on key k is the KV pair arbor/lock/k (WithLockPrefix), acquired
// with a session of TTL 10 s (WithLockTTL) and lock-delay 2 s
// (WithLockDelay), whose behaviour is release. The holder renews the
// session every TTL/5 and considers the lease lost when it has not
// renewed it for TTL/2, its renew deadline: measured from the moment the
// last successful renewal was sent, by the monotonic clock and by the wall
// clock, whichever says more, so neither a freeze (SIGSTOP: the monotonic
// clock runs on) nor a suspended machine (the monotonic clock stops; the
// wall clock does not) can hide from it. Lease.Held checks that deadline
// on each call; Lost is closed by it, by Consul invalidating the session
// (a renewal answered "not found"), or by the pair passing to another
// session (a consistent blocking query on it).
//
// Every request to Consul has its own timeout, so a hung agent (a frozen
// process, a path gone silent with its connections open) fails requests
// rather than holding them: a renewal is bounded by the renew interval,
// a session create or the acquiring transaction by the renew deadline, a
// blocking query by its wait time plus 1/16 plus the renew deadline.
// Acquire then reports Consul unreachable and keeps trying.
//
// Acquire waits on a blocking query while the key is held, tries when it
// is free (a transaction that reads the pair, locks it and reads it
// again), and retries every 200 ms while a lock-delay refuses it. The
// fencing token is the pair's ModifyIndex read in that transaction: the
// Raft index of the acquiring write, which is greater than that of any
// earlier acquisition of the key. The pair's LockIndex would not do: it
// starts again at 1 when the pair is deleted. Release releases the pair
// (the next holder gets it without lock-delay) and destroys the session.
//
// Timing, with TTL T and lock-delay D: a holder that stops cleanly hands
// over at once; one that dies is taken over when Consul expires its
// session, between T and 2T after its last renewal (Consul's servers wait
// 2T), plus D and a retry: 2T + D + 0.2 s, 22.2 s with the defaults
// (measured over 50 kills on a loaded machine: p50 22.0 s, p99 23.7 s).
// consul/api's Lock defaults (a 15 s TTL, 15 s lock-delay and a
// 5 s retry) give about 50 s. The holder gives its lease up T/2 after the
// last renewal it could send, before Consul may expire the session (T at
// the earliest). Its child then has the StopBudget, T/2 + D (7 s with the
// defaults), to be gone before anyone else can hold the key. Consul
// refuses TTLs under its servers' session_ttl_min, 10 s unless configured.
package consul

// Package registry names processes and gathers them into groups, after
// Erlang's Syn: a process registry and process groups, partitioned into
// scopes, with event callbacks.
//
// A Registry made with New serves its node alone. One made with
// NewCluster replicates each scope it adds among the nodes of the cluster
// that add the same scope (see "Across nodes" below).
//
// # Scopes
//
// A scope is an independent namespace of names and groups. A node takes
// part in the scopes it adds:
//
//	reg := registry.New(node)
//	err := reg.AddScope("users", registry.WithEventHandler(myHandler))
//
// Each scope runs as one process on the node (named
// ScopeProcessName(scope)): it performs every write of the scope and
// monitors every process that holds a name or a membership. Using a scope
// the node has not added returns ErrUnknownScope; the empty scope, which
// no node can add, returns ErrBadName.
//
// # Names
//
// A name maps to one process; a process may hold several names. Names and
// groups are strings: comparable, cheap to hash, and a protobuf string
// field on the wire. Encode structured keys into the string ("user/42").
//
//	err := reg.Register(ctx, "users", "user/42", pid, meta)
//	pid, meta, err := reg.Lookup("users", "user/42")
//	_, _, err = reg.Update(ctx, "users", "user/42", func(pid actor.PID, old any) any { return newMeta })
//	err = reg.Unregister(ctx, "users", "user/42", pid)
//
// A taken name fails with a *NameError wrapping ErrTaken that names the
// holder. When the process exits, all its names go.
//
// A protoactor-go actor is registered (RegisterProto) or joined
// (JoinProto) through its proxy, the process that stands for it on its
// own node: the entry names the proxy, calls and messages to it reach the
// actor, and the entry goes when the actor stops (docs/protoactor.md).
//
// # Errors
//
// Every error names what it is about. A refusal because of a name's
// holder is a *NameError (scope, name, holder) wrapping ErrTaken or
// ErrNotOwner; any other failure is an *OpError giving the operation, the
// scope, the name or group and the process, wrapping one of the package's
// sentinels or the error of the call to the scope process:
//
//	registry: lookup name "user/42" in scope "users": name not registered
//
// Test for the cause with errors.Is (errors.Is(err, registry.ErrNotRegistered))
// and get the details with errors.As.
//
// # Groups
//
// A process joins any number of groups, each with its own metadata:
//
//	err := reg.Join(ctx, "users", "room/7", pid, meta)
//	members, err := reg.Members("users", "room/7") // shared: do not modify
//	seq, err := reg.MembersSeq("users", "room/7")  // for m := range seq { ... }
//	n, err := reg.Publish(ctx, "users", "room/7", msg)
//	replies, bad, err := reg.MultiCall(ctx, "users", "room/7", req)
//
// MultiCall sends req to every member as an actor.Call, concurrently, and
// sorts the members into those that replied before ctx's deadline and the
// bad ones.
//
// Every Registry method has a twin on *Scope without the scope argument;
// hold a *Scope (Registry.Scope) on a hot path.
//
// # Metadata
//
// Metadata is an any. On a single node any value is accepted and stored
// as is (treat it as immutable once registered: readers share it). A scope
// that is replicated across nodes needs metadata that can cross the wire:
// a proto.Message of at most MaxMetaBytes encoded, or nil. The registry is not generic over the metadata
// type because one scope is shared by independent parts of an application
// and by nodes that decode metadata from the wire; a type parameter would
// force one Go type on all of them and would not survive decoding anyway.
//
// # Across nodes
//
// On a cluster, create the registry with NewCluster:
//
//	c, err := cluster.Start(ctx, "api", ...)
//	reg := registry.NewCluster(c)
//	err = reg.AddScope("users", registry.WithEventHandler(myHandler))
//
// Every node of the cluster that adds "users" holds the names and groups
// of the processes of all of them, and runs the callbacks of every change
// (reasons RemoteScopeNodeUp when a node's entries arrive in a sync,
// RemoteScopeNodeDown when its node is lost, ConflictResolution for the
// changes a conflict makes). A node that did not add the scope sees none
// of it and cannot write into it. The scope process of a process's node
// makes every write about it: a write about a process of another node is
// forwarded there, and returns once this node shows it (or fails with
// ErrSessionEnded if this node loses the owner's node first). Metadata
// must be a proto.Message or nil (ErrMetaNotProto) whose encoding is at
// most MaxMetaBytes (ErrMetaTooLarge). A forwarded write that does not
// come from a scope process of the scope is refused and counted
// (Scope.Forged). When the same name ends up
// registered on two nodes (a race, or a netsplit that heals), the two
// owners resolve it: by default the later registration stays and the
// other process is killed with a *ConflictError; a ConflictResolver
// chooses instead, and its loser is not killed. docs/registry.md has the
// user's guide to a cluster and the protocol.
//
// # Via naming
//
// Via is a spawn option: the new process registers itself under a name
// before its Init runs, so it works with actor.Spawn, behaviour.Start and
// behaviour.StartLink (in a supervisor child's start function too). Call,
// Cast and Send then reach it by name:
//
//	pid, err := behaviour.Start(node, &Cache{}, registry.Via("svc", "cache"))
//	v, err := registry.Call(ctx, "svc", "cache", get{})
//	err = registry.Cast(ctx, "svc", "cache", put{})
//
// These functions take the scope from the node ctx belongs to: inside a
// handler pass the *actor.Context; outside any process mark the context
// with actor.WithNode (otherwise they return ErrNoNode). Start fails, and
// no process remains, if the name is held (a *NameError wrapping
// ErrTaken) or the node has not added the scope (ErrUnknownScope).
//
// # Event callbacks
//
// WithEventHandler takes a value implementing any of RegisteredHandler,
// UnregisteredHandler, RegistryUpdatedHandler, JoinedHandler, LeftHandler
// and GroupUpdatedHandler (and ConflictResolver, for replicated scopes);
// AddScope refuses a value that implements none of them (ErrBadHandler),
// which is what a callback with a mistyped signature would make.
// Each callback gets a Reason: Normal for an API call, ProcessExit with the
// exit reason when the process died, Undefined for processes that died
// while the scope process was down (below); RemoteScopeNodeUp/Down and
// ConflictResolution are the reasons of replicated scopes, which a single
// node never produces.
// Callbacks run on a separate
// process per scope, one at a time, in the order of the changes; a panic in
// one is logged and the registry carries on.
//
// # Guarantees
//
// Writes (Register, Unregister, Update, Join, Leave, UpdateMember) are
// serialised by the scope process. When a write returns, its effect is
// visible to every read on this node, and the callbacks it caused are
// queued.
//
// Reads (Lookup, Members, LocalMembers, IsMember, IsLocalMember, counts,
// group names, Publish, MultiCall) never go through the scope process:
// they read structures it publishes with atomic stores, so they never
// block and see either the state before or after any one write. A read
// concurrent with a write may miss that write; a read that starts after a
// write returned sees it.
//
// A local process that has exited is never returned by Lookup, Members,
// LocalMembers, IsMember or IsLocalMember, and never receives from Publish
// or MultiCall, from the moment its exit can be observed on this node
// (IsAlive reports false; this precedes its monitors' Down, its links'
// exit signals, WatchExit and failing calls). These reads check the
// liveness of each local PID they would return; the scope process removes
// the entries themselves when it handles the process's Down.
//
// What a read may still see of an exited process until the scope process
// has handled its Down (normally within microseconds): Count, LocalCount,
// MemberCount, LocalMemberCount, GroupCount, GroupNames and
// LocalGroupNames still count it, and Register of one of its names by
// another process succeeds (the scope process notices the holder is dead
// and removes it first).
//
// Callbacks fire exactly once per change, after the change is visible,
// one at a time per scope and in the order the scope process made the
// changes (so in order per name and per group). A process that exits
// produces OnProcessUnregistered and OnProcessLeft for each of its names
// and groups with reason ProcessExit{Err: its exit reason}.
//
// A scope process that dies is restarted by a keeper process of its own
// (up to five times in five seconds): the new one keeps the entries of the
// local processes still alive and monitors them again, removes those of
// processes that died meanwhile with reason Undefined, and in a replicated
// scope syncs again with its peers. Callbacks not yet run when it died are
// lost; one running then finishes before the first callback of the new
// scope process, so callbacks stay one at a time. Past the restart limit the scope's writes fail with
// ErrScopeStopped; reads keep serving the last published state.
//
// In a replicated scope, the above holds on each node for what it shows.
// Entries of other nodes may be stale by the time a change takes to cross
// the network (and, while the owner is busy with a burst of writes, up to
// 1 ms while it batches them), and, when a node is lost, until the
// cluster declares it down (about 1 s for a broken connection; heartbeat
// timeout plus interval, 3.5 s by default, for a silent one). Each node
// applies one owner's changes in the owner's order, so callbacks stay in
// order per name and per group on every node; a change that is already
// known fires nothing. A remote entry is returned by reads until its owner withdraws
// it or its node is lost: reads check liveness only for local processes.
package registry

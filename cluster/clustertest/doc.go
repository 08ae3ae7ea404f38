// Package clustertest runs a whole Arbor cluster inside one test: N
// cluster nodes on an in-memory network in the test's own process, with
// the faults of a real network to inject between any two of them (a cut,
// a one-way cut, a stall, a delay) and to heal. Use it to test your own
// distributed code — a registry handler, a singleton, a protocol between
// GenServers — through netsplits, under -race, without child processes
// or sockets.
//
//	func TestFailover(t *testing.T) {
//		c := clustertest.Start(t, 3) // a, b, c, connected; stopped at cleanup
//		a, b := c.Node(0), c.Node(1)
//		// ... spawn your processes on a.Node(), b.Node() ...
//		c.Cut(a, b)           // a netsplit between a and b
//		// ... a and b each get NodeDown; links and monitors across fire
//		//     with actor.NoConnection ...
//		c.Heal(a, b)
//		if err := c.WaitConnected(ctx); err != nil { t.Fatal(err) }
//	}
//
// The nodes are real cluster nodes (cluster.Cluster), with the same
// sessions, heartbeats, epochs and failure detection as on the real
// network (ADR 0006): only the bytes travel through memory instead of
// gRPC. No node of the in-memory network starts protoactor remote or
// gRPC, which is what lets several of them share a process under -race
// (a node on the real network cannot: protoactor's remote replaces gRPC's
// process-wide logger when it starts). Each node's protoactor actor system
// still carries the node's address, so a protoactor actor's PID names its
// node, as on the real network.
//
// A Call, Send or Cast made outside any process goes from the node named
// with actor.WithNode(ctx, n.Node()): to a process of another node it
// crosses the network, with its faults and its rule that messages be
// protobuf. Without WithNode, the PID's own node sends it, as a local
// message, since that node runs in the test's process too.
//
// # Faults
//
// A cut holds the packets between two nodes (as a silent blackhole: no
// error, nothing arrives) and fails new connections between them: each
// side sees NodeDown with cluster.ErrHeartbeatTimeout within the
// heartbeat timeout plus one interval. Heal lets what was held move on
// (a session that ended meanwhile drops it, as the guarantees of package
// cluster say) and the nodes reconnect within a reconnect interval.
// StallConnections freezes only the connections open at the time: the
// session ends on its heartbeat timeout and a new one opens on new
// connections, while the old ones hold what the old session sent, to
// deliver it late when healed.
//
// Reset, after Cut, makes the cut loud: the connections reset and both
// sides see the session end at once. Crash ends a node as kill -9 does
// (connections reset, nothing it would say on the way out leaves),
// StopNode as a clean exit does (its Goodbye arrives), and Restart boots
// it again on its name and address.
//
// # Each node's setup
//
// WithSetup runs a function on every node as it starts, and on a node
// Restart starts again: add its registry scopes there
// (registry.NewCluster, AddScope), its singletons' scope
// (singleton.AddScope) and the supervisors that run them, its
// applications. docs/testing.md shows a registry handler and a singleton
// tested through a netsplit; Example_registry and Example_singleton run
// them.
//
// Time is the time package's. Run a test inside testing/synctest's
// bubble and the heartbeats, timeouts and delays follow its fake clock:
// a heartbeat timeout then passes in no time, and the same schedule
// gives the same timings on every run (the order in which goroutines run
// at one fake instant is still the runtime's; docs/testing.md says what a
// seed reruns).
//
// # Guarantees
//
//   - Start and New return once every pair of nodes has a session.
//   - WaitConnected returns once every pair of nodes with no fault between
//     them has a session, and every pair with a cut or a stall has none.
//   - Stop (and Start's cleanup) stops every node; no goroutine of the
//     network or of the nodes outlives it.
package clustertest

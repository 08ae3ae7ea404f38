// Package consul is a cluster.Provider backed by a Consul agent: each node
// registers itself as an instance of a Consul service with a TTL check it
// keeps passing, and watches the passing instances of that service with
// blocking queries.
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
package consul

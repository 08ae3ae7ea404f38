// Package seam is where package actor, which runs a node's processes, meets
// package cluster, which carries their messages and signals to other nodes.
//
// Everything a transport needs from a node (building PIDs and Refs from
// their wire form, delivering what arrived from the wire, serving a remote
// call, installing itself) is reachable only through this package, which
// only Arbor's own packages can import: a program using Arbor cannot
// replace or remove a clustered node's transport, forge a PID or a Ref, or
// kill every process of a node except through the public API.
//
// The package cannot name actor's types (it sits below actor, DESIGN §1),
// so its types take them as type parameters. Package actor installs one
// Runtime at init; package cluster fetches it once with the same type
// arguments:
//
//	var rt = seam.Installed[*actor.Node, actor.PID, actor.Ref, *actor.Request]()
//
// SignalKind is Arbor's one enum of signal kinds: package actor uses it for
// the signals of its system queues, and package cluster writes it on the
// wire as it is (the numbers of the wire's SignalKind are the same).
package seam

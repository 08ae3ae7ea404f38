// Package archtest holds no code, only tests: they fail when an import
// breaks the layering of DESIGN.md §1, or when the seam between actor and
// the cluster transport leaks into a public API.
//
// The layers, lowest first, are:
//
//	internal/...  actor  behaviour  supervision  cluster  cluster/consul
//	registry  cluster/singleton  application  sys  observer
//
// A package may import Arbor packages of its own layer or of a lower one,
// never of a higher one. Sub-packages belong to the layer of their nearest
// listed ancestor (cluster/wire is in the cluster layer, actor/internal/x in
// the actor layer). Above every layer sit examples/... and bench/...: they
// may import any public Arbor package but nothing under internal/ (their
// tests may still use internal/testkit), and no other package may import
// them. Only cluster/consul imports github.com/hashicorp/consul/api.
//
// The rules apply to a package's own imports and to those of its in-package
// tests. External test packages (package foo_test) are exempt from them, as
// examples are: they use a package from the outside. A package whose
// directory fits none of the rows above fails the test, so that a new
// package is placed in the table on purpose, here and in DESIGN.md.
//
// The test reads the module's packages with `go list -e -json ./...`; a
// layer with no package yet is simply absent.
//
// # The transport seam
//
// Package actor gives the cluster transport what it needs (PIDs and Refs
// from their wire form, delivery of remote messages, signals and calls,
// the node's transport slot) through internal/seam only. TestSeamStaysInternal
// fails if actor exports one of the names it once exported for that
// (NewRemotePID, MakeRef, Node.SetTransport, Node.KillAll, the SignalKind
// constants, ...), or if any public package's exported API mentions a type of
// internal/seam.
package archtest

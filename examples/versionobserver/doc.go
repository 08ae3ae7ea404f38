// Command versionobserver is one node of a cluster whose web page tells
// its readers to reload once every node runs a new major version of the
// application (seed 004, on Arbor). README.md explains it step by step.
//
// Three nodes on one machine, with the static provider:
//
//	go run ./examples/versionobserver -name n1 -listen 127.0.0.1:7101 -http 127.0.0.1:4001 -peers n2@127.0.0.1:7102,n3@127.0.0.1:7103
//	go run ./examples/versionobserver -name n2 -listen 127.0.0.1:7102 -http 127.0.0.1:4002 -peers n1@127.0.0.1:7101,n3@127.0.0.1:7103
//	go run ./examples/versionobserver -name n3 -listen 127.0.0.1:7103 -http 127.0.0.1:4003 -peers n1@127.0.0.1:7101,n2@127.0.0.1:7102
//
// or through a Consul agent: -consul 127.0.0.1:8500 instead of -peers.
// -vsn 1.0.0 makes the same binary run another version. `make demo`
// starts the three nodes and prints their pages.
package main

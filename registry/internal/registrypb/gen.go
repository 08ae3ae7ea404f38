// Package registrypb holds the generated protobuf types of the registry's
// replication protocol (registry.proto; docs/registry.md describes it).
// Regenerate with `make proto`.
package registrypb

//go:generate protoc --go_out=. --go_opt=paths=source_relative registry.proto

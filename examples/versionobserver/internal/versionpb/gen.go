// Package versionpb holds the generated protobuf types of the version
// observer example (version.proto). Regenerate with `make proto`.
package versionpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative version.proto

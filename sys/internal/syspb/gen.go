// Package syspb holds the generated protobuf types of remote sys
// (sys.proto). Regenerate with `make proto`.
package syspb

//go:generate protoc --go_out=. --go_opt=paths=source_relative sys.proto

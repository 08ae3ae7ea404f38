// Package clusterpb holds the generated protobuf types of Arbor's
// node-to-node protocol (arbor.proto). Regenerate with `make proto`.
package clusterpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative arbor.proto
//go:generate protoc --go_out=. --go_opt=paths=source_relative protoactor.proto

package registry_test

import (
	"context"
	"testing"

	"github.com/arbor-otp/arbor/actor"
)

// BenchmarkCallFloor measures a bare actor.Call round trip to a process
// that replies at once: the floor of any write that goes through the
// scope process.
func BenchmarkCallFloor(b *testing.B) {
	n, _ := benchNode(b)
	pid, err := n.Spawn(worker{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := actor.Call(ctx, pid, 1); err != nil {
			b.Fatal(err)
		}
	}
}

package actor

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
)

// A spawn without options allocates the process record and nothing else:
// its config stays on the stack (spawnConfigOf), where taking its address
// for the options moved it to the heap, one more allocation per spawn.
func TestSpawnAllocatesTheRecordOnly(t *testing.T) {
	n := NewNode(WithLogger(zerolog.Nop()))
	defer func() { _ = n.Stop(context.Background()) }()
	idle := ReceiverFunc(func(*Context, any) error { return nil })
	// The process table grows now and then: over 1000 spawns its growth
	// is well under one allocation each.
	if allocs := testing.AllocsPerRun(1000, func() {
		if _, err := n.Spawn(idle); err != nil {
			t.Fatal(err)
		}
	}); allocs > 1 {
		t.Fatalf("a spawn allocates %v times, want 1 (the process record)", allocs)
	}
}

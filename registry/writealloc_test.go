package registry_test

import (
	"context"
	"testing"
)

// A Register is two allocations on the caller's and the scope process's
// side together, besides what a new holder or a new name needs (its
// record, the table's growth): the call's Request and the write, which
// holds the entry the names table shows (the scope process allocates no
// item of its own). Registering a name its holder holds already (new
// metadata, the same process) needs nothing else.
func TestRegisterAllocatesTheRequestAndTheWrite(t *testing.T) {
	n, _, s := newScope(t)
	pid, err := n.Spawn(worker{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Register(ctx, "x", pid, nil); err != nil {
		t.Fatal(err)
	}
	// Under -race a sync.Pool drops a quarter of what it is given, so the
	// call's pooled waiter is now and then made again (its channel and
	// timer): up to one allocation more per call on average.
	want := 2.0
	if raceEnabled {
		want = 3
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := s.Register(ctx, "x", pid, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > want {
		t.Fatalf("a Register allocates %v times, want %v (the request and the write)", allocs, want)
	}
}

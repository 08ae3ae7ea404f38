package registry_test

import (
	"context"
	"strconv"
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

// A Register of a new name by a process the scope does not know yet adds
// only the process's monitor to that: its record in the scope process is
// in a page of 64 (procIndex), no allocation of its own. Spawning the
// process is its record, one allocation.
func TestRegisterOfANewProcessAllocatesLittle(t *testing.T) {
	n, _, s := newScope(t)
	ctx := context.Background()
	const runs = 1000
	names := make([]string, runs+1)
	for i := range names {
		names[i] = "n" + strconv.Itoa(i)
	}
	i := 0
	allocs := testing.AllocsPerRun(runs, func() {
		pid, err := n.Spawn(worker{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Register(ctx, names[i], pid, nil); err != nil {
			t.Fatal(err)
		}
		i++
	})
	want := 3.0 // the process, the call's request, the write; the tables' growth is under one
	if raceEnabled {
		want = 4
	}
	if allocs > want {
		t.Fatalf("a spawn and a Register allocate %v times, want %v", allocs, want)
	}
}

package actor

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"unsafe"
)

// TestMonitorSetMatchesAMap runs random adds (mostly in increasing id
// order, as a process makes them, some out of order), removes of held and
// unknown ids, and shrinks against a map, checking the set's contents,
// order and count after each step.
func TestMonitorSetMatchesAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2))
	var s monitorSet
	want := map[uint64]PID{}
	next := uint64(1)
	ident := &nodeIdent{name: "n"}
	for step := range 20000 {
		switch op := rng.IntN(10); {
		case op < 5: // add the next id
			pid := PID{node: ident, index: uint32(next)}
			if rng.IntN(20) == 0 {
				pid = PID{} // a monitor of the zero PID is a monitor too
			}
			s.add(next, pid)
			want[next] = pid
			next += 1 + uint64(rng.IntN(3))
		case op == 5 && next > 2: // add an id below the last, unless held
			id := 1 + rng.Uint64N(next-1)
			if _, ok := want[id]; !ok {
				s.add(id, PID{node: ident, index: uint32(id)})
				want[id] = PID{node: ident, index: uint32(id)}
			}
		case op < 9: // remove a held id or an unknown one
			id := 1 + rng.Uint64N(next)
			pid, ok := s.remove(id)
			wpid, wok := want[id]
			if ok != wok || pid != wpid {
				t.Fatalf("step %d: remove(%d) = %v, %v; want %v, %v", step, id, pid, ok, wpid, wok)
			}
			delete(want, id)
		default:
			s.shrink()
		}
		if s.len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", step, s.len(), len(want))
		}
		if step%97 == 0 {
			var ids []uint64
			s.each(func(id uint64, pid PID) {
				if want[id] != pid {
					t.Fatalf("step %d: id %d has %v, want %v", step, id, pid, want[id])
				}
				ids = append(ids, id)
			})
			if len(ids) != len(want) || !slices.IsSorted(ids) {
				t.Fatalf("step %d: each gave %d ids (sorted %v), want %d", step, len(ids), slices.IsSorted(ids), len(want))
			}
		}
	}
}

// TestMonitorSetAddAllocatesLittle: adding monitors in id order costs
// the slice's doubling alone: a few allocations, and at most about twice
// the final slice's bytes (append's growth by a quarter for large slices
// allocated about five times).
func TestMonitorSetAddAllocatesLittle(t *testing.T) {
	ident := &nodeIdent{name: "n"}
	const n = 100000
	var s monitorSet
	build := func() {
		s = monitorSet{}
		for i := range n {
			s.add(uint64(i+1), PID{node: ident, index: uint32(i)})
		}
	}
	// Allocations are counted process-wide: AllocsPerRun runs build with
	// one P and averages over runs, so that what other goroutines of the
	// test binary allocate meanwhile (under -shuffle, -race) does not
	// count against it. A run made 25 with one direct count.
	if allocs := testing.AllocsPerRun(5, build); allocs > 20 {
		t.Fatalf("%.1f allocations for %d monitors; want at most 20 (the list grows by doubling)", allocs, n)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	build()
	runtime.ReadMemStats(&after)
	size := uint64(unsafe.Sizeof(monitorEnt{}))
	if bytes := after.TotalAlloc - before.TotalAlloc; bytes > 3*n*size {
		t.Fatalf("%d bytes for %d monitors of %d bytes; want at most %d", bytes, n, size, 3*n*size)
	}
	if s.len() != n {
		t.Fatalf("len %d, want %d", s.len(), n)
	}
}

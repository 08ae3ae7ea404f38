package actor

import "testing"

// TestWatcherSet walks the set through its inline, slice and map forms,
// removing from each, and checks its contents against a plain map.
func TestWatcherSet(t *testing.T) {
	id := internIdent("watchers-test", 1)
	for _, size := range []int{1, 2, smallWatchers, smallWatchers + 1, smallWatchers + 2, 100} {
		var w watcherSet
		want := map[Ref]PID{}
		for i := 1; i <= size; i++ {
			ref, pid := Ref{node: id, id: uint64(i)}, PID{node: id, index: uint32(i), serial: 1}
			w.add(ref, pid)
			want[ref] = pid
		}
		for i := 1; i <= size; i += 3 { // remove a third, spread over the forms
			ref := Ref{node: id, id: uint64(i)}
			w.remove(ref)
			delete(want, ref)
		}
		w.remove(Ref{node: id, id: 10_000}) // absent: no effect
		got := map[Ref]PID{}
		w.each(func(r Ref, p PID) {
			if _, dup := got[r]; dup {
				t.Fatalf("size %d: %v listed twice", size, r)
			}
			got[r] = p
		})
		if len(got) != len(want) {
			t.Fatalf("size %d: %d watchers, want %d", size, len(got), len(want))
		}
		for r, p := range want {
			if got[r] != p {
				t.Fatalf("size %d: %v → %v, want %v", size, r, got[r], p)
			}
		}
	}
}

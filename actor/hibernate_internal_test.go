package actor

import "testing"

// TestWatcherSetCompact: compacting keeps every watcher, in whichever form
// the set ends up.
func TestWatcherSetCompact(t *testing.T) {
	id := internIdent("compact-test", 1)
	for _, keep := range []int{0, 1, 2, smallWatchers, smallWatchers + 1, 50} {
		var w watcherSet
		want := map[Ref]PID{}
		for i := 1; i <= 100; i++ {
			ref, pid := Ref{node: id, id: uint64(i)}, PID{node: id, index: uint32(i), serial: 1}
			w.add(ref, pid)
			if i <= keep {
				want[ref] = pid
			}
		}
		for i := keep + 1; i <= 100; i++ {
			w.remove(Ref{node: id, id: uint64(i)})
		}
		w.compact()
		if keep <= smallWatchers && w.m != nil {
			t.Fatalf("keep %d: still a map", keep)
		}
		got := map[Ref]PID{}
		w.each(func(r Ref, p PID) { got[r] = p })
		if len(got) != len(want) {
			t.Fatalf("keep %d: %d watchers, want %d", keep, len(got), len(want))
		}
		for r, p := range want {
			if got[r] != p {
				t.Fatalf("keep %d: %v → %v, want %v", keep, r, got[r], p)
			}
		}
	}
}

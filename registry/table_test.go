package registry

import (
	"fmt"
	"testing"

	"github.com/arbor-otp/arbor/actor"
)

// The table against a map, through growth, removals and tombstone reuse.
func TestTable(t *testing.T) {
	tb := newTable[string, int](hashString)
	want := map[string]int{}
	check := func(step string) {
		t.Helper()
		for k, v := range want {
			if it := tb.load(k); it == nil || it.val != v {
				t.Fatalf("%s: load(%q) = %v, want %d", step, k, it, v)
			}
		}
		if tb.live != len(want) {
			t.Fatalf("%s: live = %d, want %d", step, tb.live, len(want))
		}
		if it := tb.load("absent"); it != nil {
			t.Fatalf("%s: load(absent) = %v", step, it)
		}
	}
	for i := range 1000 {
		k := fmt.Sprint("k", i)
		if prev := tb.store(k, i); prev != nil {
			t.Fatalf("store(%q) replaced %v", k, prev)
		}
		want[k] = i
	}
	check("grown")
	for i := 0; i < 1000; i += 3 {
		k := fmt.Sprint("k", i)
		if it := tb.remove(k); it == nil || it.val != i {
			t.Fatalf("remove(%q) = %v", k, it)
		}
		if it := tb.remove(k); it != nil {
			t.Fatalf("second remove(%q) = %v", k, it)
		}
		delete(want, k)
	}
	check("removed")
	for i := 1; i < 1000; i += 3 {
		k := fmt.Sprint("k", i)
		if prev := tb.store(k, -i); prev == nil || prev.val != i {
			t.Fatalf("replace(%q) = %v", k, prev)
		}
		want[k] = -i
	}
	check("replaced")
	// Churn: the same few keys added and removed many times must not grow
	// the table (tombstones are reclaimed by rebuilds).
	size := len(tb.cur.Load().s)
	for i := range 100_000 {
		k := fmt.Sprint("c", i%10)
		tb.store(k, i)
		tb.remove(k)
	}
	check("churned")
	if got := len(tb.cur.Load().s); got != size {
		t.Fatalf("table grew from %d to %d slots under churn", size, got)
	}
}

// Two processes of the same table slot (the first one dead, its Down not
// handled yet) have separate records.
func TestProcIndexSlotReuse(t *testing.T) {
	var x procIndex
	old := RemotePID("n", 1, 5, 1)
	cur := RemotePID("n", 1, 5, 2)
	far := RemotePID("n", 1, 5000, 1)
	a, b, c := x.add(old), x.add(cur), x.add(far)
	a.names, b.names, c.names = []string{"a"}, []string{"b"}, []string{"c"}
	if a == b || x.get(old) != a || x.get(cur) != b || x.get(far) != c {
		t.Fatalf("get after add: %p %p %p (added %p %p %p)", x.get(old), x.get(cur), x.get(far), a, b, c)
	}
	seen := map[actor.PID]string{}
	x.each(func(ps *procState) { seen[ps.pid] = ps.names[0] })
	if len(seen) != 3 || seen[old] != "a" || seen[cur] != "b" || seen[far] != "c" {
		t.Fatalf("each: %v", seen)
	}
	x.remove(old)
	if x.get(old) != nil || x.get(cur) != b || b.names[0] != "b" {
		t.Fatalf("after removing the old one: %p %p", x.get(old), x.get(cur))
	}
	// The freed slot takes the next process of that slot; the one in
	// the overflow keeps its record.
	next := RemotePID("n", 1, 5, 3)
	if d := x.add(next); x.get(next) != d || x.get(cur) != b || len(d.names) != 0 {
		t.Fatalf("after adding a third process of the slot: %p %p", x.get(next), x.get(cur))
	}
	x.remove(next)
	x.remove(cur)
	x.remove(far)
	if x.get(cur) != nil || x.get(far) != nil || x.get(next) != nil || x.get(RemotePID("n", 1, 1<<20, 1)) != nil {
		t.Fatal("records left after remove")
	}
	x.each(func(ps *procState) { t.Fatalf("each after remove: %v", ps.pid) })
	if x.get(actor.PID{}) != nil {
		t.Fatal("a free slot is the zero PID's record")
	}
}

// A new process's record is no allocation of its own: the index holds
// records by value, 64 to a page.
func TestProcIndexAddAllocatesPerPage(t *testing.T) {
	var x procIndex
	i := uint32(0)
	if allocs := testing.AllocsPerRun(1000, func() {
		i++
		x.add(RemotePID("n", 1, i, 1))
	}); allocs > 0 {
		t.Fatalf("an add allocates %v times, want under 1 (a page per 64)", allocs)
	}
}

// TestProcIndexGivesEmptyPagesUp: once the records of a peak are removed,
// the index keeps one empty page (for the next), not every page the peak
// needed; a lone process added and removed again and again reuses that
// one page.
func TestProcIndexGivesEmptyPagesUp(t *testing.T) {
	var x procIndex
	const n = 100 << procPageBits
	for i := range uint32(n) {
		x.add(RemotePID("n", 1, i, 1))
	}
	for i := range uint32(n) {
		x.remove(RemotePID("n", 1, i, 1))
	}
	for pg, page := range x.pages {
		if page != nil {
			t.Fatalf("page %d kept after its records were removed", pg)
		}
	}
	if x.spare == nil || x.spare.live != 0 || x.spare.slots[0].pid != (actor.PID{}) {
		t.Fatalf("no clean spare page: %+v", x.spare)
	}
	pid := RemotePID("n", 1, 7, 2)
	if allocs := testing.AllocsPerRun(100, func() {
		x.add(pid).names = []string{}
		x.remove(pid)
	}); allocs > 0 {
		t.Fatalf("a lone process's add and remove allocate %v times, want 0", allocs)
	}
	if ps := x.add(pid); x.get(pid) != ps || len(ps.names) != 0 {
		t.Fatal("a record from the spare page is not clean")
	}
}

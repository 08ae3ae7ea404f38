package registry

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestClaimMapMatchesAMap: random sets (new names and replacements), gets
// and deletes of held and unknown names, through growth and rebuilds
// full of tombstones, against a Go map.
func TestClaimMapMatchesAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var m claimMap
	want := map[string]*claim{}
	check := func(name string) {
		t.Helper()
		if got := m.get(name, hashString(name)); got != want[name] {
			t.Fatalf("get %q = %p, want %p", name, got, want[name])
		}
	}
	for i := range 200000 {
		name := strconv.Itoa(rng.IntN(3000))
		if i > 100000 {
			name = strconv.Itoa(rng.IntN(300)) // fewer names: deletes leave tombstones to clear
		}
		switch rng.IntN(4) {
		case 0, 1:
			c := newClaim(name, nameEntry{time: int64(i)}, uint64(i))
			m.set(hashString(name), c)
			want[name] = c
		case 2:
			if got := m.del(name, hashString(name)); got != want[name] {
				t.Fatalf("del %q = %p, want %p", name, got, want[name])
			}
			delete(want, name)
		}
		check(name)
		if m.len() != len(want) {
			t.Fatalf("len %d, want %d", m.len(), len(want))
		}
	}
	seen := 0
	m.each(func(c *claim) {
		seen++
		if want[c.shown.key] != c {
			t.Fatalf("each gave %q's %p, want %p", c.shown.key, c, want[c.shown.key])
		}
	})
	if seen != len(want) {
		t.Fatalf("each gave %d claims, want %d", seen, len(want))
	}
	if m.used > len(m.slots)/2 {
		t.Fatalf("%d of %d slots used", m.used, len(m.slots))
	}
}

package testkit

import "testing"

// FreePort's ports lie below the ephemeral range, so no dial can be given
// one as its local port, and none comes twice.
func TestFreePortBelowTheEphemeralRange(t *testing.T) {
	_, ephemeral := portRange()
	seen := map[int]bool{}
	for range 200 {
		p := FreePort(t)
		if p >= ephemeral || p < 1024 {
			t.Fatalf("port %d, want one below the ephemeral range (from %d)", p, ephemeral)
		}
		if seen[p] {
			t.Fatalf("port %d given twice", p)
		}
		seen[p] = true
	}
}

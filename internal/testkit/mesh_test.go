package testkit_test

import (
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// reaches reports whether a fresh connection on from's route to to
// carries a round trip (a Reset closes it at once).
func reaches(t *testing.T, m *testkit.Mesh, from, to string) bool {
	t.Helper()
	c, err := net.Dial("tcp", m.Route(from, to))
	if err != nil {
		return false
	}
	defer c.Close()
	got, err := roundTrip(c, "ping", 5*time.Second)
	return err == nil && got == "ping"
}

// checkReach checks every ordered pair of the mesh against the pairs
// that must be cut.
func checkReach(t *testing.T, m *testkit.Mesh, cut ...string) {
	t.Helper()
	for _, from := range m.Labels() {
		for _, to := range m.Labels() {
			if from == to {
				continue
			}
			want := !slices.Contains(cut, from+to)
			if got := reaches(t, m, from, to); got != want {
				t.Errorf("%s reaches %s: %v, want %v (faults %v)", from, to, got, want, m.Faulty())
			}
		}
	}
}

func TestMeshCutsOnePairOrOneWay(t *testing.T) {
	m := testkit.NewMesh(t, map[string]string{"a": echoServer(t), "b": echoServer(t), "c": echoServer(t)})
	if got := m.Routes("a"); len(got) != 2 || got["b"] != m.Route("a", "b") || got["c"] != m.Route("a", "c") {
		t.Fatalf("routes of a: %v", got)
	}
	if m.Route("a", "b") == m.Route("c", "b") {
		t.Fatal("a and c share a route to b")
	}
	checkReach(t, m)

	// A partial netsplit: a and b apart, c reaches both.
	m.CutPair("a", "b", testkit.Reset)
	checkReach(t, m, "ab", "ba")
	if got := m.Faulty(); !slices.Equal(got, []string{"a->b:reset", "b->a:reset"}) {
		t.Errorf("faulty %v", got)
	}
	m.HealPair("a", "b")
	checkReach(t, m)

	// One way: a's connections to b are silent, b's to a work; held bytes
	// cross once healed.
	held, err := net.Dial("tcp", m.Route("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	m.Cut("a", "b", testkit.Blackhole)
	if _, err := roundTrip(held, "late", 100*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a->b under a blackhole: %v, want a timeout", err)
	}
	if !reaches(t, m, "b", "a") || !reaches(t, m, "a", "c") {
		t.Error("a one-way cut a->b cut other routes")
	}
	m.Heal("a", "b")
	_ = held.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(held, buf); err != nil || string(buf) != "late" {
		t.Fatalf("after heal: %q %v", buf, err)
	}

	// A full split: a alone, b and c together.
	m.Isolate(testkit.Reset, "a")
	checkReach(t, m, "ab", "ba", "ac", "ca")
	m.HealAll()
	checkReach(t, m)
	if len(m.Faulty()) != 0 {
		t.Errorf("faulty after HealAll: %v", m.Faulty())
	}
}

package registry_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// Metadata too large for the wire fails the write with ErrMetaTooLarge
// (before, it was accepted, its announcement failed to send and the peer
// never converged: the two scope processes looped Discover/Snapshot).
// Metadata of MaxMetaBytes crosses, in changes and in a snapshot, and a
// later ordinary write reaches the peer. On both networks (forNets).
func TestReplicatedMetaTooLarge(t *testing.T) { forNets(t, replicatedMetaTooLarge) }

func replicatedMetaTooLarge(t *testing.T, mode netMode) {
	nn := startNet(t, mode, "", nil, nil, "a", "b", "c")
	nn.kill("c") // to join later
	a, b := nn.nodes["a"], nn.nodes["b"]
	eventually(t, a, b.name, "nodes")
	eventually(t, b, a.name, "nodes")
	w1, _ := spawnOn(t, a, "w1")
	w2, _ := spawnOn(t, a, "w2")
	if r := a.do("registerbig big w1 4200000"); !strings.Contains(r, "too large") {
		t.Fatalf("a: register of 4.2 MB metadata: %q, want an ErrMetaTooLarge error", r)
	}
	a.ok("registerbig edge1 w1 %d", registry.MaxMetaBytes-8)
	a.ok("registerbig edge2 w2 %d", registry.MaxMetaBytes-8)
	a.ok("register n2 w2 m2")
	eventually(t, b, w2+" m2", "lookup n2")
	eventually(t, b, fmt.Sprintf("%s %d", w1, registry.MaxMetaBytes-8), "lookupsize edge1")
	// A node that joins now gets them in its snapshot.
	c := nn.restart("c")
	eventually(t, c, fmt.Sprintf("%s %d", w2, registry.MaxMetaBytes-8), "lookupsize edge2")
	eventually(t, c, w2+" m2", "lookup n2")
	if n := strings.Count(a.logs.String(), "replication message not sent"); n != 0 {
		t.Errorf("a: %d replication messages not sent", n)
	}
}

func TestCheckMetaSize(t *testing.T) {
	if err := registry.CheckMeta(wrapperspb.Bytes(make([]byte, registry.MaxMetaBytes-8))); err != nil {
		t.Errorf("meta under the cap: %v", err)
	}
	err := registry.CheckMeta(wrapperspb.Bytes(make([]byte, registry.MaxMetaBytes)))
	if !errors.Is(err, registry.ErrMetaTooLarge) {
		t.Errorf("meta over the cap: %v, want ErrMetaTooLarge", err)
	}
	if err := registry.CheckMeta(nil); err != nil {
		t.Errorf("nil meta: %v", err)
	}
}

// A node that did not add the scope neither receives its entries nor
// injects any: its Discover is answered to the scope's name on its node,
// which it does not have; it cannot answer the scope's ask, a secret sent
// only to that name; and a forwarded write naming another node's scope
// process as its requester is refused and counted (before: the snapshot
// went to the forger's inbox, a guessed ask let it inject a name, and a
// forged requester passed the membership check).
func TestReplicatedNonMemberCannotReadOrInject(t *testing.T) {
	forNets(t, replicatedNonMemberCannotReadOrInject)
}

func replicatedNonMemberCannotReadOrInject(t *testing.T, mode netMode) {
	nn := startNet(t, mode, "", []string{"x"}, nil, "a", "b", "x")
	a, b, x := nn.nodes["a"], nn.nodes["b"], nn.nodes["x"]
	eventually(t, a, b.name, "nodes")
	eventually(t, b, a.name, "nodes")
	spawnOn(t, a, "w")
	a.ok("register secret w m")
	before, _ := strconv.Atoi(a.ok("dropped"))
	if r := x.ok("forgesync %s s", a.name); r != "leaked 0" {
		t.Errorf("x: forgesync: %s, want leaked 0", r)
	}
	testkit.Eventually(t, converge, func() error {
		if got, _ := strconv.Atoi(a.ok("dropped")); got < before+16 {
			return fmt.Errorf("a dropped %d, was %d: want the 16 guesses dropped", got, before)
		}
		return nil
	})
	if r := a.ok("lookup injected"); r != "none" {
		t.Errorf("a: a non-member injected a name: lookup injected is %s", r)
	}
	if r := a.ok("nodes"); r != b.name {
		t.Errorf("a: synced nodes %q, want only %q", r, b.name)
	}
	// A write that claims to come from b's scope process.
	_, w2 := spawnOn(t, a, "w2")
	if r := x.ok("forgewrite %s s %s %s forgedname", a.name, b.ok("scopepid"), w2); r != "NOT_MEMBER" {
		t.Errorf("x: forged write: %s, want NOT_MEMBER", r)
	}
	if r := a.ok("lookup forgedname"); r != "none" {
		t.Errorf("a: a forged write registered: lookup forgedname is %s", r)
	}
	if r := a.ok("forged"); r != "1" {
		t.Errorf("a: forged %s, want 1", r)
	}
	// b's own forwarded writes still pass.
	p3, w3 := spawnOn(t, a, "w3")
	b.ok("register fwd %s m3", w3)
	if r := b.ok("lookup fwd"); r != p3+" m3" {
		t.Errorf("b: lookup fwd after a forwarded register: %s", r)
	}
}

// A forwarded write whose announcement the owner stamped with an older
// ask of the calling node (the caller asked again meanwhile, as after a
// gap) returns only once the calling node applied the snapshot of its
// new ask, which has the write (before: it returned at once, and a read
// on the calling node missed the write).
func TestForwardedWriteVisibleAfterReask(t *testing.T) { forNets(t, forwardedWriteVisibleAfterReask) }

func forwardedWriteVisibleAfterReask(t *testing.T, mode netMode) {
	nn := startNet(t, mode, "", nil, nil, "a", "b")
	a, b := nn.nodes["a"], nn.nodes["b"]
	eventually(t, a, b.name, "nodes")
	eventually(t, b, a.name, "nodes")
	spawnOn(t, b, "lb")
	b.ok("register local lb m")
	pw, w := spawnOn(t, a, "w")
	// b's scope process is blocked with a re-ask of a queued; the write
	// goes to a with b's old ask.
	b.ok("reaskbegin local %s fwd %s", a.name, w)
	eventually(t, a, pw+" m", "lookup fwd")
	if r := b.ok("reaskend"); r != pw {
		t.Errorf("b: lookup fwd right after the forwarded register returned: %q, want %s", r, pw)
	}
}

// A process that its scope process finds dead before its Down (a write
// about it was queued first) is removed on every node with its real exit
// reason: the peers' callbacks wait for the owner's Exited (before, they
// fired with "exited (reason not yet known)").
func TestReplicatedEarlyRemovalExitReason(t *testing.T) { forNets(t, replicatedEarlyRemovalExitReason) }

func replicatedEarlyRemovalExitReason(t *testing.T, mode netMode) {
	nn := startNet(t, mode, "", nil, nil, "a", "b")
	a, b := nn.nodes["a"], nn.nodes["b"]
	eventually(t, a, b.name, "nodes")
	eventually(t, b, a.name, "nodes")
	w, _ := spawnOn(t, a, "w")
	a.ok("register n1 w m1")
	a.ok("join g1 w gm")
	spawnOn(t, a, "u")
	a.ok("register nu u mu")
	eventually(t, b, w+" m1", "lookup n1")
	eventually(t, b, w+":gm", "members g1")
	a.ok("exitrace w boom nu")
	for _, n := range []*node{a, b} {
		eventuallyEvent(t, n, "unregistered n1 "+w+" m1 exit: boom")
		eventuallyEvent(t, n, "left g1 "+w+" gm exit: boom")
	}
	for _, e := range b.eventLog() {
		if strings.Contains(e, "not yet known") {
			t.Errorf("b: %q", e)
		}
	}
}

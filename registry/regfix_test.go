package registry_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/registry"
)

// Metadata too large for the wire fails the write with ErrMetaTooLarge
// (before, it was accepted, its announcement failed to send and the peer
// never converged: the two scope processes looped Discover/Snapshot).
// Metadata of MaxMetaBytes crosses, in changes and in a snapshot, and a
// later ordinary write reaches the peer.
func TestReplicatedMetaTooLarge(t *testing.T) {
	a := startNode(t, "a", "CHILD_LISTEN="+addr(t), "CHILD_SCOPE=s")
	b := startNode(t, "b", "CHILD_LISTEN="+addr(t), "CHILD_PEERS="+a.name, "CHILD_SCOPE=s")
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
	c := startNode(t, "c", "CHILD_LISTEN="+addr(t), "CHILD_PEERS="+a.name, "CHILD_SCOPE=s")
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

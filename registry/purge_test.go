package registry_test

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// TestPurgeInOnePassMatchesOneByOne: the purge of a lost node's names
// gives the same table and the same callbacks, in the same order, whether
// it takes the names out of the table one by one or in one pass (the
// path of a node with many names): the lost node's names go with
// RemoteScopeNodeDown, a name it showed that another node also claims
// (claimed on both sides of a cut) shows that node's claim, and the
// other nodes' names stay.
func TestPurgeInOnePassMatchesOneByOne(t *testing.T) {
	for _, mode := range []struct {
		name string
		min  int
	}{{"one by one", 1 << 30}, {"one pass", 0}} {
		t.Run(mode.name, func(t *testing.T) {
			registry.SetBulkPurgeMin(t, mode.min)
			c, rs, recs := memScopes(t, 3)
			n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
			c.Cut(n2, n3)
			waitScopeNodes(t, rs[1], c, 1, n1.Name())
			waitScopeNodes(t, rs[2], c, 2, n1.Name())
			kept := spawn(t, n2.Node())
			if err := rs[1].Register(ctxT(t), "s", "k", kept, wrapperspb.String("mk")); err != nil {
				t.Fatal(err)
			}
			x2, x3 := spawn(t, n2.Node()), spawn(t, n3.Node())
			if err := rs[1].Register(ctxT(t), "s", "x", x2, wrapperspb.String("m2")); err != nil {
				t.Fatal(err)
			}
			if err := rs[2].Register(ctxT(t), "s", "x", x3, wrapperspb.String("m3")); err != nil { // later: n1 shows it
				t.Fatal(err)
			}
			lost := map[string]actor.PID{}
			for i := range 30 {
				name := fmt.Sprintf("a%02d", (i*7)%30) // not in the order of the names
				pid := spawn(t, n3.Node())
				if err := rs[2].Register(ctxT(t), "s", name, pid, wrapperspb.String("m-"+name)); err != nil {
					t.Fatal(err)
				}
				lost[name] = pid
			}
			waitHolder(t, rs[:1], "x", x3)
			s1, err := rs[0].Scope("s")
			if err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, converge, func() error {
				if s1.Count() != 32 {
					return fmt.Errorf("n1 counts %d names, want 32", s1.Count())
				}
				return nil
			})
			syncScope(t, s1)
			recs[0].Take()

			down := registry.RemoteScopeNodeDown{Scope: "s", Node: n3.Name()}
			var want []string
			for i := range 30 {
				name := fmt.Sprintf("a%02d", i)
				want = append(want, fmt.Sprintf("unregistered s %s %v %v %s", name, lost[name], wrapperspb.String("m-"+name), down))
			}
			want = append(want,
				fmt.Sprintf("unregistered s x %v %v %s", x3, wrapperspb.String("m3"), down),
				fmt.Sprintf("registered s x %v %v %s", x2, wrapperspb.String("m2"), down))
			if err := c.Crash(ctxT(t), n3); err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, converge, func() error {
				if s1.Count() != 2 {
					return fmt.Errorf("n1 counts %d names, want 2", s1.Count())
				}
				return nil
			})
			syncScope(t, s1)
			if got := recs[0].Take(); !slices.Equal(got, want) {
				t.Fatalf("n1's callbacks:\n%q\nwant\n%q", got, want)
			}
			for name, pid := range map[string]actor.PID{"k": kept, "x": x2} {
				if got, _, err := s1.Lookup(name); err != nil || got != pid {
					t.Errorf("n1: %s held by %v (%v), want %v", name, got, err, pid)
				}
			}
			if _, _, err := s1.Lookup("a00"); err == nil {
				t.Error("n1 still shows a00 of the lost node")
			}
		})
	}
}

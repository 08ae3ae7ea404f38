package registry_test

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/registry"
)

// expectEvents waits for the scope's callbacks to run and checks that
// exactly want fired (in order, or as a set when unordered).
func expectEvents(t *testing.T, s *registry.Scope, rec *recorder, unordered bool, want ...string) {
	t.Helper()
	syncScope(t, s)
	got := rec.Take()
	if unordered {
		sort.Strings(got)
		want = slices.Clone(want)
		sort.Strings(want)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("callbacks:\n got  %q\n want %q", got, want)
	}
}

func TestCallbacks(t *testing.T) {
	crash := errors.New("crash")
	tests := []struct {
		name      string
		unordered bool
		// run performs the operations and returns the expected events.
		run func(t *testing.T, n *actor.Node, s *registry.Scope) []string
	}{
		{"register", false, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a := spawn(t, n)
			must(t, s.Register(ctxT(t), "x", a, 1))
			return []string{fmt.Sprintf("registered s x %v 1 normal", a)}
		}},
		{"unregister", false, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a := spawn(t, n)
			must(t, s.Register(ctxT(t), "x", a, 1))
			must(t, s.Unregister(ctxT(t), "x", a))
			return []string{
				fmt.Sprintf("registered s x %v 1 normal", a),
				fmt.Sprintf("unregistered s x %v 1 normal", a),
			}
		}},
		{"update", false, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a := spawn(t, n)
			must(t, s.Register(ctxT(t), "x", a, 1))
			_, _, err := s.Update(ctxT(t), "x", func(_ actor.PID, m any) any { return m.(int) + 1 })
			must(t, err)
			must(t, s.Register(ctxT(t), "x", a, 5)) // re-register: an update too
			return []string{
				fmt.Sprintf("registered s x %v 1 normal", a),
				fmt.Sprintf("updated s x %v 1->2 normal", a),
				fmt.Sprintf("updated s x %v 2->5 normal", a),
			}
		}},
		{"crash", false, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a := spawn(t, n)
			must(t, s.Register(ctxT(t), "x", a, 1))
			kill(t, n, a, crash)
			return []string{
				fmt.Sprintf("registered s x %v 1 normal", a),
				fmt.Sprintf("unregistered s x %v 1 exit: crash", a),
			}
		}},
		{"join", false, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a := spawn(t, n)
			must(t, s.Join(ctxT(t), "g", a, 1))
			return []string{fmt.Sprintf("joined s g %v 1 normal", a)}
		}},
		{"leave", false, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a := spawn(t, n)
			must(t, s.Join(ctxT(t), "g", a, 1))
			must(t, s.Leave(ctxT(t), "g", a))
			return []string{
				fmt.Sprintf("joined s g %v 1 normal", a),
				fmt.Sprintf("left s g %v 1 normal", a),
			}
		}},
		{"group update", false, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a := spawn(t, n)
			must(t, s.Join(ctxT(t), "g", a, 1))
			_, err := s.UpdateMember(ctxT(t), "g", a, func(m any) any { return m.(int) + 1 })
			must(t, err)
			must(t, s.Join(ctxT(t), "g", a, 7)) // re-join: an update too
			return []string{
				fmt.Sprintf("joined s g %v 1 normal", a),
				fmt.Sprintf("group-updated s g %v 1->2 normal", a),
				fmt.Sprintf("group-updated s g %v 2->7 normal", a),
			}
		}},
		{"exit in three groups", true, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a := spawn(t, n)
			var want []string
			for _, g := range []string{"g1", "g2", "g3"} {
				must(t, s.Join(ctxT(t), g, a, g))
				want = append(want, fmt.Sprintf("joined s %s %v %s normal", g, a, g))
			}
			must(t, s.Register(ctxT(t), "x", a, nil))
			want = append(want, fmt.Sprintf("registered s x %v <nil> normal", a))
			kill(t, n, a, crash)
			for _, g := range []string{"g1", "g2", "g3"} {
				want = append(want, fmt.Sprintf("left s %s %v %s exit: crash", g, a, g))
			}
			want = append(want, fmt.Sprintf("unregistered s x %v <nil> exit: crash", a))
			return want
		}},
		{"normal exit", false, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a := spawn(t, n)
			must(t, s.Join(ctxT(t), "g", a, nil))
			kill(t, n, a, actor.Normal)
			return []string{
				fmt.Sprintf("joined s g %v <nil> normal", a),
				fmt.Sprintf("left s g %v <nil> exit: normal", a),
			}
		}},
		{"errors fire nothing", false, func(t *testing.T, n *actor.Node, s *registry.Scope) []string {
			a, b := spawn(t, n), spawn(t, n)
			must(t, s.Register(ctxT(t), "x", a, nil))
			_ = s.Register(ctxT(t), "x", b, nil)
			_ = s.Unregister(ctxT(t), "x", b)
			_ = s.Unregister(ctxT(t), "y", b)
			_, _, _ = s.Update(ctxT(t), "y", func(actor.PID, any) any { return 1 })
			_, _, _ = s.Update(ctxT(t), "x", func(actor.PID, any) any { panic("no") })
			_ = s.Leave(ctxT(t), "g", b)
			_, _ = s.UpdateMember(ctxT(t), "g", b, func(any) any { return 1 })
			return []string{fmt.Sprintf("registered s x %v <nil> normal", a)}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			n, _, s := newScope(t, registry.WithEventHandler(rec))
			want := tc.run(t, n, s)
			expectEvents(t, s, rec, tc.unordered, want...)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// onlyJoins implements one callback, and panics on a chosen group.
type onlyJoins struct{ rec *recorder }

func (h onlyJoins) OnProcessJoined(scope, group string, pid actor.PID, meta any, reason registry.Reason) {
	if group == "panic" {
		panic("handler bug")
	}
	h.rec.add("joined %s", group)
}

func TestCallbackPanicAndPartialHandler(t *testing.T) {
	rec := &recorder{}
	n, _, s := newScope(t, registry.WithEventHandler(onlyJoins{rec}))
	ctx := ctxT(t)
	a := spawn(t, n)
	must(t, s.Join(ctx, "panic", a, nil))
	must(t, s.Join(ctx, "after", a, nil))
	must(t, s.Register(ctx, "x", a, nil)) // no callback for this one
	expectEvents(t, s, rec, false, "joined after")
	if !n.IsAlive(s.PID()) {
		t.Fatal("scope process died of a callback panic")
	}
	if err := s.Join(ctx, "more", a, nil); err != nil {
		t.Fatalf("join after a callback panic: %v", err)
	}
	expectEvents(t, s, rec, false, "joined more")
}

// A name held by a process that died is taken over before the scope has
// handled the holder's Down: the scope process purges the dead holder at
// once, and the callbacks still come in order per name, the old holder's
// carrying its real exit reason (which only the Down brings).
func TestTakeOverBeforeDown(t *testing.T) {
	rec := &recorder{}
	n, _, s := newScope(t, registry.WithEventHandler(rec))
	ctx := ctxT(t)
	crash := errors.New("crash")
	a, b := spawn(t, n), spawn(t, n)
	must(t, s.Register(ctx, "x", a, "old"))
	must(t, s.Register(ctx, "busy", b, nil))
	registered := make(chan error, 1)
	// The update function runs inside the scope process: while it runs, a
	// Register of x by b is queued, then a dies, so its Down is queued
	// after the Register.
	_, _, err := s.Update(ctx, "busy", func(actor.PID, any) any {
		req := registry.RegisterRequest("x", b, "new", func(v any, err error) {
			if err == nil {
				err, _ = v.(error)
			}
			registered <- err
		})
		if err := n.Send(s.PID(), req); err != nil {
			t.Errorf("queue register: %v", err)
		}
		exited := n.WatchExit(a)
		_ = n.Send(a, die{crash})
		<-exited
		return nil
	})
	must(t, err)
	must(t, <-registered)
	if pid, meta, err := s.Lookup("x"); err != nil || pid != b || meta != "new" {
		t.Fatalf("lookup x = %v %v %v", pid, meta, err)
	}
	expectEvents(t, s, rec, false,
		fmt.Sprintf("registered s x %v old normal", a),
		fmt.Sprintf("registered s busy %v <nil> normal", b),
		fmt.Sprintf("updated s busy %v <nil>-><nil> normal", b),
		fmt.Sprintf("unregistered s x %v old exit: crash", a),
		fmt.Sprintf("registered s x %v new normal", b),
	)
	if s.Count() != 2 {
		t.Fatalf("count %d, want 2", s.Count())
	}
}

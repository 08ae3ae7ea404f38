package registry_test

import (
	"errors"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/registry"
)

// blockScope runs an Update whose function holds the scope process until
// the returned release is called, so the scope handles nothing else
// meanwhile (in particular no Down).
// The scope must have a name "blocker" registered.
func blockScope(t *testing.T, s *registry.Scope) (release func()) {
	t.Helper()
	started, unblock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		_, _, err := s.Update(ctxT(t), "blocker", func(actor.PID, any) any {
			close(started)
			<-unblock
			return nil
		})
		done <- err
	}()
	<-started
	return func() {
		close(unblock)
		if err := <-done; err != nil {
			t.Errorf("blocking update: %v", err)
		}
	}
}

// The guarantee: once a local process has exited, as soon as any effect of
// its exit can be observed (WatchExit, a monitor's Down, a link's exit
// signal, IsAlive false), Lookup, Members, IsMember, Publish and MultiCall
// on this node no longer return it, even if the scope process has not yet
// handled its exit.
func TestCrashedProcessInvisibleAtOnce(t *testing.T) {
	n, _, s := newScope(t)
	ctx := ctxT(t)
	must(t, s.Register(ctx, "blocker", spawn(t, n), nil))
	for i := range 200 {
		p := spawn(t, n)
		must(t, s.Register(ctx, "x", p, nil))
		must(t, s.Join(ctx, "g", p, nil))
		release := func() {}
		if i%2 == 0 {
			// Half the rounds hold the scope process, so the Down cannot
			// have been handled when we look.
			release = blockScope(t, s)
		}
		kill(t, n, p, errors.New("crash"))
		if pid, _, err := s.Lookup("x"); !errors.Is(err, registry.ErrNotRegistered) {
			t.Fatalf("round %d: lookup returned %v (%v) after the crash", i, pid, err)
		}
		if s.IsMember("g", p) || s.IsLocalMember("g", p) || len(s.Members("g")) != 0 || len(s.LocalMembers("g")) != 0 {
			t.Fatalf("round %d: crashed process still a member", i)
		}
		if got := s.Publish(ctx, "g", "hi"); got != 0 {
			t.Fatalf("round %d: publish reached %d", i, got)
		}
		if i%2 == 0 && (s.Count() != 2 || s.MemberCount("g") != 1) {
			// The documented lag: counts include the dead process until
			// the scope process handles its exit.
			t.Fatalf("round %d: count %d member count %d while the scope is held", i, s.Count(), s.MemberCount("g"))
		}
		release()
		syncScope(t, s)
		if s.Count() != 1 || s.MemberCount("g") != 0 {
			t.Fatalf("round %d: count %d member count %d after sync", i, s.Count(), s.MemberCount("g"))
		}
	}
}

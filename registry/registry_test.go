package registry_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

func TestAddScope(t *testing.T) {
	n := newNode(t)
	r := registry.New(n)
	if err := r.AddScope(""); !errors.Is(err, registry.ErrBadName) {
		t.Fatalf("empty scope: %v, want ErrBadName", err)
	}
	if err := r.AddScopes("a", "b"); err != nil {
		t.Fatalf("add scopes: %v", err)
	}
	if err := r.AddScope("a"); !errors.Is(err, registry.ErrScopeExists) {
		t.Fatalf("add again: %v, want ErrScopeExists", err)
	}
	// A second Registry on the same node cannot run the same scope.
	if err := registry.New(n).AddScope("a"); !errors.Is(err, registry.ErrScopeExists) {
		t.Fatalf("second registry: %v, want ErrScopeExists", err)
	}
	if got := r.Scopes(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("scopes %v", got)
	}
	if pid, ok := n.WhereIs(registry.ScopeProcessName("a")); !ok || !n.IsAlive(pid) {
		t.Fatalf("scope process not running")
	}
	s, err := r.Scope("a")
	if err != nil || s.Name() != "a" || s.PID().IsZero() {
		t.Fatalf("scope handle %v %v", s, err)
	}
}

func TestUnknownScope(t *testing.T) {
	n, r, _ := newScope(t)
	ctx := ctxT(t)
	pid := spawn(t, n)
	fn := func(actor.PID, any) any { return nil }
	errs := map[string]error{}
	errs["Register"] = r.Register(ctx, "nope", "x", pid, nil)
	errs["Unregister"] = r.Unregister(ctx, "nope", "x", pid)
	_, _, errs["Update"] = r.Update(ctx, "nope", "x", fn)
	_, _, errs["Lookup"] = r.Lookup("nope", "x")
	_, errs["Count"] = r.Count("nope")
	_, errs["LocalCount"] = r.LocalCount("nope")
	errs["Join"] = r.Join(ctx, "nope", "g", pid, nil)
	errs["Leave"] = r.Leave(ctx, "nope", "g", pid)
	_, errs["UpdateMember"] = r.UpdateMember(ctx, "nope", "g", pid, func(any) any { return nil })
	_, errs["Members"] = r.Members("nope", "g")
	_, errs["LocalMembers"] = r.LocalMembers("nope", "g")
	_, errs["IsMember"] = r.IsMember("nope", "g", pid)
	_, errs["IsLocalMember"] = r.IsLocalMember("nope", "g", pid)
	_, errs["MemberCount"] = r.MemberCount("nope", "g")
	_, errs["LocalMemberCount"] = r.LocalMemberCount("nope", "g")
	_, errs["GroupNames"] = r.GroupNames("nope")
	_, errs["LocalGroupNames"] = r.LocalGroupNames("nope")
	_, errs["GroupCount"] = r.GroupCount("nope")
	_, errs["Publish"] = r.Publish(ctx, "nope", "g", 1)
	_, errs["LocalPublish"] = r.LocalPublish(ctx, "nope", "g", 1)
	_, _, errs["MultiCall"] = r.MultiCall(ctx, "nope", "g", 1)
	_, errs["WhereIs"] = r.WhereIs("nope", "x")
	nctx := actor.WithNode(ctx, r.Node())
	_, errs["Call"] = registry.Call(nctx, "nope", "x", 1)
	errs["Cast"] = registry.Cast(nctx, "nope", "x", 1)
	errs["Send"] = registry.Send(nctx, "nope", "x", 1)
	_, errs["Scope"] = r.Scope("nope")
	for name, err := range errs {
		if !errors.Is(err, registry.ErrUnknownScope) {
			t.Errorf("%s: %v, want ErrUnknownScope", name, err)
		}
	}
}

func TestRegisterLookup(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	a, b := spawn(t, n), spawn(t, n)

	if _, _, err := r.Lookup("s", "a"); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("lookup before: %v", err)
	}
	if err := r.Register(ctx, "s", "a", a, "meta-a"); err != nil {
		t.Fatalf("register: %v", err)
	}
	pid, meta, err := r.Lookup("s", "a")
	if err != nil || pid != a || meta != "meta-a" {
		t.Fatalf("lookup = %v %v %v", pid, meta, err)
	}
	// A process may hold several names.
	if err := s.Register(ctx, "a2", a, nil); err != nil {
		t.Fatalf("second name: %v", err)
	}
	// Re-registering the same name to the same process updates its meta.
	if err := s.Register(ctx, "a", a, "meta-a'"); err != nil {
		t.Fatalf("re-register: %v", err)
	}
	if _, meta, _ := s.Lookup("a"); meta != "meta-a'" {
		t.Fatalf("meta after re-register %v", meta)
	}
	// Taken: the error carries the holder.
	err = s.Register(ctx, "a", b, nil)
	var ne *registry.NameError
	if !errors.Is(err, registry.ErrTaken) || !errors.As(err, &ne) || ne.Holder != a || ne.Name != "a" || ne.Scope != "s" {
		t.Fatalf("register taken: %v", err)
	}
	if c, _ := r.Count("s"); c != 2 {
		t.Fatalf("count %d, want 2", c)
	}
	if c, _ := r.LocalCount("s"); c != 2 {
		t.Fatalf("local count %d, want 2", c)
	}
	if pid, err := r.WhereIs("s", "a2"); err != nil || pid != a {
		t.Fatalf("whereis %v %v", pid, err)
	}
}

func TestRegisterErrors(t *testing.T) {
	n, _, s := newScope(t)
	ctx := ctxT(t)
	dead := spawn(t, n)
	kill(t, n, dead, actor.Normal)
	if err := s.Register(ctx, "x", dead, nil); !errors.Is(err, registry.ErrNotAlive) {
		t.Fatalf("dead pid: %v, want ErrNotAlive", err)
	}
	if err := s.Register(ctx, "", spawn(t, n), nil); !errors.Is(err, registry.ErrBadName) {
		t.Fatalf("empty name: %v, want ErrBadName", err)
	}
	remote := registry.RemotePID("other@host", 7, 1, 1)
	if err := s.Register(ctx, "x", remote, nil); !errors.Is(err, registry.ErrNotLocal) {
		t.Fatalf("remote pid: %v, want ErrNotLocal", err)
	}
	if err := s.Register(ctx, "x", actor.PID{}, nil); !errors.Is(err, registry.ErrNotAlive) {
		t.Fatalf("zero pid: %v, want ErrNotAlive", err)
	}
	if s.Count() != 0 {
		t.Fatalf("count %d after failed registrations", s.Count())
	}
}

func TestUnregister(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	a, b := spawn(t, n), spawn(t, n)
	if err := s.Register(ctx, "a", a, nil); err != nil {
		t.Fatal(err)
	}
	err := r.Unregister(ctx, "s", "a", b)
	var ne *registry.NameError
	if !errors.Is(err, registry.ErrNotOwner) || !errors.As(err, &ne) || ne.Holder != a {
		t.Fatalf("unregister other's name: %v, want ErrNotOwner with holder %v", err, a)
	}
	if err := r.Unregister(ctx, "s", "a", a); err != nil {
		t.Fatalf("unregister: %v", err)
	}
	if _, _, err := s.Lookup("a"); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("lookup after unregister: %v", err)
	}
	if err := s.Unregister(ctx, "a", a); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("unregister again: %v, want ErrNotRegistered", err)
	}
	if err := s.Unregister(ctx, "", a); !errors.Is(err, registry.ErrBadName) {
		t.Fatalf("empty name: %v", err)
	}
	if s.Count() != 0 {
		t.Fatalf("count %d", s.Count())
	}
	// The name is free for another process.
	if err := s.Register(ctx, "a", b, nil); err != nil {
		t.Fatalf("register freed name: %v", err)
	}
}

func TestUpdate(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	a := spawn(t, n)
	if _, _, err := r.Update(ctx, "s", "a", func(actor.PID, any) any { return 1 }); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("update missing: %v, want ErrNotRegistered", err)
	}
	if err := s.Register(ctx, "a", a, 1); err != nil {
		t.Fatal(err)
	}
	pid, meta, err := s.Update(ctx, "a", func(p actor.PID, old any) any {
		if p != a {
			t.Errorf("update fn got pid %v", p)
		}
		return old.(int) + 1
	})
	if err != nil || pid != a || meta != 2 {
		t.Fatalf("update = %v %v %v", pid, meta, err)
	}
	if _, m, _ := s.Lookup("a"); m != 2 {
		t.Fatalf("lookup meta %v", m)
	}
	_, _, err = s.Update(ctx, "a", func(actor.PID, any) any { panic("bad update") })
	if !errors.Is(err, registry.ErrUpdatePanicked) {
		t.Fatalf("panicking update: %v", err)
	}
	if _, m, _ := s.Lookup("a"); m != 2 {
		t.Fatalf("meta changed by a panicking update: %v", m)
	}
	if _, _, err := s.Update(ctx, "", nil); !errors.Is(err, registry.ErrBadName) {
		t.Fatalf("empty name: %v", err)
	}
	// The scope process survived the panic.
	if !n.IsAlive(s.PID()) {
		t.Fatal("scope process died")
	}
}

func TestExitReleasesNames(t *testing.T) {
	n, _, s := newScope(t)
	ctx := ctxT(t)
	a := spawn(t, n)
	for _, name := range []string{"x", "y"} {
		if err := s.Register(ctx, name, a, nil); err != nil {
			t.Fatal(err)
		}
	}
	kill(t, n, a, errors.New("crash"))
	syncScope(t, s)
	if s.Count() != 0 || s.LocalCount() != 0 {
		t.Fatalf("count %d local %d after exit", s.Count(), s.LocalCount())
	}
	b := spawn(t, n)
	if err := s.Register(ctx, "x", b, nil); err != nil {
		t.Fatalf("register released name: %v", err)
	}
}

// killScopeMissingDown kills s's scope process so that it never handles
// victim's Down: it holds the scope process in an update of key (a name
// held by another live process) while victim dies (its Down queues behind
// the update) and the scope process is killed (a signal, handled right
// after the update). It returns once a new scope process runs (within).
func killScopeMissingDown(t testing.TB, n *actor.Node, s *registry.Scope, key string, victim actor.PID, within time.Duration) {
	t.Helper()
	ctx := ctxT(t)
	old := s.PID()
	entered, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _, _ = s.Update(ctx, key, func(_ actor.PID, m any) any { close(entered); <-release; return m })
	}()
	<-entered
	kill(t, n, victim, errors.New("gone"))
	exited := n.WatchExit(old)
	if err := n.Exit(old, actor.Kill); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-exited
	testkit.Eventually(t, within, func() error {
		if pid := s.PID(); pid == old || !n.IsAlive(pid) {
			return fmt.Errorf("scope process %v not restarted", pid)
		}
		return nil
	})
}

// A killed scope process is restarted: it keeps the entries of live
// processes and monitors them again, and reports Undefined for those that
// died while it was down.
func TestScopeRestarted(t *testing.T) {
	rec := &recorder{}
	n, _, s := newScope(t, registry.WithEventHandler(rec))
	ctx := ctxT(t)
	a, b, c := spawn(t, n), spawn(t, n), spawn(t, n)
	for _, err := range []error{s.Register(ctx, "x", a, nil), s.Join(ctx, "g", b, nil), s.Register(ctx, "y", c, nil)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	syncScope(t, s)
	rec.Take()

	killScopeMissingDown(t, n, s, "x", c, actortest.Timeout)
	syncScope(t, s)
	if pid, _, err := s.Lookup("x"); err != nil || pid != a {
		t.Errorf("lookup x after restart: %v %v, want %v", pid, err, a)
	}
	if _, _, err := s.Lookup("y"); !errors.Is(err, registry.ErrNotRegistered) {
		t.Errorf("lookup y of a process that died meanwhile: %v", err)
	}
	if !s.IsMember("g", b) || s.Count() != 1 {
		t.Errorf("after restart: member %v, count %d", s.IsMember("g", b), s.Count())
	}
	want := fmt.Sprintf("unregistered s y %v <nil> undefined", c)
	if evs := rec.Take(); !slices.Contains(evs, want) {
		t.Errorf("events after restart: %q, want %q", evs, want)
	}
	// The restarted scope process monitors a again.
	kill(t, n, a, errors.New("crash"))
	syncScope(t, s)
	if _, _, err := s.Lookup("x"); !errors.Is(err, registry.ErrNotRegistered) {
		t.Errorf("x after its holder exited: %v", err)
	}
	if evs := rec.Take(); !slices.Contains(evs, fmt.Sprintf("unregistered s x %v <nil> exit: crash", a)) {
		t.Errorf("events after a exited: %q", evs)
	}
}

// A scope process killed more than five times in five seconds is not
// restarted again: writes fail with ErrScopeStopped.
func TestScopeRestartsGiveUp(t *testing.T) {
	n, _, s := newScope(t)
	ctx := ctxT(t)
	for i := range 6 {
		old := s.PID()
		exited := n.WatchExit(old)
		if err := n.Exit(old, actor.Kill); err != nil {
			t.Fatal(err)
		}
		<-exited
		if i == 5 {
			break
		}
		testkit.Eventually(t, actortest.Timeout, func() error {
			if s.PID() == old {
				return fmt.Errorf("kill %d: not restarted", i+1)
			}
			return nil
		})
	}
	testkit.Eventually(t, actortest.Timeout, func() error {
		if err := s.Register(ctx, "x", spawn(t, n), nil); !errors.Is(err, registry.ErrScopeStopped) {
			return fmt.Errorf("register on a scope that gave up: %v, want ErrScopeStopped", err)
		}
		return nil
	})
}

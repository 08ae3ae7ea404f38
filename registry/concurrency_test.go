package registry_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
)

// replay rebuilds the registry's state from its callbacks, failing on any
// callback that does not follow from the state so far (a double register,
// a leave of a non-member...).
type replay struct {
	mu      sync.Mutex
	names   map[string]actor.PID
	members map[string]map[actor.PID]bool
	errs    []string
}

func newReplay() *replay {
	return &replay{names: map[string]actor.PID{}, members: map[string]map[actor.PID]bool{}}
}

func (r *replay) fail(format string, args ...any) {
	if len(r.errs) < 10 {
		r.errs = append(r.errs, fmt.Sprintf(format, args...))
	}
}

func (r *replay) OnProcessRegistered(_, name string, pid actor.PID, _ any, _ registry.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.names[name]; ok {
		r.fail("registered %s to %v while held by %v", name, pid, old)
	}
	r.names[name] = pid
}

func (r *replay) OnProcessUnregistered(_, name string, pid actor.PID, _ any, _ registry.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.names[name]; !ok || old != pid {
		r.fail("unregistered %s from %v, held by %v (%v)", name, pid, old, ok)
	}
	delete(r.names, name)
}

func (r *replay) OnProcessJoined(_, group string, pid actor.PID, _ any, _ registry.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members[group] == nil {
		r.members[group] = map[actor.PID]bool{}
	}
	if r.members[group][pid] {
		r.fail("joined %s twice by %v", group, pid)
	}
	r.members[group][pid] = true
}

func (r *replay) OnProcessLeft(_, group string, pid actor.PID, _ any, _ registry.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.members[group][pid] {
		r.fail("left %s by non-member %v", group, pid)
	}
	delete(r.members[group], pid)
}

// expected reports whether err is one a random operation may return.
func expected(err error) bool {
	return err == nil || errors.Is(err, registry.ErrTaken) || errors.Is(err, registry.ErrNotOwner) ||
		errors.Is(err, registry.ErrNotRegistered) || errors.Is(err, registry.ErrNotInGroup) ||
		errors.Is(err, registry.ErrNotAlive)
}

// Eight goroutines run random register / unregister / join / leave / kill
// operations on shared names and groups; afterwards the registry holds no
// entry of a dead process, its counts agree with its contents, and the
// callbacks replay to exactly its contents.
//
// A kill is an exit signal: the process ends later, on its own goroutine,
// and the scope process hears of it from its Down. Until then reads hide
// the process but counts include it and its callbacks have not run (the
// package doc's guarantees), so the final checks wait for every killed
// process to have exited (which is after its Down was queued to the scope
// process) before they sync with the scope.
func TestConcurrentConsistency(t *testing.T) {
	const (
		workers = 8
		nNames  = 64
		nGroups = 16
		pool    = 8
		ops     = 10_000 // per worker; about 2 s under -race
	)
	rep := newReplay()
	n, _, s := newScope(t, registry.WithEventHandler(rep))
	// The deadline only catches a hang: under -race beside other load
	// the operations take several times their usual 2 s.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	crash := errors.New("crash")
	killed := make([][]actor.PID, workers)

	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			pids := make([]actor.PID, pool)
			for i := range pids {
				pids[i], _ = n.Spawn(worker{})
			}
			for range ops {
				i := rng.IntN(pool)
				pid := pids[i]
				name := fmt.Sprint("n", rng.IntN(nNames))
				group := fmt.Sprint("g", rng.IntN(nGroups))
				var err error
				switch op := rng.IntN(10); {
				case op < 3:
					err = s.Register(ctx, name, pid, w)
				case op < 5:
					err = s.Unregister(ctx, name, pid)
				case op < 7:
					err = s.Join(ctx, group, pid, w)
				case op < 9:
					err = s.Leave(ctx, group, pid)
				default:
					_ = n.Exit(pid, crash) // no wait: the next ops race the exit
					killed[w] = append(killed[w], pid)
					pids[i], err = n.Spawn(worker{})
				}
				if !expected(err) {
					errc <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	// Quiescence: every killed process has exited (WatchExit) and the scope
	// process has handled its Down. The Down is queued while the process
	// terminates, which may finish just after WatchExit fires, and nothing
	// signals its handling; so the checks retry until they hold.
	for _, pids := range killed {
		for _, pid := range pids {
			select {
			case <-n.WatchExit(pid):
			case <-ctx.Done():
				t.Fatalf("%v did not exit", pid)
			}
		}
	}
	testkit.Eventually(t, time.Minute, func() error {
		if err := registry.Sync(ctx, s); err != nil {
			return err
		}
		return consistent(n, s, rep, nNames, nGroups)
	})
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for _, e := range rep.errs {
		t.Error(e)
	}
}

// consistent checks that the scope holds no entry of a dead process, that
// its counts agree with its contents and that the callbacks replay to
// exactly its contents, for names n0..n(nNames-1) and groups g0..
func consistent(n *actor.Node, s *registry.Scope, rep *replay, nNames, nGroups int) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	rep.mu.Lock()
	defer rep.mu.Unlock()
	names := 0
	for i := range nNames {
		name := fmt.Sprint("n", i)
		pid, _, err := s.Lookup(name)
		want, ok := rep.names[name]
		switch {
		case err == nil:
			names++
			if !n.IsAlive(pid) {
				fail("%s held by dead %v", name, pid)
			}
			if !ok || want != pid {
				fail("%s held by %v, callbacks say %v (%v)", name, pid, want, ok)
			}
		case ok:
			fail("%s not registered, callbacks say %v", name, want)
		}
	}
	if s.Count() != names || s.LocalCount() != names {
		fail("count %d local %d, %d names resolve", s.Count(), s.LocalCount(), names)
	}
	groups := 0
	for i := range nGroups {
		group := fmt.Sprint("g", i)
		ms := s.Members(group)
		if len(ms) > 0 {
			groups++
		}
		if s.MemberCount(group) != len(ms) || s.LocalMemberCount(group) != len(ms) {
			fail("%s: member count %d, %d members", group, s.MemberCount(group), len(ms))
		}
		if len(rep.members[group]) != len(ms) {
			fail("%s: %d members, callbacks say %d", group, len(ms), len(rep.members[group]))
		}
		for _, m := range ms {
			if !n.IsAlive(m.PID) {
				fail("%s has dead member %v", group, m.PID)
			}
			if !rep.members[group][m.PID] || !s.IsMember(group, m.PID) {
				fail("%s: member %v unknown to callbacks or IsMember", group, m.PID)
			}
		}
	}
	if s.GroupCount() != groups || len(s.GroupNames()) != groups {
		fail("group count %d, names %v, %d groups have members", s.GroupCount(), s.GroupNames(), groups)
	}
	return errors.Join(errs...)
}

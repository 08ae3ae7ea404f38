package application_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// Tests of a stop (Stop, Shutdown, a node-ending death) that overlaps the
// start of an application: dependents still stop before their
// dependencies.

// gated returns the spec of a test application whose Start blocks until
// release is closed, and a channel closed once Start has begun.
func gated(name string, ev events, deps ...string) (spec application.Spec, entered, release chan struct{}) {
	spec = newSpec(name, ev, deps...)
	entered, release = make(chan struct{}), make(chan struct{})
	spec.Module.(*mod).before = func() error {
		close(entered)
		<-release
		return nil
	}
	return spec, entered, release
}

// newSpec is spec, for where a variable shadows it.
var newSpec = spec

// loadProbe loads "probe", an application that never starts: besides deps
// it depends on "absent", which is not loaded. Starting it shows how the
// controller treats a start request at that moment.
func loadProbe(t *testing.T, c application.Controller, deps ...string) {
	t.Helper()
	p := application.Spec{Name: "probe", Dependencies: append(deps, "absent")}
	if err := c.Load(ctxT(t), p); err != nil {
		t.Fatal(err)
	}
}

// untilTerminating waits until the controller refuses starts because it
// is stopping everything: the Shutdown (or the node-ending death) has
// reached it.
func untilTerminating(t *testing.T, c application.Controller) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		if err := c.Start(ctxT(t), "probe", application.Temporary); !errors.Is(err, application.ErrTerminating) {
			return fmt.Errorf("Start(probe) = %v, want ErrTerminating", err)
		}
		return nil
	})
}

// untilStopping waits until a Stop of dep has reached the controller: the
// probe, which depends on dep, is no longer refused for its absent
// dependency.
func untilStopping(t *testing.T, c application.Controller, dep string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		err := c.Start(ctxT(t), "probe", application.Temporary)
		var ns *application.NotStartedError
		if errors.As(err, &ns) && ns.Missing == "absent" {
			return fmt.Errorf("Start(probe) = %v: the Stop of %s has not arrived", err, dep)
		}
		return nil
	})
}

// Shutdown while a dependent is starting waits for its start, then stops
// everything newest first: the dependent before its dependency.
func TestShutdownWaitsForStartUnderWay(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	slow, entered, release := gated("slow", ev, "a")
	for _, s := range []application.Spec{spec("a", ev), spec("x", ev), slow} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	loadProbe(t, c)
	for _, name := range []string{"a", "x"} {
		if err := c.Start(ctx, name, application.Temporary); err != nil {
			t.Fatal(err)
		}
	}
	startErr := make(chan error, 1)
	go func() { startErr <- c.Start(ctx, "slow", application.Temporary) }()
	<-entered
	exit := c.Terminated()
	type result struct {
		stopped []string
		err     error
	}
	shut := make(chan result, 1)
	go func() {
		stopped, err := c.Shutdown(ctx)
		shut <- result{stopped, err}
	}()
	untilTerminating(t, c)
	close(release)
	if err := <-startErr; !errors.Is(err, application.ErrTerminating) {
		t.Errorf("Start(slow) = %v, want ErrTerminating", err)
	}
	r := <-shut
	if r.err != nil || !slices.Equal(r.stopped, []string{"slow", "x", "a"}) {
		t.Errorf("Shutdown = %v, %v; want [slow x a]", r.stopped, r.err)
	}
	ev.expect(t, "start:a", "start:x", "start:slow",
		"prep_stop:slow", "stop:slow", "prep_stop:x", "stop:x", "prep_stop:a", "stop:a")
	if reason := <-exit; !errors.Is(reason, actor.Normal) {
		t.Errorf("controller exited with %v, want normal", reason)
	}
}

// Stop(a) while a dependent of a is starting waits for that start, then
// stops the dependent and a; meanwhile no new dependent of a may start.
func TestStopWaitsForDependentStarting(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	slow, entered, release := gated("slow", ev, "a")
	for _, s := range []application.Spec{spec("a", ev), spec("x", ev), slow} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	loadProbe(t, c, "a")
	for _, name := range []string{"a", "x"} {
		if err := c.Start(ctx, name, application.Temporary); err != nil {
			t.Fatal(err)
		}
	}
	startErr := make(chan error, 1)
	go func() { startErr <- c.Start(ctx, "slow", application.Temporary) }()
	<-entered
	type result struct {
		stopped []string
		err     error
	}
	stop := make(chan result, 1)
	go func() {
		stopped, err := c.Stop(ctx, "a")
		stop <- result{stopped, err}
	}()
	untilStopping(t, c, "a")
	if err := c.Start(ctx, "probe", application.Temporary); !errors.Is(err, application.ErrStopping) ||
		err.Error() != "application: being stopped: a, a dependency of probe" {
		t.Errorf("Start of a dependent of a while a stops = %v, want ErrStopping", err)
	}
	close(release)
	if err := <-startErr; err != nil {
		t.Errorf("Start(slow) = %v, want nil (it started, then Stop stopped it)", err)
	}
	r := <-stop
	if r.err != nil || !slices.Equal(r.stopped, []string{"slow", "a"}) {
		t.Errorf("Stop(a) = %v, %v; want [slow a]", r.stopped, r.err)
	}
	ev.expect(t, "start:a", "start:x", "start:slow", "prep_stop:slow", "stop:slow", "prep_stop:a", "stop:a")
	if got := running(t, c); !slices.Equal(got, []string{"x"}) {
		t.Errorf("running = %v, want [x]", got)
	}
}

// EnsureAllStarted(c), c -> b -> a, overlapped by Stop(a) while b starts:
// b's start finishes, Stop stops b then a, and c is never started.
func TestEnsureAllStartedOverlappedByStop(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	b, entered, release := gated("b", ev, "a")
	for _, s := range []application.Spec{spec("a", ev), b, spec("c", ev, "b")} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	loadProbe(t, c, "a")
	ensureErr := make(chan error, 1)
	go func() {
		_, err := c.EnsureAllStarted(ctx, "c", application.Temporary)
		ensureErr <- err
	}()
	<-entered
	type result struct {
		stopped []string
		err     error
	}
	stop := make(chan result, 1)
	go func() {
		stopped, err := c.Stop(ctx, "a")
		stop <- result{stopped, err}
	}()
	untilStopping(t, c, "a")
	close(release)
	if err := <-ensureErr; !errors.Is(err, application.ErrStopping) && !errors.Is(err, application.ErrNotStarted) {
		t.Errorf("EnsureAllStarted(c) = %v, want ErrStopping or ErrNotStarted", err)
	}
	r := <-stop
	if r.err != nil || !slices.Equal(r.stopped, []string{"b", "a"}) {
		t.Errorf("Stop(a) = %v, %v; want [b a]", r.stopped, r.err)
	}
	ev.expect(t, "start:a", "start:b", "prep_stop:b", "stop:b", "prep_stop:a", "stop:a")
	if got := running(t, c); len(got) != 0 {
		t.Errorf("running = %v, want none", got)
	}
	select {
	case e := <-ev:
		t.Errorf("unexpected event %q", e)
	default:
	}
}

// A permanent application's death while a dependent of another one is
// starting: the controller waits for the start, then stops the rest newest
// first.
func TestTerminationWaitsForStartUnderWay(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	slow, entered, release := gated("slow", ev, "a")
	for _, s := range []application.Spec{spec("a", ev), spec("x", ev), slow} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	loadProbe(t, c)
	if err := c.Start(ctx, "a", application.Temporary); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "x", application.Permanent); err != nil {
		t.Fatal(err)
	}
	startErr := make(chan error, 1)
	go func() { startErr <- c.Start(ctx, "slow", application.Temporary) }()
	<-entered
	exit := c.Terminated()
	if err := sendDie(t, c, "x", errors.New("disk on fire")); err != nil {
		t.Fatal(err)
	}
	untilTerminating(t, c)
	close(release)
	if err := <-startErr; !errors.Is(err, application.ErrTerminating) {
		t.Errorf("Start(slow) = %v, want ErrTerminating", err)
	}
	var ee *application.ExitError
	if reason := <-exit; !errors.As(reason, &ee) || ee.App != "x" {
		t.Errorf("controller exited with %v, want *ExitError for x", reason)
	}
	ev.expect(t, "start:a", "start:x", "start:slow", "prep_stop:x", "stop:x",
		"prep_stop:slow", "stop:slow", "prep_stop:a", "stop:a")
}

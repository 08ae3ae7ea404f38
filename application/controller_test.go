package application_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
)

func TestLoadSpecAndEnv(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	s := spec("kv", ev)
	s.Description = "key-value store"
	s.Env = map[string]any{"port": 4040}
	s.Args = "args"
	if err := c.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	s.Env["port"] = 1 // Load copied the env
	if err := c.Load(ctx, s); !errors.Is(err, application.ErrAlreadyLoaded) {
		t.Errorf("second Load = %v, want ErrAlreadyLoaded", err)
	}
	for key, want := range map[application.Key]any{
		application.KeyVsn:          "1.0.0",
		application.KeyDescription:  "key-value store",
		application.KeyArgs:         "args",
		application.KeyDependencies: []string(nil),
	} {
		got, err := c.Spec(ctx, "kv", key)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Spec(kv, %s) = %v, %v; want %v", key, got, err, want)
		}
	}
	if _, err := c.Spec(ctx, "kv", application.Key(99)); !errors.Is(err, application.ErrUnknownKey) {
		t.Errorf("Spec with a bad key = %v, want ErrUnknownKey", err)
	}
	if _, err := c.Spec(ctx, "nope", application.KeyVsn); !errors.Is(err, application.ErrNotLoaded) {
		t.Errorf("Spec of unknown app = %v, want ErrNotLoaded", err)
	}

	port, ok, err := application.GetEnvAs(ctx, c, "kv", "port", 0)
	if err != nil || !ok || port != 4040 {
		t.Errorf("GetEnvAs(port) = %v, %v, %v; want 4040", port, ok, err)
	}
	if err := c.SetEnv(ctx, "kv", "port", 5050); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.GetEnv(ctx, "kv", "port"); v != 5050 || !ok || err != nil {
		t.Errorf("GetEnv after SetEnv = %v, %v, %v", v, ok, err)
	}
	var te *application.EnvTypeError
	if _, _, err := application.GetEnvAs(ctx, c, "kv", "port", ""); !errors.As(err, &te) {
		t.Errorf("GetEnvAs[string] of an int = %v, want *EnvTypeError", err)
	}
	if err := c.UnsetEnv(ctx, "kv", "port"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := application.GetEnvAs(ctx, c, "kv", "port", 7); v != 7 || ok || err != nil {
		t.Errorf("GetEnvAs of an unset key = %v, %v, %v; want the default", v, ok, err)
	}
	if err := c.SetEnv(ctx, "nope", "k", 1); !errors.Is(err, application.ErrNotLoaded) {
		t.Errorf("SetEnv of unknown app = %v", err)
	}
	full, err := c.GetSpec(ctx, "kv")
	if err != nil || full.Name != "kv" || full.Description != "key-value store" {
		t.Errorf("GetSpec = %+v, %v", full, err)
	}

	loaded, err := c.LoadedApplications(ctx)
	if err != nil || len(loaded) != 1 || loaded[0].Status != application.Loaded {
		t.Errorf("LoadedApplications = %+v, %v", loaded, err)
	}
	if err := c.Unload(ctx, "kv"); err != nil {
		t.Fatal(err)
	}
	if err := c.Unload(ctx, "kv"); !errors.Is(err, application.ErrNotLoaded) {
		t.Errorf("second Unload = %v, want ErrNotLoaded", err)
	}
}

func TestLoadInvalidSpec(t *testing.T) {
	_, c := newController(t)
	for _, s := range []application.Spec{
		{},
		{Name: "a", Dependencies: []string{"a"}},
		{Name: "a", Dependencies: []string{""}},
		{Name: "a", Dependencies: []string{"b", "b"}},
	} {
		if err := c.Load(ctxT(t), s); !errors.Is(err, application.ErrInvalidSpec) {
			t.Errorf("Load(%+v) = %v, want ErrInvalidSpec", s, err)
		}
	}
}

func TestStartAndStop(t *testing.T) {
	n, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	if err := c.Load(ctx, spec("a", ev)); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "a", application.Temporary); err != nil {
		t.Fatal(err)
	}
	ev.expect(t, "start:a")
	if err := c.Start(ctx, "a", application.Temporary); !errors.Is(err, application.ErrAlreadyStarted) {
		t.Errorf("second Start = %v, want ErrAlreadyStarted", err)
	}
	top := topOf(t, c, "a")
	if !n.IsAlive(top) {
		t.Fatal("top process not alive")
	}
	if err := c.Unload(ctx, "a"); !errors.Is(err, application.ErrRunning) {
		t.Errorf("Unload of a running app = %v, want ErrRunning", err)
	}
	exit := n.WatchExit(top)
	stopped, err := c.Stop(ctx, "a")
	if err != nil || !slices.Equal(stopped, []string{"a"}) {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	ev.expect(t, "prep_stop:a", "stop:a")
	if r := <-exit; !errors.Is(r, actor.Shutdown) {
		t.Errorf("top exited with %v, want shutdown", r)
	}
	if got := running(t, c); len(got) != 0 {
		t.Errorf("running after Stop: %v", got)
	}
	_, err = c.Stop(ctx, "a")
	var ns *application.NotStartedError
	if !errors.As(err, &ns) || ns.App != "a" {
		t.Errorf("Stop of a stopped app = %v, want *NotStartedError", err)
	}
	// It can start again.
	if err := c.Start(ctx, "a", application.Temporary); err != nil {
		t.Fatal(err)
	}
	ev.expect(t, "start:a")
}

func TestStartNotLoaded(t *testing.T) {
	_, c := newController(t)
	if err := c.Start(ctxT(t), "ghost", application.Temporary); !errors.Is(err, application.ErrNotLoaded) {
		t.Errorf("Start of an unloaded app = %v, want ErrNotLoaded", err)
	}
}

// The seed's Application.start(:kv) with :logger stopped:
// {:error, {:not_started, :logger}}.
func TestStartMissingDependency(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	for _, s := range []application.Spec{spec("kv", ev), spec("kvserver", ev, "kv")} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	err := c.Start(ctx, "kvserver", application.Temporary)
	var ns *application.NotStartedError
	if !errors.As(err, &ns) || ns.App != "kvserver" || ns.Missing != "kv" || !errors.Is(err, application.ErrNotStarted) {
		t.Fatalf("Start(kvserver) = %v, want not_started naming kv", err)
	}
	if want := "application: kvserver depends on kv, which is not started"; err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
	if len(ev) != 0 {
		t.Errorf("a module was started: %q", <-ev)
	}
}

func TestEnsureAllStartedOrder(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	// d depends on b and c, which depend on a; kv and kvserver apart.
	for _, s := range []application.Spec{
		spec("a", ev), spec("b", ev, "a"), spec("c", ev, "a"), spec("d", ev, "b", "c"),
		spec("kv", ev), spec("kvserver", ev, "kv"),
	} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	started, err := c.EnsureAllStarted(ctx, "kvserver", application.Temporary)
	if err != nil || !slices.Equal(started, []string{"kv", "kvserver"}) {
		t.Fatalf("EnsureAllStarted(kvserver) = %v, %v; want [kv kvserver]", started, err)
	}
	started, err = c.EnsureAllStarted(ctx, "kvserver", application.Temporary)
	if err != nil || len(started) != 0 {
		t.Errorf("second EnsureAllStarted = %v, %v; want nothing started", started, err)
	}
	started, err = c.EnsureAllStarted(ctx, "d", application.Temporary)
	if err != nil || len(started) != 4 || started[0] != "a" || started[3] != "d" {
		t.Fatalf("EnsureAllStarted(d) = %v, %v; want a, {b c}, d", started, err)
	}
	if got := running(t, c); !slices.Equal(got[:2], []string{"kv", "kvserver"}) || !slices.Equal(got[2:], started) {
		t.Errorf("WhichApplications = %v", got)
	}
}

// Independent applications start concurrently: b's Start waits until c's
// has begun, and c's until b's has, which only works if both run at once.
func TestEnsureAllStartedConcurrent(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	inB, inC := make(chan struct{}), make(chan struct{})
	barrier := func(mine, other chan struct{}) func() error {
		return func() error {
			close(mine)
			select {
			case <-other:
				return nil
			case <-time.After(5 * time.Second):
				return errors.New("the other application did not start concurrently")
			}
		}
	}
	b, cc := spec("b", ev, "a"), spec("c", ev, "a")
	b.Module.(*mod).before = barrier(inB, inC)
	cc.Module.(*mod).before = barrier(inC, inB)
	for _, s := range []application.Spec{spec("a", ev), b, cc, spec("d", ev, "b", "c")} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	started, err := c.EnsureAllStarted(ctx, "d", application.Temporary)
	if err != nil || len(started) != 4 {
		t.Fatalf("EnsureAllStarted = %v, %v", started, err)
	}
}

func TestEnsureAllStartedFailureStopsWhatItStarted(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	bad := spec("bad", ev, "a")
	boom := errors.New("no disk")
	bad.Module.(*mod).startErr = boom
	for _, s := range []application.Spec{spec("a", ev), bad, spec("top", ev, "bad"), spec("other", ev)} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Start(ctx, "other", application.Temporary); err != nil {
		t.Fatal(err)
	}
	ev.expect(t, "start:other")
	_, err := c.EnsureAllStarted(ctx, "top", application.Temporary)
	var se *application.StartError
	if !errors.As(err, &se) || se.App != "bad" || !errors.Is(err, boom) {
		t.Fatalf("EnsureAllStarted = %v, want *StartError for bad wrapping %v", err, boom)
	}
	ev.expect(t, "start:a", "start:bad", "prep_stop:a", "stop:a")
	if got := running(t, c); !slices.Equal(got, []string{"other"}) {
		t.Errorf("running = %v, want only other", got)
	}
}

func TestEnsureAllStartedPlanErrors(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	for _, s := range []application.Spec{
		spec("x", ev, "y"), spec("y", ev, "z"), spec("z", ev, "x"),
		spec("lonely", ev, "missing"),
	} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.EnsureAllStarted(ctx, "x", application.Temporary)
	if !errors.Is(err, application.ErrCycle) || err.Error() != "application: circular dependencies: x -> y -> z -> x" {
		t.Errorf("cycle: %v", err)
	}
	_, err = c.EnsureAllStarted(ctx, "lonely", application.Temporary)
	if !errors.Is(err, application.ErrNotLoaded) || err.Error() != "application: not loaded: missing (a dependency of lonely)" {
		t.Errorf("missing dependency: %v", err)
	}
	if _, err := c.EnsureAllStarted(ctx, "ghost", application.Temporary); !errors.Is(err, application.ErrNotLoaded) {
		t.Errorf("unknown app: %v", err)
	}
}

func TestStopStopsDependentsFirst(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	for _, s := range []application.Spec{spec("a", ev), spec("x", ev), spec("b", ev, "a"), spec("c", ev, "b")} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"c", "x"} {
		if _, err := c.EnsureAllStarted(ctx, name, application.Permanent); err != nil {
			t.Fatal(err)
		}
	}
	ev.expect(t, "start:a", "start:b", "start:c", "start:x")
	stopped, err := c.Stop(ctx, "a")
	if err != nil || !slices.Equal(stopped, []string{"c", "b", "a"}) {
		t.Fatalf("Stop(a) = %v, %v; want [c b a]", stopped, err)
	}
	ev.expect(t, "prep_stop:c", "stop:c", "prep_stop:b", "stop:b", "prep_stop:a", "stop:a")
	if got := running(t, c); !slices.Equal(got, []string{"x"}) {
		t.Errorf("running = %v, want [x]", got)
	}
	// Stopping a permanent application by request does not end the node.
	if _, err := c.Stop(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WhichApplications(ctx); err != nil {
		t.Errorf("controller gone after stopping a permanent app: %v", err)
	}
}

func TestStartFailures(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	panics := spec("panics", ev)
	panics.Module.(*mod).startPanic = true
	noTop := application.Spec{Name: "notop", Module: application.StartFunc(
		func(*actor.Context, application.StartType, any) (actor.PID, error) { return actor.PID{}, nil })}
	for _, s := range []application.Spec{panics, noTop} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	err := c.Start(ctx, "panics", application.Permanent)
	var pe *actor.PanicError
	if !errors.As(err, &pe) {
		t.Errorf("Start of a panicking module = %v, want a *actor.PanicError", err)
	}
	if err := c.Start(ctx, "notop", application.Permanent); !errors.Is(err, application.ErrNoTopProcess) {
		t.Errorf("Start returning no PID = %v, want ErrNoTopProcess", err)
	}
	if got := running(t, c); len(got) != 0 {
		t.Errorf("running = %v", got)
	}
}

func TestLibraryApplication(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	if err := c.Load(ctx, application.Spec{Name: "lib", Vsn: "0.1.0"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(ctx, spec("user", ev, "lib")); err != nil {
		t.Fatal(err)
	}
	started, err := c.EnsureAllStarted(ctx, "user", application.Permanent)
	if err != nil || !slices.Equal(started, []string{"lib", "user"}) {
		t.Fatalf("EnsureAllStarted = %v, %v", started, err)
	}
	stopped, err := c.Stop(ctx, "lib")
	if err != nil || !slices.Equal(stopped, []string{"user", "lib"}) {
		t.Fatalf("Stop(lib) = %v, %v", stopped, err)
	}
}

// A top process that ignores the shutdown signal is killed at the stop
// deadline.
func TestStopDeadlineKillsTop(t *testing.T) {
	n, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	s := spec("stubborn", ev)
	s.Module.(*mod).top = func(ctx *actor.Context) (actor.PID, error) {
		return ctx.SpawnLink(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }), actor.WithTrapExit())
	}
	if err := c.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "stubborn", application.Temporary); err != nil {
		t.Fatal(err)
	}
	exit := n.WatchExit(topOf(t, c, "stubborn"))
	// The kill comes a fifth of the time before the deadline; 2 s leaves
	// the answer 400 ms to arrive even on a loaded machine under -race.
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	stopped, err := c.Stop(sctx, "stubborn")
	if err != nil || !slices.Equal(stopped, []string{"stubborn"}) {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	if r := <-exit; !errors.Is(r, actor.Killed) {
		t.Errorf("top exited with %v, want killed", r)
	}
}

func TestShutdown(t *testing.T) {
	_, c := newController(t)
	ctx := ctxT(t)
	ev := newEvents()
	for _, s := range []application.Spec{spec("a", ev), spec("b", ev, "a"), spec("x", ev)} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"b", "x"} {
		if _, err := c.EnsureAllStarted(ctx, name, application.Permanent); err != nil {
			t.Fatal(err)
		}
	}
	exit := c.Terminated()
	stopped, err := c.Shutdown(ctx)
	if err != nil || !slices.Equal(stopped, []string{"x", "b", "a"}) {
		t.Fatalf("Shutdown = %v, %v; want [x b a]", stopped, err)
	}
	if r := <-exit; !errors.Is(r, actor.Normal) {
		t.Errorf("controller exited with %v, want normal", r)
	}
	if err := c.Start(ctx, "a", application.Temporary); !errors.Is(err, actor.NoProc) {
		t.Errorf("Start after Shutdown = %v, want noproc", err)
	}
}

func TestOneControllerPerNode(t *testing.T) {
	n, c := newController(t)
	if _, err := application.NewController(n); !errors.Is(err, application.ErrControllerExists) {
		t.Errorf("second NewController = %v, want ErrControllerExists", err)
	}
	found, err := application.ControllerOf(n)
	if err != nil || found.PID() != c.PID() {
		t.Errorf("ControllerOf = %v, %v", found.PID(), err)
	}
	if _, err := application.ControllerOf(newNode(t)); !errors.Is(err, application.ErrNoController) {
		t.Errorf("ControllerOf a bare node = %v, want ErrNoController", err)
	}
}

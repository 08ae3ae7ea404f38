package application_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/internal/testkit"
)

type semApp struct {
	name string
	mu   *sync.Mutex
	log  *[]string
	tops map[string]actor.PID
}

func (a semApp) add(s string) { a.mu.Lock(); *a.log = append(*a.log, s); a.mu.Unlock() }

func (a semApp) Start(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
	a.add("start " + a.name)
	pid, err := ctx.SpawnLink(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
		if e, ok := msg.(error); ok {
			return e
		}
		if x, ok := msg.(actor.Exit); ok {
			return x.Reason
		}
		return nil
	}), actor.WithTrapExit())
	a.mu.Lock()
	a.tops[a.name] = pid
	a.mu.Unlock()
	return pid, err
}

func (a semApp) Stop(*actor.Context) { a.add("stop " + a.name) }

func TestApplicationSemantics(t *testing.T) {
	for _, typ := range []application.RestartType{application.Temporary, application.Transient, application.Permanent} {
		for _, reason := range []error{actor.Normal, errors.New("crash")} {
			t.Run(typ.String()+"/"+reason.Error(), func(t *testing.T) { appCase(t, typ, reason) })
		}
	}
}

func appCase(t *testing.T, typ application.RestartType, reason error) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	c, err := application.NewController(n)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log []string
	tops := map[string]actor.PID{}
	mk := func(name string, deps ...string) application.Spec {
		return application.Spec{Name: name, Dependencies: deps, Module: semApp{name, &mu, &log, tops}}
	}
	take := func() []string { mu.Lock(); defer mu.Unlock(); l := log; log = nil; return l }
	for _, s := range []application.Spec{mk("a"), mk("b", "a"), mk("c", "b"), mk("d", "a")} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Load(ctx, mk("a")); !errors.Is(err, application.ErrAlreadyLoaded) {
		t.Errorf("load twice: %v", err)
	}
	if err := c.Start(ctx, "zz", typ); !errors.Is(err, application.ErrNotLoaded) {
		t.Errorf("start unloaded: %v", err)
	}
	var nse *application.NotStartedError
	if err := c.Start(ctx, "c", typ); !errors.As(err, &nse) || nse.Missing != "b" {
		t.Errorf("start without deps: %v", err)
	}
	started, err := c.EnsureAllStarted(ctx, "c", typ)
	if err != nil || !slices.Equal(started, []string{"a", "b", "c"}) {
		t.Fatalf("ensure all started: %v %v", started, err)
	}
	if err := c.Start(ctx, "d", typ); err != nil {
		t.Fatal(err)
	}
	if got := take(); !slices.Equal(got, []string{"start a", "start b", "start c", "start d"}) {
		t.Errorf("start order %q", got)
	}
	if err := c.Start(ctx, "d", typ); !errors.Is(err, application.ErrAlreadyStarted) {
		t.Errorf("start twice: %v", err)
	}
	mu.Lock()
	top := tops["b"]
	mu.Unlock()
	terminated := c.Terminated()
	n.Send(top, reason)
	ends := typ == application.Permanent || (typ == application.Transient && !errors.Is(reason, actor.Normal))
	if ends {
		select {
		case err := <-terminated:
			var xe *application.ExitError
			if !errors.As(err, &xe) || xe.App != "b" || !errors.Is(err, reason) {
				t.Errorf("controller ended with %v", err)
			}
		case <-ctx.Done():
			t.Fatal("controller did not end")
		}
		got := take()
		// b is gone by itself (its Stop runs); then the others, newest first
		want := []string{"stop b", "stop d", "stop c", "stop a"}
		if !slices.Equal(got, want) {
			t.Errorf("stops after a node-ending death: %q, want %q", got, want)
		}
		return
	}
	// the death is only logged: b no longer runs, its dependent c does (as
	// in OTP), and a later Stop of a stops the rest newest first
	testkit.Eventually(t, actortest.Timeout, func() error {
		infos, err := c.WhichApplications(ctx)
		if err != nil {
			return err
		}
		var apps []string
		for _, i := range infos {
			apps = append(apps, i.Name)
		}
		slices.Sort(apps)
		if !slices.Equal(apps, []string{"a", "c", "d"}) {
			return fmt.Errorf("running %v", apps)
		}
		return nil
	})
	if got := take(); !slices.Equal(got, []string{"stop b"}) {
		t.Errorf("after b's death: %q", got)
	}
	stopped, err := c.Stop(ctx, "a")
	if err != nil || !slices.Equal(stopped, []string{"d", "c", "a"}) {
		t.Errorf("stop a: %v %v", stopped, err)
	}
	if got := take(); !slices.Equal(got, []string{"stop d", "stop c", "stop a"}) {
		t.Errorf("stop order %q", got)
	}
}

func TestApplicationControllerRecords(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	c, err := application.NewController(n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := application.NewController(n); !errors.Is(err, application.ErrControllerExists) {
		t.Errorf("second controller: %v", err)
	}
	lib := application.Spec{Name: "lib", Vsn: "1.2.3", Env: map[string]any{"port": 4040}}
	if err := c.Load(ctx, lib); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(ctx, application.Spec{}); !errors.Is(err, application.ErrInvalidSpec) {
		t.Errorf("load without a name: %v", err)
	}
	c.Load(ctx, application.Spec{Name: "x", Dependencies: []string{"y"}})
	c.Load(ctx, application.Spec{Name: "y", Dependencies: []string{"x"}})
	if _, err := c.EnsureAllStarted(ctx, "x", application.Temporary); !errors.Is(err, application.ErrCycle) {
		t.Errorf("cycle: %v", err)
	}
	c.Load(ctx, application.Spec{Name: "z", Dependencies: []string{"missing"}})
	if _, err := c.EnsureAllStarted(ctx, "z", application.Temporary); !errors.Is(err, application.ErrNotLoaded) {
		t.Errorf("missing dependency: %v", err)
	}
	if v, err := c.Spec(ctx, "lib", application.KeyVsn); v != "1.2.3" || err != nil {
		t.Errorf("vsn %v %v", v, err)
	}
	if p, ok, err := application.GetEnvAs(ctx, c, "lib", "port", 0); p != 4040 || !ok || err != nil {
		t.Errorf("env %v %v %v", p, ok, err)
	}
	var ete *application.EnvTypeError
	if _, _, err := application.GetEnvAs(ctx, c, "lib", "port", ""); !errors.As(err, &ete) {
		t.Errorf("env of the wrong type: %v", err)
	}
	if _, ok, err := application.GetEnvAs(ctx, c, "lib", "nope", 7); ok || err != nil {
		t.Errorf("unset env: %v %v", ok, err)
	}
	if err := c.Start(ctx, "lib", application.Permanent); err != nil {
		t.Fatal(err)
	}
	if err := c.Unload(ctx, "lib"); !errors.Is(err, application.ErrRunning) {
		t.Errorf("unload running: %v", err)
	}
	if _, err := c.Stop(ctx, "y"); !errors.Is(err, application.ErrNotStarted) {
		t.Errorf("stop of a loaded, not started app: %v", err)
	}
	if _, err := c.Stop(ctx, "nope"); !errors.Is(err, application.ErrNotLoaded) {
		t.Errorf("stop of an unknown app: %v", err)
	}
	stopped, err := c.Shutdown(ctx)
	if err != nil || !slices.Equal(stopped, []string{"lib"}) {
		t.Errorf("shutdown %v %v", stopped, err)
	}
	if err := c.Start(ctx, "y", application.Temporary); err == nil {
		t.Errorf("start after shutdown succeeded")
	}
}

func TestRunExitCodes(t *testing.T) {
	var mu sync.Mutex
	var log []string
	tops := map[string]actor.PID{}
	spec := application.Spec{Name: "a", Module: semApp{"a", &mu, &log, tops}}
	// ctx ends: a clean stop
	n := actortest.NewNode(t)
	ctx, cancel := context.WithCancel(actortest.Context(t))
	code := application.Run(ctx, n, []application.Spec{spec}, application.WithSignals(),
		application.WithOnStarted(func(context.Context, application.Controller, []string) { cancel() }))
	if code != application.ExitOK {
		t.Errorf("run ended by ctx: %d", code)
	}
	// a permanent application dies: failure
	n2 := actortest.NewNode(t)
	code = application.Run(actortest.Context(t), n2, []application.Spec{spec}, application.WithSignals(),
		application.WithOnStarted(func(_ context.Context, c application.Controller, _ []string) {
			mu.Lock()
			top := tops["a"]
			mu.Unlock()
			n2.Send(top, errors.New("boom"))
		}))
	if code != application.ExitFailure {
		t.Errorf("run after a permanent app's death: %d", code)
	}
	// a start failure: failure, nothing left running
	bad := application.Spec{Name: "bad", Module: application.StartFunc(func(*actor.Context, application.StartType, any) (actor.PID, error) {
		return actor.PID{}, errors.New("no start")
	})}
	n3 := actortest.NewNode(t)
	if code := application.Run(actortest.Context(t), n3, []application.Spec{bad}, application.WithSignals()); code != application.ExitFailure {
		t.Errorf("run with a failing start: %d", code)
	}
}

type prepApp struct{ semApp }

func (a prepApp) PrepStop(*actor.Context) { a.add("prep " + a.name) }

func TestApplicationPrepStopOrder(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	c, _ := application.NewController(n)
	var mu sync.Mutex
	var log []string
	tops := map[string]actor.PID{}
	app := prepApp{semApp{"p", &mu, &log, tops}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Load(ctx, application.Spec{Name: "p", Module: app}))
	must(c.Start(ctx, "p", application.Temporary))
	mu.Lock()
	top := tops["p"]
	mu.Unlock()
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, top)
	if _, err := c.Stop(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if r := actortest.ReceiveAs[actor.Down](t, ib).Reason; !errors.Is(r, actor.Shutdown) {
		t.Errorf("top process stopped with %v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(log, []string{"start p", "prep p", "stop p"}) {
		t.Errorf("order %q", log)
	}
}

// TestInvalidRestartType: a RestartType that is none of the three is
// refused and nothing starts (it used to run as Temporary).
func TestInvalidRestartType(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	c, _ := application.NewController(n)
	if err := c.Load(ctx, application.Spec{Name: "lib"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "lib", 9); !errors.Is(err, application.ErrInvalidRestartType) {
		t.Errorf("start: %v", err)
	}
	if _, err := c.EnsureAllStarted(ctx, "lib", 9); !errors.Is(err, application.ErrInvalidRestartType) {
		t.Errorf("ensure all started: %v", err)
	}
	if apps, _ := c.WhichApplications(ctx); len(apps) != 0 {
		t.Errorf("running %v", apps)
	}
	n2 := actortest.NewNode(t)
	if code := application.Run(ctx, n2, []application.Spec{{Name: "lib"}}, application.WithSignals(), application.WithRestartType(9)); code != application.ExitFailure {
		t.Errorf("run: %d", code)
	}
}

// TestNilApplicationOptionsSkipped: nil Options and RunOptions are skipped
// (they used to panic).
func TestNilApplicationOptionsSkipped(t *testing.T) {
	n := actortest.NewNode(t)
	if _, err := application.NewController(n, nil); err != nil {
		t.Errorf("controller with a nil option: %v", err)
	}
	ctx, cancel := context.WithCancel(actortest.Context(t))
	cancel()
	if code := application.Run(ctx, actortest.NewNode(t), nil, nil, application.WithSignals()); code != application.ExitOK {
		t.Errorf("run with a nil option: %d", code)
	}
}

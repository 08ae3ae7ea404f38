package application_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/application"
)

// dpModule records the start type and args it is given.
type dpModule struct{ got chan [2]any }

func (m dpModule) Start(ctx *actor.Context, typ application.StartType, args any) (actor.PID, error) {
	m.got <- [2]any{typ, args}
	return ctx.SpawnLink(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if x, ok := msg.(actor.Exit); ok {
			return x.Reason
		}
		return nil
	}), actor.WithTrapExit())
}

// TestProbeApplicationCycle: Module.Start gets the start type Normal and the
// spec's Args (Mod:start(normal, Args)); an application stopped can be
// started again (application:stop then start); EnsureAllStarted of running
// applications starts nothing and lists nothing; a library application
// (no Module) starts and stops; Stop of an application that is loaded but
// not running is a *NotStartedError.
func TestProbeApplicationCycle(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	c, err := application.NewController(n)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan [2]any, 4)
	if err := c.Load(ctx, application.Spec{Name: "lib"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(ctx, application.Spec{Name: "app", Dependencies: []string{"lib"}, Module: dpModule{got}, Args: "the args"}); err != nil {
		t.Fatal(err)
	}
	started, err := c.EnsureAllStarted(ctx, "app", application.Temporary)
	if err != nil || !slices.Equal(started, []string{"lib", "app"}) {
		t.Fatalf("ensure all started: %v %v", started, err)
	}
	if g := <-got; g[0] != application.Normal || g[1] != "the args" {
		t.Errorf("Module.Start got %v", g)
	}
	if again, err := c.EnsureAllStarted(ctx, "app", application.Temporary); err != nil || len(again) != 0 {
		t.Errorf("ensure all started of running applications: %v %v", again, err)
	}
	if err := c.Start(ctx, "app", application.Temporary); !errors.Is(err, application.ErrAlreadyStarted) {
		t.Errorf("start of a running application: %v", err)
	}
	stopped, err := c.Stop(ctx, "app")
	if err != nil || !slices.Equal(stopped, []string{"app"}) {
		t.Fatalf("stop: %v %v", stopped, err)
	}
	var ns *application.NotStartedError
	if _, err := c.Stop(ctx, "app"); !errors.As(err, &ns) || !errors.Is(err, application.ErrNotStarted) {
		t.Errorf("stop of a stopped application: %v", err)
	}
	if err := c.Start(ctx, "app", application.Permanent); err != nil {
		t.Fatalf("start after a stop: %v", err)
	}
	<-got
	apps, _ := c.WhichApplications(ctx)
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
		if a.Name == "app" && (a.Type != application.Permanent || a.Top.IsZero()) {
			t.Errorf("app's row %+v", a)
		}
	}
	if !slices.Contains(names, "app") || !slices.Contains(names, "lib") {
		t.Errorf("which applications %v", names)
	}
	// stopping the library stops its dependent first
	if stopped, err := c.Stop(ctx, "lib"); err != nil || !slices.Equal(stopped, []string{"app", "lib"}) {
		t.Errorf("stop of the library: %v %v", stopped, err)
	}
	if _, err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

package application_test

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"

	"github.com/arbor-otp/arbor/application"
)

// runApps runs Run on a fresh node in a goroutine; the returned channel
// gets its exit code.
func runApps(t *testing.T, ctx context.Context, apps []application.Spec, opts ...application.RunOption) <-chan int {
	t.Helper()
	n := newNode(t)
	code := make(chan int, 1)
	go func() { code <- application.Run(ctx, n, apps, opts...) }()
	return code
}

func TestRunStopsOnContext(t *testing.T) {
	ev := newEvents()
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	startedList := make(chan []string, 1)
	code := runApps(t, ctx, []application.Spec{spec("kvserver", ev, "kv"), spec("kv", ev)},
		application.WithSignals(),
		application.WithOnStarted(func(_ context.Context, _ application.Controller, started []string) {
			startedList <- started
		}))
	if got := <-startedList; !slices.Equal(got, []string{"kv", "kvserver"}) {
		t.Errorf("started %v, want [kv kvserver]", got)
	}
	cancel()
	if c := <-code; c != application.ExitOK {
		t.Errorf("Run = %d, want ExitOK", c)
	}
	ev.expect(t, "start:kv", "start:kvserver", "prep_stop:kvserver", "stop:kvserver", "prep_stop:kv", "stop:kv")
}

func TestRunStopsOnSignal(t *testing.T) {
	ev := newEvents()
	ready := make(chan struct{})
	code := runApps(t, ctxT(t), []application.Spec{spec("a", ev)},
		application.WithSignals(syscall.SIGUSR1),
		application.WithOnStarted(func(context.Context, application.Controller, []string) { close(ready) }))
	<-ready
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if c := <-code; c != application.ExitOK {
		t.Errorf("Run = %d, want ExitOK", c)
	}
	ev.expect(t, "start:a", "prep_stop:a", "stop:a")
}

// A permanent application's death ends Run with a failure code, after the
// other applications were stopped.
func TestRunEndsWhenPermanentAppDies(t *testing.T) {
	ev := newEvents()
	ctrl := make(chan application.Controller, 1)
	code := runApps(t, ctxT(t), []application.Spec{spec("a", ev), spec("b", ev)},
		application.WithSignals(),
		application.WithOnStarted(func(_ context.Context, c application.Controller, _ []string) { ctrl <- c }))
	c := <-ctrl
	ev.expect(t, "start:a", "start:b")
	exit := c.Terminated()
	if err := sendDie(t, c, "a", errors.New("disk on fire")); err != nil {
		t.Fatal(err)
	}
	if got := <-code; got != application.ExitFailure {
		t.Errorf("Run = %d, want ExitFailure", got)
	}
	ev.expect(t, "prep_stop:a", "stop:a", "prep_stop:b", "stop:b")
	var ee *application.ExitError
	if r := <-exit; !errors.As(r, &ee) || ee.App != "a" {
		t.Errorf("controller exit %v, want *ExitError for a", r)
	}
}

func TestRunStartFailure(t *testing.T) {
	ev := newEvents()
	bad := spec("bad", ev, "a")
	bad.Module.(*mod).startErr = errors.New("no config")
	code := runApps(t, ctxT(t), []application.Spec{spec("a", ev), bad}, application.WithSignals())
	if got := <-code; got != application.ExitFailure {
		t.Errorf("Run = %d, want ExitFailure", got)
	}
	ev.expect(t, "start:a", "start:bad", "prep_stop:a", "stop:a")
}

// A signal (or ctx) while the applications are starting is a requested
// stop: Run waits for the start under way, stops everything newest first
// (slow before its dependency a) and returns ExitOK.
func TestRunStoppedWhileStarting(t *testing.T) {
	ev := newEvents()
	n := newNode(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	slow, entered, release := gated("slow", ev, "a")
	code := make(chan int, 1)
	go func() {
		code <- application.Run(ctx, n, []application.Spec{spec("a", ev), slow}, application.WithSignals())
	}()
	<-entered
	c, err := application.ControllerOf(n)
	if err != nil {
		t.Fatal(err)
	}
	loadProbe(t, c)
	cancel() // as a signal would, while slow is starting
	untilTerminating(t, c)
	close(release)
	if got := <-code; got != application.ExitOK {
		t.Errorf("Run = %d, want ExitOK", got)
	}
	ev.expect(t, "start:a", "start:slow", "prep_stop:slow", "stop:slow", "prep_stop:a", "stop:a")
}

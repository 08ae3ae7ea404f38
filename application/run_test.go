package application_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/rs/zerolog"
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

// logSignal is a log writer that closes seen at the first line holding
// any of its texts.
type logSignal struct {
	texts []string
	once  sync.Once
	seen  chan struct{}
}

func (l *logSignal) Write(p []byte) (int, error) {
	for _, s := range l.texts {
		if bytes.Contains(p, []byte(s)) {
			l.once.Do(func() { close(l.seen) })
		}
	}
	return len(p), nil
}

// A signal (or ctx) while the applications are starting is a requested
// stop: Run stops what started and returns ExitOK.
func TestRunStoppedWhileStarting(t *testing.T) {
	ev := newEvents()
	logged := &logSignal{texts: []string{"cannot start application", "asked to stop while starting"}, seen: make(chan struct{})}
	n := newNode(t, actor.WithLogger(zerolog.New(logged)))
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	entered, release := make(chan struct{}), make(chan struct{})
	slow := spec("slow", ev, "a")
	slow.Module.(*mod).before = func() error {
		close(entered)
		<-release
		return nil
	}
	code := make(chan int, 1)
	go func() {
		code <- application.Run(ctx, n, []application.Spec{spec("a", ev), slow}, application.WithSignals())
	}()
	<-entered
	cancel() // as a signal would, while slow is starting
	<-logged.seen
	close(release)
	if got := <-code; got != application.ExitOK {
		t.Errorf("Run = %d, want ExitOK", got)
	}
	// Both are stopped. (The order is not checked: slow's start ends after
	// the stop began, and the controller then stops it after a.)
	got := make([]string, 6)
	for i := range got {
		got[i] = ev.next(t)
	}
	slices.Sort(got)
	if want := []string{"prep_stop:a", "prep_stop:slow", "start:a", "start:slow", "stop:a", "stop:slow"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

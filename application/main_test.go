package application_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func newNode(t testing.TB, opts ...actor.NodeOption) *actor.Node {
	return actortest.NewNode(t, opts...)
}

func ctxT(t testing.TB) context.Context { return actortest.Context(t) }

// newController starts a controller on a fresh node.
func newController(t testing.TB, opts ...application.Option) (*actor.Node, application.Controller) {
	t.Helper()
	n := newNode(t)
	c, err := application.NewController(n, opts...)
	if err != nil {
		t.Fatalf("new controller: %v", err)
	}
	return n, c
}

// events records what test modules do, as "start:a", "prep_stop:a",
// "stop:a".
type events chan string

func newEvents() events { return make(events, 256) }

// next waits for the next event.
func (e events) next(t testing.TB) string {
	t.Helper()
	select {
	case s := <-e:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return ""
	}
}

// expect waits for the next len(want) events and compares them.
func (e events) expect(t testing.TB, want ...string) {
	t.Helper()
	for i, w := range want {
		if got := e.next(t); got != w {
			t.Fatalf("event %d = %q, want %q (all: %q)", i, got, w, want)
		}
	}
}

// mod is a test application module whose top process is a worker GenServer
// started linked to the master.
type mod struct {
	name string
	ev   events
	// startErr fails Start; startPanic panics in it.
	startErr   error
	startPanic bool
	// before runs at the start of Start, if set.
	before func() error
	// top, if set, starts the top process instead of the default worker.
	top func(ctx *actor.Context) (actor.PID, error)
}

func (m *mod) Start(ctx *actor.Context, st application.StartType, _ any) (actor.PID, error) {
	m.ev <- "start:" + m.name
	if m.before != nil {
		if err := m.before(); err != nil {
			return actor.PID{}, err
		}
	}
	if m.startPanic {
		panic("start " + m.name)
	}
	if m.startErr != nil {
		return actor.PID{}, m.startErr
	}
	if m.top != nil {
		return m.top(ctx)
	}
	return behaviour.StartLink[struct{}](ctx, worker{}, behaviour.WithTrapExit())
}

func (m *mod) PrepStop(*actor.Context) { m.ev <- "prep_stop:" + m.name }

func (m *mod) Stop(*actor.Context) { m.ev <- "stop:" + m.name }

// spec returns the spec of a test application.
func spec(name string, ev events, deps ...string) application.Spec {
	return application.Spec{Name: name, Vsn: "1.0.0", Dependencies: deps, Module: &mod{name: name, ev: ev}}
}

// worker is a GenServer top process that ends with the reason it is sent.
type worker struct{}

type die struct{ reason error }

func (worker) Init(*actor.Context) (struct{}, error) { return struct{}{}, nil }

func (worker) HandleInfo(_ *actor.Context, msg any, s struct{}) behaviour.Result[struct{}] {
	if d, ok := msg.(die); ok {
		return behaviour.Stop(d.reason, s)
	}
	return behaviour.NoReply(s)
}

// topOf returns the top process of the running application name.
func topOf(t testing.TB, c application.Controller, name string) actor.PID {
	t.Helper()
	list, err := c.WhichApplications(ctxT(t))
	if err != nil {
		t.Fatalf("which applications: %v", err)
	}
	for _, i := range list {
		if i.Name == name {
			return i.Top
		}
	}
	t.Fatalf("%s is not running: %v", name, list)
	return actor.PID{}
}

// running returns the names of the running applications, in start order.
func running(t testing.TB, c application.Controller) []string {
	t.Helper()
	list, err := c.WhichApplications(ctxT(t))
	if err != nil {
		t.Fatalf("which applications: %v", err)
	}
	names := []string{}
	for _, i := range list {
		names = append(names, i.Name)
	}
	return names
}

// sendDie makes the top process of the running application name exit with
// reason.
func sendDie(t testing.TB, c application.Controller, name string, reason error) error {
	t.Helper()
	top := topOf(t, c, name)
	return actor.Send(ctxT(t), top, die{reason: reason})
}

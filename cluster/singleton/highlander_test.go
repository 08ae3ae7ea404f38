package singleton_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// TestRegistryModeBadInput: every misuse of the registry mode is a clear
// error at start or at the call, never a hang.
func TestRegistryModeBadInput(t *testing.T) {
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = node.Stop(context.Background()) }()
	reg := registry.New(node)
	if err := singleton.AddScope(reg, "s", registry.WithEventHandler(struct{}{})); !errors.Is(err, singleton.ErrScopeHandler) {
		t.Fatalf("AddScope with a handler: %v, want ErrScopeHandler", err)
	}
	if err := singleton.AddScope(nil, "s"); !errors.Is(err, singleton.ErrNoRegistry) {
		t.Fatalf("AddScope(nil): %v, want ErrNoRegistry", err)
	}
	if err := singleton.AddScope(reg, ""); !errors.Is(err, registry.ErrBadName) {
		t.Fatalf("AddScope of an empty scope: %v, want ErrBadName", err)
	}
	if err := reg.AddScope("plain"); err != nil {
		t.Fatal(err)
	}
	if err := singleton.AddScope(reg, "s"); err != nil {
		t.Fatal(err)
	}
	if err := singleton.AddScope(reg, "s"); !errors.Is(err, registry.ErrScopeExists) {
		t.Fatalf("AddScope twice: %v, want ErrScopeExists", err)
	}
	spec := hlWorkerSpec("x", "n", func(entry) {})
	for _, tc := range []struct {
		opts []singleton.Option
		want error
	}{
		{[]singleton.Option{singleton.WithRegistry(reg, "plain")}, singleton.ErrNotSingletonScope},
		{[]singleton.Option{singleton.WithRegistry(reg, "nope")}, registry.ErrUnknownScope},
		{[]singleton.Option{singleton.WithRegistry(nil, "s")}, singleton.ErrNoRegistry},
		{[]singleton.Option{singleton.WithRegistry(reg, "s"), singleton.WithLock(newTestLocker(t, "127.0.0.1:1", "n"))}, singleton.ErrTwoModes},
	} {
		if _, err := supervision.Start(node, []supervision.ChildSpec{singleton.Spec(spec, tc.opts...)}); !errors.Is(err, tc.want) {
			t.Errorf("start: %v, want %v", err, tc.want)
		}
	}
	if _, err := singleton.Whereis(reg, "s", "x"); !errors.Is(err, singleton.ErrNoInstance) || !errors.Is(err, registry.ErrNotRegistered) {
		t.Errorf("Whereis of a free key: %v, want ErrNoInstance and ErrNotRegistered", err)
	}
	if _, err := singleton.Whereis(reg, "plain", "x"); !errors.Is(err, singleton.ErrNotSingletonScope) {
		t.Errorf("Whereis in a plain scope: %v, want ErrNotSingletonScope", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := singleton.Call(ctx, reg, "s", "x", "hi"); !errors.Is(err, singleton.ErrNoInstance) {
		t.Errorf("Call of a free key: %v, want ErrNoInstance", err)
	}
	if err := singleton.Cast(ctx, reg, "s", "x", "hi"); !errors.Is(err, singleton.ErrNoInstance) {
		t.Errorf("Cast to a free key: %v, want ErrNoInstance", err)
	}
}

// TestRegistryModeChildExit: a child that exits by itself frees the key
// and its singleton exits with the child's reason, so the supervisor's
// restart brings it back (and the instance with it); a child stopped by
// its supervisor runs its Terminate with Shutdown.
func TestRegistryModeChildExit(t *testing.T) {
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = node.Stop(context.Background()) }()
	reg := registry.New(node)
	if err := singleton.AddScope(reg, "s"); err != nil {
		t.Fatal(err)
	}
	led := &ledger{}
	sup, err := supervision.Start(node, []supervision.ChildSpec{
		singleton.Spec(hlWorkerSpec("x", "n", led.add), singleton.WithRegistry(reg, "s")),
	})
	if err != nil {
		t.Fatal(err)
	}
	first := waitInstance(t, reg, "x", actor.PID{})
	node.Exit(first, actor.Kill) // it traps exits
	second := waitInstance(t, reg, "x", first)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := supervision.Stop(ctx, node, sup); err != nil {
		t.Fatal(err)
	}
	es := led.snapshot()
	if len(es) == 0 || es[len(es)-1].kind != "stop" || !isShutdown(es[len(es)-1].reason) {
		t.Fatalf("ledger %v: the last instance was not stopped with Shutdown", es)
	}
	if _, err := singleton.Whereis(reg, "s", "x"); !errors.Is(err, singleton.ErrNoInstance) {
		t.Fatalf("Whereis after stop (instance %v): %v", second, err)
	}
}

// waitInstance waits until key has an instance other than not.
func waitInstance(t *testing.T, reg *registry.Registry, key string, not actor.PID) actor.PID {
	t.Helper()
	var pid actor.PID
	testkit.Eventually(t, 10*time.Second, func() error {
		p, err := singleton.Whereis(reg, "s", key)
		if err != nil {
			return err
		}
		if p == not {
			return fmt.Errorf("still %v", p)
		}
		pid = p
		return nil
	})
	return pid
}

// hlWorker is a registry-mode singleton child: it traps exits and records
// its start and its stop with the reason it was given.
type hlWorker struct {
	holder string
	record func(entry)
}

func (w *hlWorker) Init(ctx *actor.Context) error {
	ctx.TrapExit(true)
	w.record(entry{holder: w.holder, kind: "start"})
	return nil
}

func (w *hlWorker) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case actor.Exit:
		if m.From == ctx.Parent() {
			w.record(entry{holder: w.holder, kind: "stop", reason: m.Reason})
			return m.Reason
		}
	case *actor.Request:
		m.Reply(w.holder)
	}
	return nil
}

func hlWorkerSpec(id, holder string, record func(entry)) supervision.ChildSpec {
	return supervision.ChildSpec{
		ID:       id,
		Shutdown: supervision.Timeout(2 * time.Second),
		Start: func(ctx *actor.Context) (actor.PID, error) {
			return ctx.SpawnLink(&hlWorker{holder: holder, record: record})
		},
	}
}

package kv_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func newNode(t testing.TB) *actor.Node { return actortest.NewNode(t) }

func ctxT(t testing.TB) context.Context { return actortest.Context(t) }

// forwarder is the seed's Forwarder: an event handler that passes events
// to the test.
type forwarder chan kv.Event

func (f forwarder) HandleEvent(e kv.Event) error { f <- e; return nil }

func (f forwarder) next(t testing.TB) kv.Event {
	t.Helper()
	select {
	case e := <-f:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return kv.Event{}
	}
}

// setup is the seed's registry test setup: a bucket supervisor, an event
// manager with a forwarding handler, and a registry using both.
func setup(t *testing.T) (*actor.Node, kv.Registry, forwarder) {
	t.Helper()
	n, reg, events, _ := setupWith(t, kv.Config{})
	return n, reg, events
}

// setupWith is setup with the registry's cfg; it also returns the event
// manager.
func setupWith(t *testing.T, cfg kv.Config) (*actor.Node, kv.Registry, forwarder, behaviour.EventManager[kv.Event]) {
	t.Helper()
	n := newNode(t)
	ctx := ctxT(t)
	sup, err := kv.StartBucketSupervisor(n)
	if err != nil {
		t.Fatal(err)
	}
	manager, err := behaviour.StartEventManager[kv.Event](n)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := kv.StartRegistry(n, manager, sup, cfg)
	if err != nil {
		t.Fatal(err)
	}
	events := make(forwarder, 16)
	if err := manager.AddHandler(ctx, "forwarder", events); err != nil {
		t.Fatal(err)
	}
	return n, reg, events, manager
}

func TestBucketStoresValues(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	b, err := kv.StartBucket(n, kv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Get(ctx, "milk"); ok || err != nil {
		t.Errorf("Get of a new key = %v, %v", ok, err)
	}
	if err := b.Put(ctx, "milk", "3"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := b.Get(ctx, "milk"); v != "3" || !ok || err != nil {
		t.Errorf("Get = %q, %v, %v; want 3", v, ok, err)
	}
	if v, ok, err := b.Delete(ctx, "milk"); v != "3" || !ok || err != nil {
		t.Errorf("Delete = %q, %v, %v; want 3", v, ok, err)
	}
	if _, ok, _ := b.Get(ctx, "milk"); ok {
		t.Error("key still set after Delete")
	}
}

func TestRegistryCreateLookup(t *testing.T) {
	_, reg, events := setup(t)
	ctx := ctxT(t)
	if _, ok, err := reg.Lookup(ctx, "shopping"); ok || err != nil {
		t.Fatalf("Lookup before Create = %v, %v", ok, err)
	}
	created, err := reg.Create(ctx, "shopping")
	if err != nil {
		t.Fatal(err)
	}
	if e := events.next(t); e.Kind != kv.Created || e.Name != "shopping" || e.Bucket != created.PID() {
		t.Errorf("event %+v, want create shopping", e)
	}
	b, ok, err := reg.Lookup(ctx, "shopping")
	if !ok || err != nil || b != created {
		t.Fatalf("Lookup = %v, %v, %v", b, ok, err)
	}
	if err := b.Put(ctx, "milk", "1"); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := b.Get(ctx, "milk"); v != "1" {
		t.Errorf("milk = %q, want 1", v)
	}
	// Create of an existing name returns the same bucket, no event.
	again, err := reg.Create(ctx, "shopping")
	if err != nil || again != b {
		t.Errorf("second Create = %v, %v; want the same bucket", again, err)
	}
	if len(events) != 0 {
		t.Errorf("unexpected event %+v", <-events)
	}
}

// The seed's "removes buckets on exit" and "removes bucket on crash".
func TestRegistryRemovesBucket(t *testing.T) {
	for _, tt := range []struct {
		name string
		stop func(ctx context.Context, n *actor.Node, b kv.Bucket) error
	}{
		{"stopped", func(ctx context.Context, n *actor.Node, b kv.Bucket) error {
			return behaviour.StopServer(ctx, n, b.PID(), actor.Normal)
		}},
		{"shutdown signal", func(_ context.Context, n *actor.Node, b kv.Bucket) error {
			return n.Exit(b.PID(), actor.Shutdown)
		}},
		{"crashed", func(_ context.Context, n *actor.Node, b kv.Bucket) error {
			return n.Exit(b.PID(), errors.New("boom"))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, reg, events := setup(t)
			ctx := ctxT(t)
			b, err := reg.Create(ctx, "shopping")
			if err != nil {
				t.Fatal(err)
			}
			events.next(t) // create
			if err := tt.stop(ctx, n, b); err != nil {
				t.Fatal(err)
			}
			if e := events.next(t); e.Kind != kv.Exited || e.Name != "shopping" || e.Bucket != b.PID() {
				t.Errorf("event %+v, want exit shopping", e)
			}
			if _, ok, err := reg.Lookup(ctx, "shopping"); ok || err != nil {
				t.Errorf("Lookup after the bucket exited = %v, %v; want not found", ok, err)
			}
		})
	}
}

// startTree starts the kv application on a fresh node and returns the
// node and the registry.
func startTree(t *testing.T) (*actor.Node, application.Controller) {
	t.Helper()
	n := newNode(t)
	ctx := ctxT(t)
	c, err := application.NewController(n)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load(ctx, kv.Spec()); err != nil {
		t.Fatal(err)
	}
	started, err := c.EnsureAllStarted(ctx, kv.Name, application.Permanent)
	if err != nil || len(started) != 1 || started[0] != kv.Name {
		t.Fatalf("EnsureAllStarted(kv) = %v, %v", started, err)
	}
	return n, c
}

func TestApplicationTree(t *testing.T) {
	n, c := startTree(t)
	ctx := ctxT(t)
	vsn, err := c.Spec(ctx, kv.Name, application.KeyVsn)
	if err != nil || vsn != kv.Vsn {
		t.Errorf("vsn = %v, %v", vsn, err)
	}
	apps, err := c.WhichApplications(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("WhichApplications = %v, %v", apps, err)
	}
	if sup, _ := n.WhereIs(kv.SupervisorName); sup != apps[0].Top {
		t.Errorf("top process %v, want the kv supervisor %v", apps[0].Top, sup)
	}
	kids, err := supervision.WhichChildren(ctx, apps[0].Top)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, k := range kids {
		got += fmt.Sprintf("%s/%s/%s ", k.ID, k.Type, k.State)
	}
	if want := "event_manager/worker/running bucket_supervisor/supervisor/running registry/worker/running "; got != want {
		t.Errorf("children %q, want %q", got, want)
	}
	reg, err := kv.FindRegistry(n)
	if err != nil {
		t.Fatal(err)
	}
	b, err := reg.Create(ctx, "shopping")
	if err != nil {
		t.Fatal(err)
	}
	// Buckets are temporary: a crashed one is not restarted.
	buckets, _ := n.WhereIs(kv.BucketsName)
	exit := n.WatchExit(b.PID())
	_ = n.Exit(b.PID(), errors.New("boom"))
	<-exit
	testkit.Eventually(t, 5*time.Second, func() error {
		cnt, err := supervision.CountChildren(ctx, buckets)
		if err != nil || cnt.Specs != 0 {
			return fmt.Errorf("bucket supervisor counts %+v, %v; want no child", cnt, err)
		}
		return nil
	})
	if _, err := c.Stop(ctx, kv.Name); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.WhereIs(kv.RegistryName); ok {
		t.Error("registry still registered after the application stopped")
	}
}

// A crashed registry is restarted by the top supervisor while the bucket
// supervisor (and its buckets) keep running.
func TestRegistryCrashIsRestarted(t *testing.T) {
	n, _ := startTree(t)
	ctx := ctxT(t)
	reg, err := kv.FindRegistry(n)
	if err != nil {
		t.Fatal(err)
	}
	old, err := reg.Create(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	buckets, _ := n.WhereIs(kv.BucketsName)
	events, _ := n.WhereIs(kv.EventsName)

	exit := n.WatchExit(reg.PID())
	if err := n.Exit(reg.PID(), errors.New("registry bug")); err != nil {
		t.Fatal(err)
	}
	<-exit
	var fresh kv.Registry
	testkit.Eventually(t, 5*time.Second, func() error {
		r, err := kv.FindRegistry(n)
		if err != nil {
			return err
		}
		if r.PID() == reg.PID() {
			return errors.New("registry not restarted yet")
		}
		fresh = r
		return nil
	})
	if now, _ := n.WhereIs(kv.BucketsName); now != buckets || !n.IsAlive(buckets) {
		t.Errorf("bucket supervisor changed: %v -> %v", buckets, now)
	}
	if now, _ := n.WhereIs(kv.EventsName); now != events {
		t.Errorf("event manager changed: %v -> %v", events, now)
	}
	if !n.IsAlive(old.PID()) {
		t.Error("a bucket died with the registry")
	}
	b, err := fresh.Create(ctx, "shopping")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "eggs", "3"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := fresh.Lookup(ctx, "old"); ok {
		t.Error("the restarted registry knows a bucket of the old one")
	}
}

func TestRegistryDrop(t *testing.T) {
	n, reg, events := setup(t)
	ctx := ctxT(t)
	b, err := reg.Create(ctx, "shopping")
	if err != nil {
		t.Fatal(err)
	}
	events.next(t) // create
	exit := n.WatchExit(b.PID())
	if found, err := reg.Drop(ctx, "shopping"); !found || err != nil {
		t.Fatalf("Drop = %v, %v; want true, nil", found, err)
	}
	<-exit
	if e := events.next(t); e.Kind != kv.Exited || e.Name != "shopping" || e.Bucket != b.PID() {
		t.Errorf("event %+v, want exit shopping", e)
	}
	if _, ok, err := reg.Lookup(ctx, "shopping"); ok || err != nil {
		t.Errorf("Lookup after Drop = %v, %v; want not found", ok, err)
	}
	if found, err := reg.Drop(ctx, "shopping"); found || err != nil {
		t.Errorf("second Drop = %v, %v; want false, nil", found, err)
	}
	again, err := reg.Create(ctx, "shopping")
	if err != nil || again == b {
		t.Fatalf("Create after Drop = %v, %v; want a new bucket", again, err)
	}
	if e := events.next(t); e.Kind != kv.Created || e.Bucket != again.PID() {
		t.Errorf("event %+v, want create of the new bucket", e)
	}
}

func TestRegistryMaxBuckets(t *testing.T) {
	_, reg, _, _ := setupWith(t, kv.Config{MaxBuckets: 2})
	ctx := ctxT(t)
	for _, name := range []string{"a", "b"} {
		if _, err := reg.Create(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.Create(ctx, "c"); !errors.Is(err, kv.ErrTooManyBuckets) {
		t.Fatalf("third Create = %v, want ErrTooManyBuckets", err)
	}
	if _, err := reg.Create(ctx, "a"); err != nil {
		t.Errorf("Create of an existing bucket at the cap = %v, want it returned", err)
	}
	if _, err := reg.Drop(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Create(ctx, "c"); err != nil {
		t.Errorf("Create after a Drop = %v", err)
	}
}

// blockingHandler blocks on every event until release is closed.
type blockingHandler struct {
	entered chan struct{}
	release chan struct{}
}

func (h blockingHandler) HandleEvent(kv.Event) error {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-h.release
	return nil
}

// A handler that blocks does not stall the registry: notifying is
// asynchronous, as gen_event's notify.
func TestSlowHandlerDoesNotStallRegistry(t *testing.T) {
	_, reg, _, manager := setupWith(t, kv.Config{})
	ctx := ctxT(t)
	h := blockingHandler{entered: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(func() { close(h.release) })
	if err := manager.AddHandler(ctx, "slow", h); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		// A deadline shorter than the handler's block: a registry that
		// waits for its handlers would fail this.
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := reg.Create(cctx, fmt.Sprintf("b%d", i))
		cancel()
		if err != nil {
			t.Fatalf("Create %d while a handler blocks: %v", i, err)
		}
	}
	<-h.entered
	names, err := reg.Names(ctx)
	if err != nil || len(names) != 5 {
		t.Errorf("Names = %v, %v; want 5", names, err)
	}
}

func TestBucketMaxKeys(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	b, err := kv.StartBucket(n, kv.Config{MaxKeys: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if err := b.Put(ctx, k, "1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put(ctx, "c", "1"); !errors.Is(err, kv.ErrBucketFull) {
		t.Fatalf("Put of a third key = %v, want ErrBucketFull", err)
	}
	if err := b.Put(ctx, "a", "2"); err != nil {
		t.Errorf("Put of an existing key in a full bucket = %v", err)
	}
	if _, _, err := b.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "c", "1"); err != nil {
		t.Errorf("Put after a Delete = %v", err)
	}
}

// The application's env sets the caps of the tree's registry and buckets.
func TestApplicationEnvCaps(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	c, err := application.NewController(n)
	if err != nil {
		t.Fatal(err)
	}
	spec := kv.Spec()
	spec.Env[kv.EnvMaxBuckets] = 1
	spec.Env[kv.EnvMaxKeys] = 1
	if err := c.Load(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnsureAllStarted(ctx, kv.Name, application.Permanent); err != nil {
		t.Fatal(err)
	}
	reg, err := kv.FindRegistry(n)
	if err != nil {
		t.Fatal(err)
	}
	b, err := reg.Create(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Create(ctx, "b"); !errors.Is(err, kv.ErrTooManyBuckets) {
		t.Errorf("second Create = %v, want ErrTooManyBuckets", err)
	}
	if err := b.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "k2", "v"); !errors.Is(err, kv.ErrBucketFull) {
		t.Errorf("second key = %v, want ErrBucketFull", err)
	}
}

package application

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// ControllerName is the node-local name the controller process registers.
const ControllerName = "application_controller"

// Controller is the handle of a node's application controller, the process
// that holds the loaded specs, starts and stops applications and watches
// them (OTP's application_controller). It is a small value; copy it
// freely. Every method may be called from any goroutine or process; each
// is a call to the controller, bounded by ctx (actor.DefaultCallTimeout
// when ctx has no deadline), and returns a *actor.CallError when the
// controller cannot answer in time or is not alive.
type Controller struct {
	node *actor.Node
	pid  actor.PID
	exit *exitRecord // the controller's exit, kept for Terminated
}

// Option configures a Controller.
type Option func(*config)

type config struct {
	stopTimeout time.Duration
}

func defaultConfig() config { return config{stopTimeout: 0} }

// WithStopTimeout bounds how long the controller gives each application to
// stop when a Permanent (or abnormally exiting Transient) application dies
// and it stops the others: an application still running at the deadline
// has its top process killed. The default, 0, waits as long as the
// applications' supervisors take, which their shutdown limits bound.
func WithStopTimeout(d time.Duration) Option {
	return func(c *config) { c.stopTimeout = d }
}

// NewController starts the application controller of node n, registered
// as ControllerName. It returns ErrControllerExists if n already has one,
// and actor.ErrNodeStopped on a stopping node.
func NewController(n *actor.Node, opts ...Option) (Controller, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	exit := newExitRecord()
	pid, err := behaviour.Start[*state](n, server{stopTimeout: cfg.stopTimeout, exit: exit},
		behaviour.WithTrapExit())
	if errors.Is(err, actor.ErrNameTaken) {
		return Controller{}, ErrControllerExists
	}
	if err != nil {
		return Controller{}, fmt.Errorf("start application controller: %w", err)
	}
	return Controller{node: n, pid: pid, exit: exit}, nil
}

// ControllerOf returns the controller of node n. It returns
// ErrNoController if n has none.
func ControllerOf(n *actor.Node) (Controller, error) {
	var last actor.PID
	for {
		pid, ok := n.WhereIs(ControllerName)
		if !ok {
			return Controller{}, ErrNoController
		}
		if exit := exitOf(pid); exit != nil {
			return Controller{node: n, pid: pid, exit: exit}, nil
		}
		if pid == last {
			// A process NewController did not start holds the name: its
			// exit is watched from each Terminated call on.
			return Controller{node: n, pid: pid}, nil
		}
		// The controller ended since the lookup (its record is kept from
		// before it takes the name until its exit is known, after the
		// name is released): look again, which finds none or a new one.
		last = pid
	}
}

// PID returns the controller's process.
func (c Controller) PID() actor.PID { return c.pid }

// Terminated returns a channel that receives the controller's exit reason
// once it has exited: actor.Normal after Shutdown, an *ExitError when an
// application whose death ends the node exited (after the others were
// stopped), the reason it was killed with otherwise. The reason is kept:
// called after the controller ended, Terminated reports that same reason
// at once, as a context's Err does after Done. Each call returns a new
// channel, so any number of callers can wait.
func (c Controller) Terminated() <-chan error {
	switch {
	case c.exit != nil:
		return c.exit.subscribe()
	case c.node != nil: // a name NewController's process does not hold
		return c.node.WatchExit(c.pid)
	default: // the zero Controller
		ch := make(chan error, 1)
		ch <- actor.NoProc
		return ch
	}
}

func (c Controller) call(ctx context.Context, req any) (any, error) {
	r, err := behaviour.CallAs[reply](ctx, c.pid, req)
	if err != nil {
		return nil, err
	}
	return r.v, r.err
}

// Load makes spec known to the controller (application:load/1). Its Env
// is copied. It returns an error wrapping ErrInvalidSpec for a spec without
// a name or with a bad dependency list, and ErrAlreadyLoaded.
func (c Controller) Load(ctx context.Context, spec Spec) error {
	_, err := c.call(ctx, loadReq{spec: spec})
	return err
}

// Unload forgets a loaded application that is not running. It returns
// ErrNotLoaded or ErrRunning.
func (c Controller) Unload(ctx context.Context, name string) error {
	_, err := c.call(ctx, unloadReq{name: name})
	return err
}

// Start starts the loaded application name with restart type typ
// (application:start/2) and returns once its Module.Start has returned:
// the application's top process is then running and monitored. Its
// dependencies must be running. It returns ErrInvalidRestartType, ErrNotLoaded,
// ErrAlreadyStarted (running or being started), an error wrapping
// ErrStopping if name is being stopped or a Stop under way will stop it
// (a Stop of one of its dependencies, direct or not), ErrTerminating, a
// *NotStartedError naming the first dependency that is not running, or a
// *StartError if Module.Start failed. If a Shutdown began while
// Module.Start ran, the application has started and Shutdown stops it
// first; Start then returns ErrTerminating.
//
// If ctx ends first, Start returns its error but the start goes on.
func (c Controller) Start(ctx context.Context, name string, typ RestartType) error {
	if typ > Permanent {
		return fmt.Errorf("start %s: %w %d", name, ErrInvalidRestartType, typ)
	}
	_, err := c.call(ctx, startReq{name: name, typ: typ})
	return err
}

// EnsureAllStarted starts name and, first, every dependency of it that is
// not running, transitively (application:ensure_all_started/2). An
// application starts as soon as all its dependencies run, so independent
// ones start concurrently. It returns the applications it started, in the
// order they started (each after its dependencies); applications already
// running are left alone and not listed. Every application it starts gets
// restart type typ.
//
// If a start fails, EnsureAllStarted starts nothing more, waits for the
// starts under way, stops the applications it started (newest first) and
// returns the *StartError. It also returns ErrInvalidRestartType for a typ
// that is none of the three, an error wrapping ErrNotLoaded
// for an application or dependency that is not loaded (naming it),
// ErrCycle for circular dependencies, and Start's errors: when a Stop of
// one of the applications, or Shutdown, overlaps it, the applications not
// yet started are refused (ErrStopping, ErrTerminating) and the Stop or
// Shutdown stops the ones that started.
func (c Controller) EnsureAllStarted(ctx context.Context, name string, typ RestartType) ([]string, error) {
	if typ > Permanent {
		return nil, fmt.Errorf("start %s: %w %d", name, ErrInvalidRestartType, typ)
	}
	v, err := c.call(ctx, planReq{name: name})
	if err != nil {
		return nil, err
	}
	items := v.([]planItem)
	done := make(map[string]chan struct{}, len(items))
	for _, it := range items {
		ch := make(chan struct{})
		if it.running {
			close(ch)
		}
		done[it.name] = ch
	}
	var (
		wg       sync.WaitGroup
		failOnce sync.Once
		failErr  error
		failed   = make(chan struct{})
		started  = make(chan startedApp, len(items))
	)
	fail := func(err error) {
		failOnce.Do(func() { failErr = err; close(failed) })
	}
	for _, it := range items {
		if it.running {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, d := range it.deps {
				select {
				case <-done[d]:
				case <-failed:
					return
				}
			}
			select {
			case <-failed:
				return
			default:
			}
			v, err := c.call(ctx, startReq{name: it.name, typ: typ, ensure: true})
			if err != nil {
				fail(err)
				return
			}
			if seq, _ := v.(uint64); seq > 0 {
				started <- startedApp{name: it.name, seq: seq}
			}
			close(done[it.name])
		}()
	}
	wg.Wait()
	close(started)
	var apps []startedApp
	for a := range started {
		apps = append(apps, a)
	}
	slices.SortFunc(apps, func(x, y startedApp) int { return cmp.Compare(x.seq, y.seq) })
	list := make([]string, len(apps))
	for i, a := range apps {
		list[i] = a.name
	}
	if failErr != nil {
		for i := len(list) - 1; i >= 0; i-- {
			_, _ = c.Stop(ctx, list[i])
		}
		return nil, failErr
	}
	return list, nil
}

// Stop stops the running application name (application:stop/1), after
// stopping every running application that depends on it, directly or not:
// they stop one at a time, newest first, each by PrepStop, the shutdown of
// its top process and Stop. It returns the applications stopped, in stop
// order (name last). Stopping never ends the node, whatever the restart
// type.
//
// From the moment Stop reaches the controller, an application that
// depends on name is refused a start (ErrStopping). One already starting
// is waited for: once its Module.Start has returned it is the newest
// application, and Stop stops it before name. (A Module.Start that never
// returns holds the stop up, and the stops asked for after it.)
//
// ctx's deadline also bounds the applications' shutdown: a top process
// still alive shortly before it is killed (see KillWait). If ctx ends first, Stop returns its error and
// the stop goes on. It returns ErrNotLoaded, ErrStopping, a
// *NotStartedError if name is not running.
func (c Controller) Stop(ctx context.Context, name string) ([]string, error) {
	cctx, cancel, dl := stopCtx(ctx)
	defer cancel()
	v, err := c.call(cctx, stopReq{name: name, deadline: dl})
	stopped, _ := v.([]string)
	return stopped, err
}

// Shutdown stops every application, newest first, then the controller
// itself (with reason actor.Normal); Start is refused from the moment it is
// called (ErrTerminating). It first waits for the starts under way
// (Module.Start returning), so that an application that finishes starting
// during the shutdown is the newest and stops before its dependencies;
// nothing is left running. ctx's deadline bounds each application's
// shutdown as for Stop. It returns the applications stopped. If the
// controller terminated because an application died, it returns the
// *ExitError.
func (c Controller) Shutdown(ctx context.Context) ([]string, error) {
	cctx, cancel, dl := stopCtx(ctx)
	defer cancel()
	exited := c.Terminated()
	v, err := c.call(cctx, shutdownReq{deadline: dl})
	stopped, _ := v.([]string)
	if err != nil {
		var ce *actor.CallError
		if errors.As(err, &ce) {
			var ee *ExitError
			if errors.As(ce.Reason, &ee) {
				return stopped, ee
			}
		}
		return stopped, err
	}
	select {
	case <-exited:
	case <-ctx.Done():
		return stopped, ctx.Err()
	}
	return stopped, nil
}

// WhichApplications lists the running applications in start order
// (application:which_applications/0), with their restart type and top
// process.
func (c Controller) WhichApplications(ctx context.Context) ([]Info, error) {
	v, err := c.call(ctx, whichReq{})
	list, _ := v.([]Info)
	return list, err
}

// LoadedApplications lists every loaded application, running or not, by
// name.
func (c Controller) LoadedApplications(ctx context.Context) ([]Info, error) {
	v, err := c.call(ctx, whichReq{loaded: true})
	list, _ := v.([]Info)
	return list, err
}

// Spec returns one field of a loaded application's spec, as Elixir's
// Application.spec(app, key): c.Spec(ctx, "kv", application.KeyVsn).
// It returns ErrNotLoaded or ErrUnknownKey.
func (c Controller) Spec(ctx context.Context, name string, key Key) (any, error) {
	return c.call(ctx, specReq{name: name, key: key})
}

// GetSpec returns a copy of a loaded application's spec, with its current
// environment. It returns ErrNotLoaded.
func (c Controller) GetSpec(ctx context.Context, name string) (Spec, error) {
	v, err := c.call(ctx, fullSpecReq{name: name})
	spec, _ := v.(Spec)
	return spec, err
}

// GetEnv returns the value of key in application app's environment and
// whether it is set (application:get_env/2). It returns ErrNotLoaded.
func (c Controller) GetEnv(ctx context.Context, app, key string) (any, bool, error) {
	v, err := c.call(ctx, getEnvReq{app: app, key: key})
	e, _ := v.(envValue)
	return e.v, e.ok, err
}

// SetEnv sets key in application app's environment
// (application:set_env/3). It returns ErrNotLoaded.
func (c Controller) SetEnv(ctx context.Context, app, key string, val any) error {
	_, err := c.call(ctx, setEnvReq{app: app, key: key, val: val})
	return err
}

// UnsetEnv removes key from application app's environment. It returns
// ErrNotLoaded.
func (c Controller) UnsetEnv(ctx context.Context, app, key string) error {
	_, err := c.call(ctx, setEnvReq{app: app, key: key, unset: true})
	return err
}

// GetEnvAs is GetEnv with the value asserted to T. It returns def and
// false when key is not set, an *EnvTypeError when its value is not a T,
// and GetEnv's errors.
func GetEnvAs[T any](ctx context.Context, c Controller, app, key string, def T) (T, bool, error) {
	v, ok, err := c.GetEnv(ctx, app, key)
	if err != nil || !ok {
		return def, false, err
	}
	t, isT := v.(T)
	if !isT {
		return def, true, &EnvTypeError{App: app, Key: key, Got: v}
	}
	return t, true, nil
}

// stopCtx returns the context of a call whose answer waits for
// applications to stop, and the kill deadline the request carries. Without
// a deadline in ctx the stop may take as long as the supervisors' shutdown
// limits, so the call gets a long timeout instead of
// actor.DefaultCallTimeout, and no kill deadline. With one, top processes
// are killed a little before it (a fifth of the time left, at most a
// second), so that the answer can still arrive in time.
func stopCtx(ctx context.Context) (context.Context, context.CancelFunc, time.Time) {
	dl, ok := ctx.Deadline()
	if !ok {
		c, cancel := context.WithTimeout(ctx, longStopWait)
		return c, cancel, time.Time{}
	}
	margin := min(time.Until(dl)/5, time.Second)
	return ctx, func() {}, dl.Add(-margin)
}

// longStopWait is the call timeout of Stop and Shutdown when their ctx has
// no deadline.
const longStopWait = 24 * time.Hour

// startedApp is an application EnsureAllStarted started, with its place in
// the controller's start order.
type startedApp struct {
	name string
	seq  uint64
}

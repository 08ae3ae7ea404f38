package application

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// Exit codes returned by Run.
const (
	// ExitOK: the applications ran (or were starting) until a signal or
	// ctx asked them to stop, and all stopped within the deadline.
	ExitOK = 0
	// ExitFailure: an application failed to start, an application whose
	// death ends the node exited, or the shutdown overran its deadline.
	ExitFailure = 1
)

// RunOption configures Run.
type RunOption func(*runConfig)

type runConfig struct {
	signals         []os.Signal
	startTimeout    time.Duration
	shutdownTimeout time.Duration
	typ             RestartType
	onStarted       func(ctx context.Context, c Controller, started []string)
}

func defaultRunConfig() runConfig {
	return runConfig{
		signals:         []os.Signal{os.Interrupt, syscall.SIGTERM},
		startTimeout:    30 * time.Second,
		shutdownTimeout: 15 * time.Second,
		typ:             Permanent,
	}
}

// WithSignals sets the signals that make Run stop the applications
// (default SIGINT and SIGTERM). With none, only ctx and the applications'
// deaths end Run. After the first signal Run stops listening, so a second
// one ends the program the default way.
func WithSignals(sig ...os.Signal) RunOption {
	return func(c *runConfig) { c.signals = sig }
}

// WithStartTimeout bounds the start of all applications (default 30 s).
func WithStartTimeout(d time.Duration) RunOption {
	return func(c *runConfig) { c.startTimeout = d }
}

// WithShutdownTimeout bounds the stop of all applications, whether asked
// for or caused by an application's death (default 15 s). Top processes
// still alive near the deadline are killed.
func WithShutdownTimeout(d time.Duration) RunOption {
	return func(c *runConfig) { c.shutdownTimeout = d }
}

// WithRestartType sets the restart type Run starts the applications with
// (default Permanent, as an OTP release does: the death of any of them
// stops the node).
func WithRestartType(t RestartType) RunOption {
	return func(c *runConfig) { c.typ = t }
}

// WithOnStarted registers f, called once every application runs, with
// Run's context (done when Run is asked to stop), the controller and the
// applications started in start order. Run waits for f to return before
// it watches for signals' effects, so f should only inspect or log.
func WithOnStarted(f func(ctx context.Context, c Controller, started []string)) RunOption {
	return func(c *runConfig) { c.onStarted = f }
}

// Run is what a main function calls: it starts a controller on node, loads
// apps, starts each of them with EnsureAllStarted (so their dependencies
// start first; a dependency must be among apps or already loaded), then
// waits until a signal arrives (SIGINT or SIGTERM), ctx ends, or an
// application whose death ends the node exits. It then stops every
// application, newest first, within the shutdown timeout, stops the
// controller and returns an exit code for os.Exit: ExitOK after a
// requested, clean stop (also when the signal or ctx comes while the
// applications are starting), ExitFailure otherwise. Run does not stop node;
// the caller does, after Run returns.
//
//	func main() {
//		node := actor.NewNode(actor.WithNodeName("kv@localhost"))
//		code := application.Run(context.Background(), node, []application.Spec{kv.Spec()})
//		_ = node.Stop(context.Background())
//		os.Exit(code)
//	}
//
// Run logs what happens on node's logger.
func Run(ctx context.Context, node *actor.Node, apps []Spec, opts ...RunOption) int {
	cfg := defaultRunConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	log := node.Logger().With().Str("component", "application").Logger()

	runCtx, stopSignals := ctx, context.CancelFunc(func() {})
	if len(cfg.signals) > 0 {
		runCtx, stopSignals = signal.NotifyContext(ctx, cfg.signals...)
	}
	defer stopSignals()

	c, err := NewController(node, WithStopTimeout(cfg.shutdownTimeout))
	if err != nil {
		log.Error().Err(err).Msg("cannot start the application controller")
		return ExitFailure
	}
	shutdown := func() int {
		stopSignals()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
		defer cancel()
		stopped, err := c.Shutdown(sctx)
		if err != nil {
			log.Error().Err(err).Strs("stopped", stopped).Dur("timeout", cfg.shutdownTimeout).Msg("applications did not all stop cleanly")
			return ExitFailure
		}
		log.Info().Strs("stopped", stopped).Msg("applications stopped")
		return ExitOK
	}

	// stopWhileStarting ends a start that failed because a signal or ctx
	// asked Run to stop: a requested stop, not a failure.
	stopWhileStarting := func(app string) (int, bool) {
		if runCtx.Err() == nil {
			return 0, false
		}
		log.Info().Str("app", app).Msg("asked to stop while starting; stopping applications")
		return shutdown(), true
	}
	for _, spec := range apps {
		if err := c.Load(runCtx, spec); err != nil && !errors.Is(err, ErrAlreadyLoaded) {
			if code, ok := stopWhileStarting(spec.Name); ok {
				return code
			}
			log.Error().Err(err).Str("app", spec.Name).Msg("cannot load application")
			shutdown()
			return ExitFailure
		}
	}
	terminated := c.Terminated()
	startCtx, cancelStart := context.WithTimeout(runCtx, cfg.startTimeout)
	var all []string
	for _, spec := range apps {
		started, err := c.EnsureAllStarted(startCtx, spec.Name, cfg.typ)
		if err != nil {
			cancelStart()
			if code, ok := stopWhileStarting(spec.Name); ok {
				return code
			}
			log.Error().Err(err).Str("app", spec.Name).Msg("cannot start application")
			shutdown()
			return ExitFailure
		}
		all = append(all, started...)
	}
	cancelStart()
	log.Info().Strs("applications", all).Msg("applications started")
	if cfg.onStarted != nil {
		cfg.onStarted(runCtx, c, all)
	}

	select {
	case <-runCtx.Done():
		if ctx.Err() != nil {
			log.Info().Msg("context done; stopping applications")
		} else {
			log.Info().Msg("signal received; stopping applications")
		}
		return shutdown()
	case reason := <-terminated:
		var ee *ExitError
		if !errors.As(reason, &ee) && errors.Is(reason, actor.Normal) {
			log.Info().Msg("application controller shut down")
			return ExitOK
		}
		log.Error().Err(reason).Msg("node terminated")
		return ExitFailure
	}
}

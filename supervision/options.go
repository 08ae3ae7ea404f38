package supervision

import (
	"fmt"
	"time"
)

// Option configures a Supervisor or a DynamicSupervisor. Every default lives
// in defaultConfig; a supervisor started with no option is one_for_one, 3
// restarts in 5 s, no auto shutdown, unnamed, on the system clock.
type Option func(*config)

type config struct {
	strategy     Strategy
	maxRestarts  int
	period       time.Duration
	autoShutdown AutoShutdown
	name         string
	named        bool // WithName was given, even with "" (refused as actor.ErrBadName)
	clock        Clock
	maxChildren  int  // DynamicSupervisor only; 0 = unlimited
	debug        bool // Director only: trace requests, exits, timers
	// badIntensity is the error of a WithIntensity that a Supervisor and a
	// DynamicSupervisor refuse (a negative max or a period that is not
	// positive); buildConfig clamps the values for the Director.
	badIntensity error
}

func defaultConfig() config {
	return config{
		strategy:    OneForOne,
		maxRestarts: DefaultMaxRestarts,
		period:      DefaultPeriod,
		clock:       SystemClock{},
	}
}

func buildConfig(opts []Option) config {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	if c.maxRestarts < 0 || c.period <= 0 {
		c.badIntensity = fmt.Errorf("%w: intensity %d in %v (want a max of 0 or more in a positive period)", ErrInvalidOption, c.maxRestarts, c.period)
	}
	if c.maxRestarts < 0 {
		c.maxRestarts = 0
	}
	if c.period <= 0 {
		c.period = DefaultPeriod
	}
	return c
}

// validate refuses option values that are none of the package's constants
// (a supervisor would otherwise act on them as on some other value).
// dynamic tells a DynamicSupervisor, which ignores the strategy and auto
// shutdown, from a Supervisor, which ignores the child limit.
func (c config) validate(dynamic bool) error {
	switch {
	case c.badIntensity != nil:
		return c.badIntensity
	case dynamic && c.maxChildren < 0:
		return fmt.Errorf("%w: max children %d", ErrInvalidOption, c.maxChildren)
	case !dynamic && c.strategy > RestForOne:
		return fmt.Errorf("%w: strategy %d", ErrInvalidOption, c.strategy)
	case !dynamic && c.autoShutdown > AllSignificant:
		return fmt.Errorf("%w: auto shutdown %d", ErrInvalidOption, c.autoShutdown)
	}
	return nil
}

// WithStrategy sets the restart strategy (default OneForOne). A
// DynamicSupervisor is always one for one and ignores it.
func WithStrategy(s Strategy) Option { return func(c *config) { c.strategy = s } }

// WithIntensity sets the restart intensity: more than maxRestarts restarts
// within period end the supervisor (default 3 in 5 s, Elixir's choice; OTP's
// is 1 in 5 s). maxRestarts 0 makes any restart fatal. A negative
// maxRestarts or a period that is not positive makes Start and StartDynamic
// fail with ErrInvalidOption, as OTP refuses an invalid intensity or
// period (a Director counts a max below 1 as 1 and takes the default
// period for one that is not positive).
func WithIntensity(maxRestarts int, period time.Duration) Option {
	return func(c *config) { c.maxRestarts, c.period = maxRestarts, period }
}

// WithAutoShutdown sets what the exit of significant children does (default
// Never).
func WithAutoShutdown(a AutoShutdown) Option { return func(c *config) { c.autoShutdown = a } }

// WithName registers the supervisor under a node-local name; the name is
// also the "supervisor" field of its reports. An empty name makes Start,
// StartDynamic and StartDirector fail with actor.ErrBadName.
func WithName(name string) Option { return func(c *config) { c.name, c.named = name, true } }

// WithClock sets the time source of the intensity window and the shutdown
// timeouts (default SystemClock).
func WithClock(clk Clock) Option { return func(c *config) { c.clock = clk } }

// WithMaxChildren limits the children of a DynamicSupervisor (default 0:
// no limit). A Supervisor ignores it.
func WithMaxChildren(n int) Option { return func(c *config) { c.maxChildren = n } }

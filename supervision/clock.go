package supervision

import "time"

// Clock is the time source of a supervisor: its restart intensity window and
// its shutdown timeouts read it. The default is the system clock; tests pass
// a fake one with WithClock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f on its own goroutine once d has passed, unless the
	// returned Stopper stops it first.
	AfterFunc(d time.Duration, f func()) Stopper
}

// Stopper cancels a pending AfterFunc; Stop reports whether it was pending.
// *time.Timer satisfies it.
type Stopper interface {
	Stop() bool
}

// SystemClock is the Clock of the time package.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Stopper { return time.AfterFunc(d, f) }

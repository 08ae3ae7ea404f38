package testkit

import (
	"testing"
	"time"
)

// Polling intervals of Eventually: the first retry comes quickly, later ones
// back off up to maxPoll.
const (
	minPoll = time.Millisecond
	maxPoll = 50 * time.Millisecond
)

// Eventually calls f until it returns nil, first at once, then at intervals
// that grow from 1ms to 50ms. When timeout has passed and a last call of f
// still fails, it stops the test with t.Fatalf, quoting f's last error.
// Like t.Fatalf, it must be called from the goroutine running the test.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	err := f()
	if err == nil {
		return
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	interval := minPoll
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-deadline.C:
			if err = f(); err == nil {
				return
			}
			t.Fatalf("condition not met within %v: %v", timeout, err)
			return
		case <-ticker.C:
		}
		if err = f(); err == nil {
			return
		}
		if interval < maxPoll {
			interval = min(2*interval, maxPoll)
			ticker.Reset(interval)
		}
	}
}

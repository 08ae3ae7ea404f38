package supervision

import "time"

// Default restart intensity: Elixir's 3 restarts within 5 seconds. (OTP's
// own supervisor defaults to 1 in 5 s; pass WithIntensity(1, 5*time.Second)
// for that.)
const (
	DefaultMaxRestarts = 3
	DefaultPeriod      = 5 * time.Second
)

// window is a supervisor's restart intensity: the times of the restarts in
// the last period. It is one sliding window per supervisor, shared by all
// its children.
type window struct {
	max    int
	period time.Duration
	stamps []time.Time // oldest first
}

func newWindow(max int, period time.Duration) window {
	return window{max: max, period: period}
}

// record notes a restart at now. It returns the updated window and whether
// the restart is allowed: false once more than max restarts fall within the
// period ending at now. record may reuse w's storage: the caller keeps only
// the returned window.
func (w window) record(now time.Time) (window, bool) {
	cut := now.Add(-w.period)
	drop := 0
	for drop < len(w.stamps) && !w.stamps[drop].After(cut) {
		drop++
	}
	stamps := w.stamps[drop:]
	if len(stamps) == 0 {
		stamps = w.stamps[:0]
	}
	w.stamps = append(stamps, now)
	return w, len(w.stamps) <= w.max
}

// count returns the restarts recorded within the period ending at now.
func (w window) count(now time.Time) int {
	cut := now.Add(-w.period)
	n := 0
	for _, t := range w.stamps {
		if t.After(cut) {
			n++
		}
	}
	return n
}

// wait returns how long after now one more restart fits in the window
// (0 when it fits at once). A Director uses it to postpone a child's
// restart instead of exceeding its window. max below 1 counts as 1.
func (w window) wait(now time.Time) time.Duration {
	limit := max(w.max, 1)
	cut := now.Add(-w.period)
	in := w.stamps
	for len(in) > 0 && !in[0].After(cut) {
		in = in[1:]
	}
	if len(in) < limit {
		return 0
	}
	return in[len(in)-limit].Add(w.period).Sub(now)
}

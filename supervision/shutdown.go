package supervision

import (
	"errors"
	"slices"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// KillWait bounds the wait for a child to exit after it was killed. A Go
// handler cannot be preempted: Kill takes effect when the child's current
// handler returns. A child still alive after KillWait is reported and
// abandoned (it is unlinked, and dies with actor.Killed once its handler
// returns), so that one stuck handler cannot hang its supervisor forever.
const KillWait = 5 * time.Second

// stopTarget is a child to shut down: its process and its limit.
type stopTarget struct {
	id    string
	pid   actor.PID
	limit Shutdown // resolved: BrutalKill, Infinity or a positive duration
}

// stopResult tells how a child ended.
type stopResult struct {
	reason error // the child's exit reason
	killed bool  // the child was killed after its timeout
	stuck  bool  // still alive after KillWait
}

// shutdownChild stops one child within its limit; see shutdownChildren.
func shutdownChild(ctx *actor.Context, clock Clock, t stopTarget) stopResult {
	return shutdownChildren(ctx, clock, []stopTarget{t})[0]
}

// shutdownChildren stops children in parallel, each within its own limit,
// as OTP's supervisor does for one child: it watches the child, removes the
// link (so no Exit message for it reaches the supervisor), sends the
// actor.Shutdown exit signal (Kill at once for BrutalKill), waits for the
// exit until the limit, then kills. It must run on the supervisor's own
// goroutine (ctx is the supervisor) and returns when every child is gone
// (or abandoned after KillWait). Waiting happens on exit channels and one
// timer at a time, in deadline order, so stopping 100k children with the
// same limit needs no extra goroutine per child.
func shutdownChildren(ctx *actor.Context, clock Clock, ts []stopTarget) []stopResult {
	n := ctx.Node()
	res := make([]stopResult, len(ts))
	exits := make([]<-chan error, len(ts))
	for i, t := range ts {
		exits[i] = n.WatchExit(t.pid)
		ctx.Unlink(t.pid)
		if t.limit == BrutalKill {
			ctx.Exit(t.pid, actor.Kill)
		} else {
			ctx.Exit(t.pid, actor.Shutdown)
		}
	}
	start := clock.Now()
	// Wait in order of deadline: BrutalKill and timeouts ascending, then
	// Infinity. Every child is killed at its own deadline at the latest.
	order := make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	rank := func(s Shutdown) time.Duration {
		switch s {
		case BrutalKill:
			return -1
		case Infinity:
			return 1<<63 - 1
		}
		return time.Duration(s)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ra, rb := rank(ts[a].limit), rank(ts[b].limit)
		switch {
		case ra < rb:
			return -1
		case ra > rb:
			return 1
		}
		return 0
	})
	var (
		timer    Stopper
		fired    chan struct{}
		deadline time.Duration = -1
	)
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer = nil
		}
	}
	var killed []int
	for _, i := range order {
		t := ts[i]
		switch t.limit {
		case BrutalKill, Infinity:
			res[i].reason = <-exits[i]
			res[i].killed = t.limit == BrutalKill
			continue
		}
		select {
		case r := <-exits[i]:
			res[i].reason = r
			continue
		default:
		}
		if time.Duration(t.limit) != deadline {
			stopTimer()
			deadline = time.Duration(t.limit)
			wait := deadline - clock.Now().Sub(start)
			ch := make(chan struct{})
			fired = ch
			timer = clock.AfterFunc(max(wait, 0), func() { close(ch) })
		}
		select {
		case r := <-exits[i]:
			res[i].reason = r
		case <-fired:
			ctx.Exit(t.pid, actor.Kill)
			res[i].killed = true
			killed = append(killed, i)
		}
	}
	stopTimer()
	if len(killed) > 0 {
		grace := make(chan struct{})
		timer = clock.AfterFunc(KillWait, func() { close(grace) })
		for _, i := range killed {
			select {
			case r := <-exits[i]:
				res[i].reason = r
			case <-grace:
				res[i].stuck = true
				res[i].reason = actor.Killed
			}
		}
		stopTimer()
	}
	return res
}

// clean reports whether a child stopped as asked: with the shutdown
// reason (or already gone), not killed after a timeout.
func (r stopResult) clean(limit Shutdown) bool {
	if r.stuck {
		return false
	}
	if limit == BrutalKill {
		return errors.Is(r.reason, actor.Killed) || errors.Is(r.reason, actor.NoProc)
	}
	if r.killed {
		return false
	}
	return actor.IsNormalExit(r.reason) || errors.Is(r.reason, actor.NoProc)
}

// stopped writes the shutdown_error report for a child that did not stop
// cleanly.
func (r reporter) stopped(t stopTarget, res stopResult) {
	if res.clean(t.limit) {
		return
	}
	reason := res.reason
	if res.stuck {
		reason = errors.New("child still alive after kill")
	}
	r.child(ReportShutdownError, t.id, t.pid, reason)
}

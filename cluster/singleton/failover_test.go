package singleton_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// failoverRunsEnv asks TestLockModeFailoverTimes for that many kills.
const failoverRunsEnv = "ARBOR_SINGLETON_FAILOVER_RUNS"

// TestLockModeFailoverTimes measures the takeover after kill -9 of the
// holder's process, ARBOR_SINGLETON_FAILOVER_RUNS times, with the tests'
// TTL and lock-delay (or ARBOR_SINGLETON_LOCK_TTL and _DELAY), and prints
// p50 and p99. It is a measurement, not a check of behaviour
// (TestLockModeKilledHolder is that), so it runs only when asked:
//
//	make failover-lock   # ARBOR_SINGLETON_FAILOVER_RUNS=50 go test -run FailoverTimes -v ./cluster/singleton
//	make failover-lock TTL=10s DELAY=2s   # the Locker's defaults (about 22 s a kill)
func TestLockModeFailoverTimes(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv(failoverRunsEnv))
	if runs <= 0 {
		t.Skipf("a measurement: set %s=50 to run it", failoverRunsEnv)
	}
	agent := testkit.StartConsulAgent(t)
	col := &collector{}
	procs := map[string]*proc{}
	start := func(name string) {
		p := startProc(t, agent.Addr(), name, "failover")
		procs[name] = p
		col.follow(p)
	}
	// Three holders: the one that runs the child and two that wait.
	next := 0
	spawn := func() {
		start(fmt.Sprintf("h%d", next))
		next++
	}
	spawn()
	spawn()
	spawn()
	cur := col.awaitStart(t, 0, 60*time.Second)
	var took []time.Duration
	for range runs {
		killed := time.Now()
		_ = procs[cur.holder].cmd.Process.Signal(syscall.SIGKILL)
		<-procs[cur.holder].done
		after := col.awaitStart(t, cur.token, 60*time.Second)
		took = append(took, after.at.Sub(killed))
		spawn()
		cur = after
	}
	slices.Sort(took)
	pct := func(p float64) time.Duration { return took[min(len(took)-1, int(p*float64(len(took))))] }
	t.Logf("failover after kill -9 over %d runs (TTL %v, lock-delay %v): p50 %v, p99 %v, max %v",
		runs, envDuration(lockTTLEnv, testTTL), envDuration(lockDelayEnv, testDelay), pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	if err := checkFenced(col.snapshot()); err != nil {
		t.Fatal(err)
	}
}

package cluster_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestPeerDownUpCycles restarts a peer process on the same address,
// alternately killed with SIGKILL and stopped cleanly, and checks that
// this node's goroutines and open files (its connections) come back to
// where they were: sessions that end leave nothing behind. It runs 10
// cycles (ARBOR_CLUSTER_CYCLES for more): what a real process and its
// sockets show, the open files above all, shows in the first cycles, and
// TestPeerDownUpCyclesMem (mem_test.go) runs the same cycles by the
// hundred in memory.
func TestPeerDownUpCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("child processes")
	}
	a := shared
	ev := newInbox(t, a.Node())
	t.Cleanup(ev.Close)
	if err := a.MonitorNodes(ev.PID(), true); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	cycle := func(i int) {
		t.Helper()
		b := startChild(t, "cyc", "CHILD_PEERS="+a.Name(), "CHILD_LISTEN="+addr)
		recvNodeUp(t, ev, b.name, 10*time.Second)
		// A call proves the session is open on both sides (this node's
		// NodeUp comes first, when the peer's Hello arrives).
		if _, err := a.CallNamed(ctxT(t), b.name, "ctl", wrapperspb.String("ping")); err != nil {
			t.Fatalf("cycle %d: call: %v", i, err)
		}
		if i%2 == 0 {
			b.kill()
		} else {
			b.stop()
		}
		recvNodeDown(t, ev, b.name, 5*time.Second)
	}
	cycle(0) // warm up: the first session creates what every later one reuses
	baseline := runtime.NumGoroutine()
	fds := openFiles(t)
	start := time.Now()
	cycles := envCycles("ARBOR_CLUSTER_CYCLES", 10)
	for i := range cycles {
		cycle(i)
	}
	t.Logf("%d down/up cycles in %v", cycles, time.Since(start))
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > baseline {
			return fmt.Errorf("%d goroutines after %d cycles, %d before", n, cycles, baseline)
		}
		return nil
	})
	t.Logf("goroutines: %d before, %d after", baseline, runtime.NumGoroutine())
	if fds >= 0 {
		testkit.Eventually(t, 10*time.Second, func() error {
			if n := openFiles(t); n > fds {
				return fmt.Errorf("%d open files after %d cycles, %d before", n, cycles, fds)
			}
			return nil
		})
		t.Logf("open files: %d before, %d after", fds, openFiles(t))
	}
}

// openFiles counts this process's open file descriptors, -1 where
// /proc/self/fd does not exist.
func openFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

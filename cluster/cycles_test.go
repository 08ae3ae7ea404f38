package cluster_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestPeerDownUpCycles restarts a peer on the same address 100 times,
// alternately killed with SIGKILL and stopped cleanly, and checks that
// this node's goroutines come back to where they were: sessions that end
// leave nothing behind.
func TestPeerDownUpCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("100 child processes")
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
	start := time.Now()
	const cycles = 100
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
}

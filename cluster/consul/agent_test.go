package consul_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// consulBinary finds bin/consul at the repository root. Without it the test
// fails under CI=true and is skipped, loudly, elsewhere.
func consulBinary(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(filepath.Dir(file), "..", "..", "bin", "consul")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("consul agent binary missing at %s (run `make consul`): %v", bin, err)
		}
		fmt.Fprintf(os.Stderr, "\n*** SKIPPING %s: no consul agent at %s; run `make consul` ***\n\n", t.Name(), bin)
		t.Skipf("no consul agent at %s; run `make consul`", bin)
	}
	return bin
}

// agent is a `consul agent -dev` on free loopback ports.
type agent struct {
	t      testing.TB
	bin    string
	ports  [3]int // http, serf lan, server
	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	output bytes.Buffer
}

func startAgent(t testing.TB) *agent {
	t.Helper()
	a := &agent{t: t, bin: consulBinary(t)}
	// Three different ports: a port just released can be handed out again.
	for i := 0; i < len(a.ports); {
		a.ports[i] = testkit.FreePort(t)
		if !slices.Contains(a.ports[:i], a.ports[i]) {
			i++
		}
	}
	a.start()
	t.Cleanup(a.stop)
	return a
}

func (a *agent) addr() string { return "127.0.0.1:" + strconv.Itoa(a.ports[0]) }

func (a *agent) start() {
	a.t.Helper()
	cmd := exec.Command(a.bin, "agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1",
		"-http-port="+strconv.Itoa(a.ports[0]), "-serf-lan-port="+strconv.Itoa(a.ports[1]),
		"-server-port="+strconv.Itoa(a.ports[2]),
		"-dns-port=-1", "-grpc-port=-1", "-serf-wan-port=-1", "-log-level=warn")
	cmd.Stdout, cmd.Stderr = &a.output, &a.output
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("start consul: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	a.mu.Lock()
	a.cmd, a.done = cmd, done
	a.mu.Unlock()
	testkit.Eventually(a.t, 30*time.Second, func() error {
		select {
		case <-done:
			a.t.Fatalf("consul exited: %s", a.output.String())
		default:
		}
		resp, err := http.Get("http://" + a.addr() + "/v1/status/leader")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		if resp.StatusCode != 200 || len(bytes.Trim(b.Bytes(), `"`+"\n")) == 0 {
			return fmt.Errorf("no leader yet: %d %s", resp.StatusCode, b.String())
		}
		return nil
	})
}

// stop ends the agent and waits for it.
func (a *agent) stop() {
	a.mu.Lock()
	cmd, done := a.cmd, a.done
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	a.mu.Lock()
	a.cmd = nil
	a.mu.Unlock()
}

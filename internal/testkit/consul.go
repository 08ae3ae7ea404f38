package testkit

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
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
)

// ConsulBinary finds bin/consul at the repository root (built by `make
// consul`). Without it the test fails under CI=true and is skipped, loudly,
// elsewhere.
func ConsulBinary(t testing.TB) string {
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

// ConsulAgent is a single-server Consul agent on free loopback ports: its
// HTTP API, serf LAN and server RPC ports are chosen free, every other
// port is off. It accepts session TTLs down to 1 s (session_ttl_min), so
// lock tests need not wait for Consul's 10 s minimum. With a data
// directory its Raft state survives Stop and Start (a -dev agent loses it).
type ConsulAgent struct {
	t       testing.TB
	bin     string
	dataDir string
	ports   [3]int // http, serf lan, server
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	output  bytes.Buffer // this run's output, for an agent that exits at start
	log     *os.File     // every run's output, kept in the test's temp dir
	starts  int
}

// StartConsulAgent starts a -dev agent and stops it when the test ends.
func StartConsulAgent(t testing.TB) *ConsulAgent { return startConsulAgent(t, "") }

// StartPersistentConsulAgent starts a server agent that keeps its Raft
// state in a temporary directory across Stop and Start, and stops it when
// the test ends. The directory is on tmpfs (/dev/shm) where there is one:
// every Raft write (a session create, a lock's transaction, a destroy)
// waits for an fsync, and on a disk shared with a loaded machine's other
// writers one fsync took up to seconds, so requests bounded by a short
// lock TTL (1 s for a 2 s TTL) timed out one after the other for as long
// as the writers ran. On tmpfs an fsync returns at once; the state still
// survives a Stop and Start of the agent, which is what the tests need.
func StartPersistentConsulAgent(t testing.TB) *ConsulAgent {
	return startConsulAgent(t, raftDir(t))
}

// tmpfsDir is where raftDir puts a persistent agent's state, if it can.
const tmpfsDir = "/dev/shm"

// raftDir is a fresh directory for an agent's Raft state, removed when
// the test ends: on tmpfs if there is a writable one, else the test's
// temp dir.
func raftDir(t testing.TB) string {
	dir, err := os.MkdirTemp(tmpfsDir, "arbor-consul-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// DataDir is the persistent agent's Raft state directory ("" for -dev).
func (a *ConsulAgent) DataDir() string { return a.dataDir }

func startConsulAgent(t testing.TB, dataDir string) *ConsulAgent {
	t.Helper()
	a := &ConsulAgent{t: t, bin: ConsulBinary(t), dataDir: dataDir}
	f, err := os.Create(filepath.Join(t.TempDir(), "consul.log"))
	if err != nil {
		t.Fatalf("consul log: %v", err)
	}
	a.log = f
	// Registered after TempDir's removal, so it runs before it.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("consul agent log (%s), last %d lines:\n%s", f.Name(), consulLogTail, a.LogTail(consulLogTail))
		}
		_ = f.Close()
	})
	// Three different ports: a port just released can be handed out again.
	for i := 0; i < len(a.ports); {
		a.ports[i] = FreePort(t)
		if !slices.Contains(a.ports[:i], a.ports[i]) {
			i++
		}
	}
	a.Start()
	t.Cleanup(a.Stop)
	return a
}

// consulLogTail is how many lines of the agent's log a failed test prints.
const consulLogTail = 300

// ConsulLogLevelEnv sets the agent's log level (default info).
const ConsulLogLevelEnv = "ARBOR_CONSUL_LOG_LEVEL"

// LogPath is the file that keeps the agent's output over all its runs, in
// the test's temp dir; a failed test prints its tail.
func (a *ConsulAgent) LogPath() string { return a.log.Name() }

// LogTail returns the last n lines of the agent's log, leaving out the
// lines every start writes (its endpoints and leader routines), which
// would push a restarted agent's earlier lines out of the tail.
func (a *ConsulAgent) LogTail(n int) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := os.ReadFile(a.log.Name())
	if err != nil {
		return err.Error()
	}
	var kept [][]byte
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if !slices.ContainsFunc(startNoise, func(s string) bool { return bytes.Contains(l, []byte(s)) }) {
			kept = append(kept, l)
		}
	}
	return string(bytes.Join(kept[max(0, len(kept)-n):], nil))
}

// startNoise marks the log lines of an agent's start and stop that say
// nothing about a test's failure.
var startNoise = []string{"Registered resource endpoint", "routine=", "controller-runtime", "api_gateway_controller"}

// Addr is the agent's HTTP address, host:port.
func (a *ConsulAgent) Addr() string { return "127.0.0.1:" + strconv.Itoa(a.ports[0]) }

// Ports are the three ports the agent was given: HTTP, serf LAN and server
// RPC. It listens on no other.
func (a *ConsulAgent) Ports() []int { return a.ports[:] }

// PID is the agent's process id while it runs, else 0.
func (a *ConsulAgent) PID() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return 0
	}
	return a.cmd.Process.Pid
}

// args is the agent's command line. Consul v1.19.2 in dev mode opens, by
// default: HTTP 8500, DNS 8600 (TCP and UDP), gRPC 8502, gRPC-TLS 8503 (the
// default of every server agent), serf LAN 8301 and WAN 8302 (TCP and
// UDP) and server RPC 8300; HTTPS is off. The three ports the agent needs
// are chosen free; the others are turned off (-1), and so are the port
// ranges it hands out to Connect proxies, sidecars and exposed paths (0
// and 0), which it does not listen on itself but would give to a service.
func (a *ConsulAgent) args() []string {
	args := []string{"agent", "-bind=127.0.0.1", "-client=127.0.0.1",
		"-http-port=" + strconv.Itoa(a.ports[0]), "-serf-lan-port=" + strconv.Itoa(a.ports[1]),
		"-server-port=" + strconv.Itoa(a.ports[2]),
		"-https-port=-1", "-dns-port=-1", "-grpc-port=-1", "-grpc-tls-port=-1", "-serf-wan-port=-1",
		"-hcl=ports { proxy_min_port = 0, proxy_max_port = 0, sidecar_min_port = 0, sidecar_max_port = 0, expose_min_port = 0, expose_max_port = 0 }",
		`-hcl=session_ttl_min = "1s"`,
		// No call home to checkpoint-api.hashicorp.com from a test.
		"-hcl=disable_update_check = true",
		"-log-level=" + cmp.Or(os.Getenv(ConsulLogLevelEnv), "info")}
	if a.dataDir == "" {
		return append(args, "-dev")
	}
	return append(args, "-server", "-bootstrap-expect=1", "-data-dir="+a.dataDir, "-node=arbor-test",
		"-ui=false", `-hcl=performance { raft_multiplier = 1 }`)
}

// Start starts the agent (again, after Stop) and waits until it has a
// leader.
func (a *ConsulAgent) Start() {
	a.t.Helper()
	cmd := exec.Command(a.bin, a.args()...)
	a.mu.Lock()
	a.output.Reset()
	a.starts++
	fmt.Fprintf(a.log, "==== %s: consul agent start %d\n", time.Now().Format(time.RFC3339Nano), a.starts)
	w := &lockedWriter{&a.mu, io.MultiWriter(&a.output, a.log)}
	cmd.Stdout, cmd.Stderr = w, w
	a.mu.Unlock()
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("start consul: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	a.mu.Lock()
	a.cmd, a.done = cmd, done
	a.mu.Unlock()
	Eventually(a.t, 60*time.Second, func() error {
		select {
		case <-done:
			a.mu.Lock()
			defer a.mu.Unlock()
			a.t.Fatalf("consul exited: %s", a.output.String())
		default:
		}
		resp, err := http.Get("http://" + a.Addr() + "/v1/status/leader")
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

// Stop ends the agent (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (a *ConsulAgent) Stop() {
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

type lockedWriter struct {
	mu *sync.Mutex
	b  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

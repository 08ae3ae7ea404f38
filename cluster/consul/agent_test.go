package consul_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
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

// agent is a `consul agent -dev` on free loopback ports. It opens no other
// port: its HTTP API, serf LAN and server RPC ports are chosen free, and
// everything else dev mode would open is off (agentArgs).
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

// args is the agent's command line. Consul v1.19.2 in dev mode opens, by
// default: HTTP 8500, DNS 8600 (TCP and UDP), gRPC 8502, gRPC-TLS 8503 (the
// default of every server agent), serf LAN 8301 and WAN 8302 (TCP and
// UDP) and server RPC 8300; HTTPS is off. The three ports the agent needs
// are chosen free; the others are turned off (-1), and so are the port
// ranges it hands out to Connect proxies, sidecars and exposed paths (0
// and 0), which it does not listen on itself but would give to a service.
func (a *agent) args() []string {
	return []string{"agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1",
		"-http-port=" + strconv.Itoa(a.ports[0]), "-serf-lan-port=" + strconv.Itoa(a.ports[1]),
		"-server-port=" + strconv.Itoa(a.ports[2]),
		"-https-port=-1", "-dns-port=-1", "-grpc-port=-1", "-grpc-tls-port=-1", "-serf-wan-port=-1",
		"-hcl=ports { proxy_min_port = 0, proxy_max_port = 0, sidecar_min_port = 0, sidecar_max_port = 0, expose_min_port = 0, expose_max_port = 0 }",
		"-log-level=warn"}
}

func (a *agent) start() {
	a.t.Helper()
	cmd := exec.Command(a.bin, a.args()...)
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

// consulDefaultPorts are the ports a Consul v1.19.2 dev agent opens unless
// told otherwise.
var consulDefaultPorts = []struct {
	network string
	port    int
}{
	{"tcp", 8300}, {"tcp", 8301}, {"udp", 8301}, {"tcp", 8302}, {"udp", 8302},
	{"tcp", 8500}, {"tcp", 8501}, {"tcp", 8502}, {"tcp", 8503},
	{"tcp", 8600}, {"udp", 8600},
}

// TestAgentOpensOnlyItsPorts starts the test agent while Consul's default
// ports are taken (as by another agent on the machine), and checks that it
// comes up and listens on the three ports chosen for it and no other.
func TestAgentOpensOnlyItsPorts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the agent's sockets from /proc")
	}
	consulBinary(t) // before taking the ports: it may skip
	for _, p := range consulDefaultPorts {
		addr := "127.0.0.1:" + strconv.Itoa(p.port)
		var c io.Closer
		var err error
		if p.network == "udp" {
			c, err = net.ListenPacket("udp", addr)
		} else {
			c, err = net.Listen("tcp", addr)
		}
		if err != nil {
			t.Logf("%s %s already taken: %v", p.network, addr, err)
			continue
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	a := startAgent(t)
	a.mu.Lock()
	pid := a.cmd.Process.Pid
	a.mu.Unlock()
	open, err := listeningPorts(pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range open {
		if !slices.Contains(a.ports[:], p.port) {
			t.Errorf("the agent %s-listens on port %d, which it was not given (given %v)", p.network, p.port, a.ports)
		}
	}
	if len(open) == 0 {
		t.Fatal("found no socket of the agent")
	}
}

type openPort struct {
	network string
	port    int
}

// listeningPorts returns the TCP ports process pid listens on and the UDP
// ports it has bound, from /proc.
func listeningPorts(pid int) ([]openPort, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := make(map[string]bool)
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var out []openPort
	for _, tab := range []struct {
		file, network, state string
	}{
		{"tcp", "tcp", "0A"}, {"tcp6", "tcp", "0A"}, // LISTEN
		{"udp", "udp", "07"}, {"udp6", "udp", "07"}, // bound, unconnected
	} {
		b, err := os.ReadFile("/proc/net/" + tab.file)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(string(b), "\n")
		for _, line := range lines[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != tab.state || !inodes[f[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			port, err := strconv.ParseInt(hexPort, 16, 32)
			if err != nil {
				return nil, fmt.Errorf("/proc/net/%s: %q: %v", tab.file, f[1], err)
			}
			out = append(out, openPort{tab.network, int(port)})
		}
	}
	return out, nil
}

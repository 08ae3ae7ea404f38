package consul_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/arbor-otp/arbor/internal/testkit"
)

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
	testkit.ConsulBinary(t) // before taking the ports: it may skip
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
	a := testkit.StartConsulAgent(t)
	open, err := listeningPorts(a.PID())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range open {
		if !slices.Contains(a.Ports(), p.port) {
			t.Errorf("the agent %s-listens on port %d, which it was not given (given %v)", p.network, p.port, a.Ports())
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

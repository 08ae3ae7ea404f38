package testkit

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// for a server (often a child process) the test starts on it. Another
// process may still take the port before the server binds it, so prefer
// handing a server "127.0.0.1:0" and reading back its address when the
// server allows it. Two things make that rare:
//
//   - The port is taken below the system's ephemeral range (Linux's
//     ip_local_port_range), which the system gives to outgoing
//     connections and to listeners on port 0: the many connections a
//     test suite dials can never be given it meanwhile. (A port a listener
//     on port 0 had just been given, closed and handed on, was free for
//     the next dial's local port: a child then failed with "address
//     already in use".)
//   - FreePort never returns a port twice in one test process.
//
// It stops the test if no port is free.
func FreePort(t testing.TB) int {
	t.Helper()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.given == nil {
		ports.given = make(map[int]bool)
		ports.lo, ports.hi = portRange()
	}
	span := ports.hi - ports.lo
	start := rand.IntN(span)
	for i := range span {
		p := ports.lo + (start+i)%span
		if ports.given[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // in use
		}
		if err := l.Close(); err != nil {
			t.Fatalf("close listener on port %d: %v", p, err)
		}
		ports.given[p] = true
		return p
	}
	t.Fatalf("no free loopback port in [%d, %d)", ports.lo, ports.hi)
	return 0
}

var ports struct {
	mu     sync.Mutex
	given  map[int]bool
	lo, hi int
}

// portRange is where FreePort takes ports: the 12k ports below the
// ephemeral range (from 20000 when the system does not say).
func portRange() (lo, hi int) {
	hi = 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var first, last int
		if n, _ := fmt.Sscan(string(b), &first, &last); n == 2 && first > 2048 {
			hi = first
		}
	}
	lo = max(1024, hi-12000)
	return lo, hi
}

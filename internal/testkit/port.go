package testkit

import (
	"net"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago: it
// listens on port 0, notes the port the system chose and closes the
// listener. Another process may take the port before the test binds it,
// so prefer handing a server "127.0.0.1:0" and reading back its address
// when the server allows it. FreePort stops the test if it cannot listen.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on a free loopback port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("close listener on port %d: %v", port, err)
	}
	return port
}

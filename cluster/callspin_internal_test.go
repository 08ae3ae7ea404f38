//go:build unix

package cluster

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// TestCallSpinEndsOnData: a caller polling its call connection (spin)
// stops as soon as the reply's bytes, or the connection's end, are there,
// and takes nothing from the connection; with nothing coming it stops
// after its bound. The bounds here are far above what each case needs, so
// that a spin that missed the data would run into them.
func TestCallSpinEndsOnData(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	pc := &poolConn{conn: client, r: bufio.NewReader(client), rc: rawConnOf(client)}
	if pc.rc == nil {
		t.Fatal("no raw connection for a TCP connection")
	}

	start := time.Now()
	pc.spin(50 * time.Millisecond) // nothing comes: it ends at its bound
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("spin with nothing to read ended after %v, before its bound", waited)
	}

	if _, err := server.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { pc.spin(time.Hour); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("spin did not see the bytes waiting on its connection")
	}
	b := make([]byte, 5)
	if _, err := pc.r.Read(b); err != nil || string(b) != "reply" {
		t.Fatalf("after spin the read got %q, %v: spin must not take the bytes", b, err)
	}

	_ = server.Close()
	done = make(chan struct{})
	go func() { pc.spin(time.Hour); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("spin did not see its connection end")
	}
}

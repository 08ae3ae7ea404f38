package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

// The program starts a node, reports it, and stops cleanly when its
// context ends.
func TestRunStartsAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, w, options{name: "example", listen: "127.0.0.1:0"})
		_ = w.Close()
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "started example@127.0.0.1:") {
		t.Fatalf("first line %q, %v", line, err)
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, r) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// childEnv makes the test binary run the program itself, with the
// variable's value as its arguments: a second node needs a process of its
// own (protoactor remote replaces gRPC's process-wide logger when a node
// starts, which the race detector flags with two nodes in one process).
const childEnv = "ARBOR_EXAMPLE_CLUSTER_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		os.Args = append([]string{os.Args[0]}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	testkit.VerifyTestMain(m)
}

// Two nodes of the program, as the package comment runs them: each lists
// the other as its peer, both print NodeUp, and when b is interrupted
// (Ctrl-C) a prints that b left the cluster; b exits cleanly, and a stops
// cleanly when its context ends. (One node per process: see childEnv.)
func TestTwoNodes(t *testing.T) {
	pa, pb := testkit.FreePort(t), testkit.FreePort(t)
	for pb == pa {
		pb = testkit.FreePort(t)
	}
	a := fmt.Sprintf("a@127.0.0.1:%d", pa)
	b := fmt.Sprintf("b@127.0.0.1:%d", pb)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0",
		fmt.Sprintf("%s=-name b -listen 127.0.0.1:%d -peers %s", childEnv, pb, a))
	cmd.Stderr = os.Stderr
	childOut, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childLines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(childOut)
		for sc.Scan() {
			childLines <- sc.Text()
		}
		close(childLines)
	}()
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, w, options{name: "a", listen: fmt.Sprintf("127.0.0.1:%d", pa), peers: b})
		_ = w.Close()
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(from <-chan string, who, prefix string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-from:
				if !ok {
					t.Fatalf("%s ended before printing %q", who, prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return
				}
			case <-deadline:
				t.Fatalf("%s did not print %q", who, prefix)
			}
		}
	}
	expect(lines, "a", "started "+a)
	expect(childLines, "b", "started "+b)
	expect(lines, "a", "NodeUp   "+b)
	expect(childLines, "b", "NodeUp   "+a)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	expect(lines, "a", "NodeDown "+b+": cluster: node left the cluster")
	err = cmd.Wait()
	waited = true
	if err != nil {
		t.Fatalf("b after Ctrl-C: %v", err)
	}
	cancel()
	go func() {
		for range lines {
		}
	}()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

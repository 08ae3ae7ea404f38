//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// The environment that makes the test binary run the kvserver instead of
// the tests: realMain with the binary's arguments, under an RLIMIT_NOFILE
// of childNofileEnv (soft and hard, so the Go runtime cannot raise it
// again) if set.
const (
	childEnv       = "KVSERVER_TEST_CHILD"
	childNofileEnv = "KVSERVER_TEST_NOFILE"
)

func runChildIfAsked() {
	if os.Getenv(childEnv) == "" {
		return
	}
	if v := os.Getenv(childNofileEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err == nil {
			err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n})
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "kvserver test child: set RLIMIT_NOFILE to %s: %v\n", v, err)
			os.Exit(3)
		}
	}
	os.Exit(realMain(os.Args[1:]))
}

// child is a kvserver running as a child process.
type child struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{} // closed when the process has exited
	err  error         // its Wait error, once done

	mu  sync.Mutex
	log strings.Builder // its stderr
}

var (
	listeningRE = regexp.MustCompile(`kvserver listening addr=(\S+)`)
	colourRE    = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// startChild runs the kvserver with args in a child process (with an fd
// limit of nofile, unless 0) and waits until it listens.
func startChild(t *testing.T, nofile int, args ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if nofile > 0 {
		cmd.Env = append(cmd.Env, childNofileEnv+"="+strconv.Itoa(nofile))
	}
	return startCmd(t, cmd, 60*time.Second)
}

// startCmd starts cmd, whose stderr is a kvserver's log, and waits up to
// wait until it listens.
func startCmd(t *testing.T, cmd *exec.Cmd, wait time.Duration) *child {
	t.Helper()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	// Children run side by side: each serves its observer page on a port
	// of its own.
	cmd.Env = append(cmd.Env, "ARBOR_KV_OBSERVER=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	logged := make(chan struct{})
	go func() { // drain stderr, so the child never blocks on it
		defer close(logged)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := colourRE.ReplaceAllString(sc.Text(), "")
			c.mu.Lock()
			c.log.WriteString(line + "\n")
			c.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		<-logged
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			if cmd.SysProcAttr != nil && cmd.SysProcAttr.Setpgid {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // and its children
			} else {
				_ = cmd.Process.Kill()
			}
			<-c.done
		}
		if t.Failed() {
			t.Logf("child's log:\n%s", c.logText())
		}
	})
	select {
	case c.addr = <-addr:
	case <-c.done:
		t.Fatalf("child exited before listening: %v\n%s", c.err, c.logText())
	case <-time.After(wait):
		t.Fatalf("child not listening after %v:\n%s", wait, c.logText())
	}
	return c
}

func (c *child) logText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// stop sends SIGINT, as Ctrl-C does (to the child's process group if it
// leads one), and returns the exit code.
func (c *child) stop(t *testing.T) int {
	t.Helper()
	pid := c.cmd.Process.Pid
	if c.cmd.SysProcAttr != nil && c.cmd.SysProcAttr.Setpgid {
		pid = -pid
	}
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		t.Fatalf("interrupt child: %v", err)
	}
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		t.Fatal("child still running 60s after SIGINT")
	}
	var ee *exec.ExitError
	if errors.As(c.err, &ee) {
		return ee.ExitCode()
	}
	if c.err != nil {
		t.Fatalf("wait for child: %v", c.err)
	}
	return 0
}

// dialChild connects a test client to the child.
func (c *child) dial(t *testing.T) *client {
	t.Helper()
	s := &server{addr: c.addr}
	return s.dial(t)
}

// A flood of idle connections past the process's file descriptor limit
// makes accept fail with EMFILE. The server logs it and retries; once the
// flood goes away, a new client is served, and the node stops cleanly.
func TestFloodPastFDLimit(t *testing.T) {
	const nofile, flood = 64, 200
	// The default -max-conns (1024) is far above the limit.
	c := startChild(t, nofile, "-port", "0")
	first := c.dial(t)
	first.expect("CREATE b", "OK")

	var conns []net.Conn
	for range flood {
		conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, conn)
	}
	testkit.Eventually(t, 60*time.Second, func() error {
		if !strings.Contains(c.logText(), "too many open files") {
			return errors.New("the child has not run out of file descriptors yet")
		}
		return nil
	})
	select {
	case <-c.done:
		t.Fatalf("the child died of the flood: %v", c.err)
	default:
	}
	for _, conn := range conns {
		_ = conn.Close()
	}
	// The connections in the accept queue are accepted, read EOF and
	// close; then a new client is served.
	fresh := c.dial(t)
	fresh.expect("PUT b k v", "OK")
	fresh.expect("GET b k", "v")
	first.expect("GET b k", "v")
	if code := c.stop(t); code != 0 {
		t.Errorf("exit code %d after SIGINT, want 0", code)
	}
}

// The program exits 0 when stopped with SIGINT, and 2 with a clear error
// for a malformed environment variable.
func TestExitCodes(t *testing.T) {
	c := startChild(t, 0, "-listen", "127.0.0.1:0")
	c.dial(t).expect("CREATE x", "OK")
	if code := c.stop(t); code != 0 {
		t.Errorf("exit code %d after SIGINT, want 0", code)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1", "ARBOR_KV_PORT=abc")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("with ARBOR_KV_PORT=abc: %v, want exit code 2\n%s", err, out)
	}
	if want := `ARBOR_KV_PORT="abc": not a port number`; !strings.Contains(string(out), want) {
		t.Errorf("output %q does not say %q", out, want)
	}
}

// Ctrl-C on `make run` is a clean stop: the server exits 0 and make
// reports no error. Run from a script or in the background, make ignores
// SIGINT and exits with the server's code, 0; in a terminal's foreground,
// make ends itself with SIGINT once the server has stopped, as any
// interrupted make does.
func TestMakeRunStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server with make; skipped in -short mode")
	}
	if _, err := exec.LookPath("make"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("make is not installed: %v", err) // CI must not skip a test for a missing tool
		}
		t.Skip("make is not installed")
	}
	bin := filepath.Join(t.TempDir(), "kvserver")
	makeRun := "make --no-print-directory -C ../.. run KVSERVER_BIN=" + bin + " 'ARGS=-listen 127.0.0.1:0'"
	for _, tt := range []struct {
		name, script string
		wantSignal   bool // make may end by SIGINT
	}{
		{"SIGINT ignored", `trap "" INT; exec ` + makeRun, false},
		{"foreground", "exec " + makeRun, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tt.script)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a job's process group
			c := startCmd(t, cmd, 5*time.Minute)
			c.dial(t).expect("CREATE x", "OK")
			code := c.stop(t)
			var ee *exec.ExitError
			signalled := errors.As(c.err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT
			if code != 0 && !(tt.wantSignal && signalled) {
				t.Errorf("make run ended with %v after Ctrl-C, want exit code 0", c.err)
			}
			if log := c.logText(); strings.Contains(log, "Error") {
				t.Errorf("make reported an error for a clean stop:\n%s", log)
			}
		})
	}
}

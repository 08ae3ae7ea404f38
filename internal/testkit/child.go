package testkit

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ChildCommand is the test binary run again as a child process: no test
// runs in it (-test.run=^$), envKey=name tells the package's TestMain to
// run a child's main instead, and env adds KEY=VALUE settings. A
// race-enabled child does not sleep a second at exit (GORACE), since a
// child's exit is what many tests wait for.
func ChildCommand(envKey, name string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envKey+"="+name, "GORACE=atexit_sleep_ms=0"), env...)
	return cmd
}

// Child is a child process of a test, started by StartChild: its stdin is
// a pipe (closing it is a child's cue to stop), its stdout is read line by
// line, and its stderr is kept in Log and shown when the test fails.
type Child struct {
	Name  string
	Cmd   *exec.Cmd
	Stdin io.WriteCloser
	Log   *LogBuffer

	t      testing.TB
	done   chan struct{}
	killed atomic.Bool
}

// ChildStopWait is how long Stop, and the end of the test, give a child
// to exit once its stdin is closed before killing it.
const ChildStopWait = 20 * time.Second

// StartChild starts cmd (its Stderr unset: StartChild sets it) and calls
// line with each line the child prints on stdout, in order, from one
// goroutine; Done is closed after the last call and the child's exit.
// When the test ends, the child is stopped (Stop); if the test failed, its
// stderr is logged under name. It stops the test if cmd cannot start.
func StartChild(t testing.TB, name string, cmd *exec.Cmd, line func(string)) *Child {
	t.Helper()
	c := &Child{Name: name, Cmd: cmd, Log: &LogBuffer{Max: childLogMax}, t: t, done: make(chan struct{})}
	cmd.Stderr = c.Log
	var err error
	if c.Stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("child %s: %v", name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("child %s: %v", name, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child %s: %v", name, err)
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line != nil {
				line(sc.Text())
			}
		}
		// A child whose lines are past the buffer's bound still exits.
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		if !c.Stop(ChildStopWait) {
			t.Errorf("child %s did not stop within %v and was killed", name, ChildStopWait)
		}
		if t.Failed() {
			t.Logf("log of child %s:\n%s", name, c.Log.String())
		}
	})
	return c
}

// childLogMax is how much of a child's stderr is kept: the last 8 MiB.
const childLogMax = 8 << 20

// Done is closed once the child has exited and its stdout is read.
func (c *Child) Done() <-chan struct{} { return c.done }

// Stop resumes the child if it is frozen, closes its stdin and waits up
// to within for it to exit. It kills a child still running then, waits
// for it and returns false. It may be called more than once.
func (c *Child) Stop(within time.Duration) bool {
	_ = c.Cmd.Process.Signal(syscall.SIGCONT)
	_ = c.Stdin.Close()
	select {
	case <-c.done:
		return true
	case <-time.After(within):
		c.killed.Store(true)
		_ = c.Cmd.Process.Kill()
		<-c.done
		return false
	}
}

// Signal sends sig to the child; it stops the test if that fails.
func (c *Child) Signal(sig syscall.Signal) {
	c.t.Helper()
	if err := c.Cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("signal %v to child %s: %v", sig, c.Name, err)
	}
}

// Kill ends the child with SIGKILL and waits for it to exit.
func (c *Child) Kill() {
	c.t.Helper()
	c.killed.Store(true)
	c.Signal(syscall.SIGKILL)
	<-c.done
}

// Killed reports whether Kill, or a Stop past its wait, ended the child.
func (c *Child) Killed() bool { return c.killed.Load() }

// ExitCode is the child's exit code once Done is closed (-1 for a child
// ended by a signal).
func (c *Child) ExitCode() int { return c.Cmd.ProcessState.ExitCode() }

// AwaitReady waits for the child's ready value on ready, and stops the
// test if the child exits first or within passes.
func AwaitReady[T any](t testing.TB, c *Child, ready <-chan T, within time.Duration) T {
	t.Helper()
	select {
	case v := <-ready:
		return v
	case <-c.done:
		t.Fatalf("child %s exited before it was ready:\n%s", c.Name, c.Log.String())
	case <-time.After(within):
		t.Fatalf("child %s not ready in %v", c.Name, within)
	}
	var zero T
	return zero
}

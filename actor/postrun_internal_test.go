package actor

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/internal/seam"
)

// postRun (the seam's PostRun, ADR 0011's amendment) lends the posting
// goroutine to a process that the request finds idle. These tests check
// that the activation it runs there is the one a worker would have run:
// one batch, signals first, with the rest left to a worker.

// onGoroutineOf reports whether the calling goroutine is running fn, the
// name of a function of this package (a test that called postRun).
func onGoroutineOf(fn string) bool {
	buf := make([]byte, 64<<10)
	return bytes.Contains(buf[:runtime.Stack(buf, false)], []byte("actor."+fn+"("))
}

// answer is a request's answer as postRun's caller gets it.
type answer struct {
	v   any
	err error
}

func postRunNode(t *testing.T) *Node {
	t.Helper()
	n := NewNode(WithLogger(zerolog.Nop()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	return n
}

// request builds a request whose answer goes on the channel returned.
func request(msg any) (*Request, <-chan answer) {
	ch := make(chan answer, 1)
	return newRequest(PID{}, msg, func(v any, err error) { ch <- answer{v, err} }), ch
}

func awaitAnswer(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no answer within 20 s")
		return answer{}
	}
}

// TestPostRunRunsAnIdleProcessInline: a request that finds its process
// idle is handled on the goroutine that posted it, and is answered when
// postRun returns; the process is idle again then, with its buffers
// released if it hibernated.
func TestPostRunRunsAnIdleProcessInline(t *testing.T) {
	n := postRunNode(t)
	pid, err := n.Spawn(ReceiverFunc(func(c *Context, msg any) error {
		if r, ok := msg.(*Request); ok {
			c.Hibernate()
			r.Reply(onGoroutineOf("TestPostRunRunsAnIdleProcessInline"))
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	rt := seam.Installed[*Node, PID, Ref, *Request]()
	for i := range 3 {
		req, ch := request(i)
		if err := rt.PostRun(n, pid, req); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-ch:
			if a.err != nil || a.v != true {
				t.Fatalf("call %d: %v, %v; want handled on the posting goroutine", i, a.v, a.err)
			}
		default:
			t.Fatalf("call %d: not answered when PostRun returned", i)
		}
		c := n.lookup(pid)
		c.mu.Lock()
		state, hib, spare := c.state, c.hibernating, c.spare
		c.mu.Unlock()
		if state != stIdle || hib || spare != nil {
			t.Fatalf("call %d: state %d, hibernating %v, spare %v; want idle with its buffers released", i, state, hib, spare)
		}
	}
	if err := rt.PostRun(n, PID{}, &Request{}); !errors.Is(err, NoProc) {
		t.Fatalf("to no process: %v, want NoProc", err)
	}
}

// TestPostRunPostsToABusyProcess: a request that finds its process
// running is queued behind the messages before it, and PostRun returns
// at once; a worker handles it.
func TestPostRunPostsToABusyProcess(t *testing.T) {
	n := postRunNode(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var seen []int
	pid, err := n.Spawn(ReceiverFunc(func(_ *Context, msg any) error {
		switch m := msg.(type) {
		case int:
			if m == 0 {
				close(entered)
				<-release
			}
			seen = append(seen, m)
		case *Request:
			m.Reply(seenOn{append([]int(nil), seen...), onGoroutineOf("TestPostRunPostsToABusyProcess")})
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	_ = n.Send(pid, 0)
	<-entered
	_ = n.Send(pid, 1)
	req, ch := request(nil)
	if err := seam.Installed[*Node, PID, Ref, *Request]().PostRun(n, pid, req); err != nil {
		t.Fatal(err) // returned while 0 is still being handled: it only queued
	}
	close(release)
	a := awaitAnswer(t, ch).v.(seenOn)
	if got := a.seen; len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("the request saw %v, want [0 1] (the messages before it)", got)
	}
	if a.inline {
		t.Fatal("the request was handled on the posting goroutine")
	}
}

// seenOn is what a request saw and whether it ran on the posting goroutine.
type seenOn struct {
	seen   []int
	inline bool
}

// TestPostRunLeavesLaterMailToAWorker: what reaches the process while it
// runs on the lent goroutine is handled by a worker afterwards: PostRun
// returns after its one batch, and the process's later mail still runs
// (here a message that blocks until the test releases it).
func TestPostRunLeavesLaterMailToAWorker(t *testing.T) {
	n := postRunNode(t)
	later, release := make(chan bool, 1), make(chan struct{})
	pid, err := n.Spawn(ReceiverFunc(func(c *Context, msg any) error {
		switch m := msg.(type) {
		case *Request:
			_ = c.Send(c.Self(), "later")
			m.Reply(nil)
		case string:
			later <- onGoroutineOf("lender")
			<-release
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer close(release)
	req, ch := request(nil)
	lent := make(chan error, 1)
	go lender(n, pid, req, lent)
	awaitAnswer(t, ch)
	select {
	case inline := <-later:
		if inline {
			t.Fatal("the later message was handled on the posting goroutine")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the later message was not handled")
	}
	select {
	case err := <-lent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("PostRun did not return")
	}
}

// lender posts req with PostRun, on a goroutine of its own.
func lender(n *Node, pid PID, req *Request, done chan<- error) {
	done <- seam.Installed[*Node, PID, Ref, *Request]().PostRun(n, pid, req)
}

// TestPostRunSignalsComeFirst: a signal that reaches the process while
// its request runs on the lent goroutine is handled before the messages
// that came after the request, on a worker: here an exit signal ends the
// process with a message still queued.
func TestPostRunSignalsComeFirst(t *testing.T) {
	n := postRunNode(t)
	handled := make(chan string, 1)
	reason := errors.New("told to exit")
	pid, err := n.Spawn(ReceiverFunc(func(c *Context, msg any) error {
		switch m := msg.(type) {
		case *Request:
			_ = c.Send(c.Self(), "after")
			n.deliverSignal(c.Self(), signal{kind: seam.SignalExit, from: c.Self(), reason: reason})
			m.Reply(nil)
		case string:
			handled <- m
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	exited := n.watchExit(pid)
	req, ch := request(nil)
	if err := seam.Installed[*Node, PID, Ref, *Request]().PostRun(n, pid, req); err != nil {
		t.Fatal(err)
	}
	awaitAnswer(t, ch)
	select {
	case got := <-exited:
		if !errors.Is(got, reason) {
			t.Fatalf("exited with %v, want %v", got, reason)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the process did not exit")
	}
	select {
	case m := <-handled:
		t.Fatalf("%q was handled before the exit signal", m)
	default:
	}
}

// TestPostRunPanics: a handler that panics on the lent goroutine ends
// the process as on a worker: the request fails with the *PanicError,
// monitors hear of it, and PostRun returns.
func TestPostRunPanics(t *testing.T) {
	n := postRunNode(t)
	pid, err := n.Spawn(ReceiverFunc(func(_ *Context, msg any) error {
		if _, ok := msg.(*Request); ok {
			panic("boom")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	exited := n.watchExit(pid)
	req, ch := request(nil)
	if err := seam.Installed[*Node, PID, Ref, *Request]().PostRun(n, pid, req); err != nil {
		t.Fatal(err)
	}
	var pe *PanicError
	if a := awaitAnswer(t, ch); !errors.As(a.err, &pe) {
		t.Fatalf("the request failed with %v, want a *PanicError", a.err)
	}
	if got := <-exited; !errors.As(got, &pe) {
		t.Fatalf("exited with %v, want a *PanicError", got)
	}
	if n.lookup(pid) != nil {
		t.Fatal("the process is still alive")
	}
}

// TestPostRunToASuspendedProcess: a request to a process suspended by sys
// queues (PostRun returns at once) and is handled after Resume, on a
// worker.
func TestPostRunToASuspendedProcess(t *testing.T) {
	n := postRunNode(t)
	pid, err := n.Spawn(ReceiverFunc(func(_ *Context, msg any) error {
		if r, ok := msg.(*Request); ok {
			r.Reply(onGoroutineOf("TestPostRunToASuspendedProcess"))
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.System(ctx, pid, func(p *SysProcess) { p.Suspend() }); err != nil {
		t.Fatal(err)
	}
	req, ch := request(nil)
	if err := seam.Installed[*Node, PID, Ref, *Request]().PostRun(n, pid, req); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-ch:
		t.Fatalf("a suspended process answered: %v, %v", a.v, a.err)
	default:
	}
	if err := n.System(ctx, pid, func(p *SysProcess) { p.Resume() }); err != nil {
		t.Fatal(err)
	}
	if a := awaitAnswer(t, ch); a.err != nil || a.v != false {
		t.Fatalf("after Resume: %v, %v; want handled by a worker", a.v, a.err)
	}
}

package actor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// A suspension that arrives while a batch is being handled holds the rest
// of the batch: those messages wait for Resume and then come first, before
// the ones that arrived meanwhile. The batch is 64 inline messages and
// segments; the suspension comes in either part.
func TestSuspendHoldsTheRestOfABatch(t *testing.T) {
	for _, blockAt := range []int{1, 63, 64, 100, 400} {
		t.Run(fmt.Sprint("at=", blockAt), func(t *testing.T) { testSuspendHolds(t, blockAt) })
	}
}

func testSuspendHolds(t *testing.T, blockAt int) {
	n := NewNode(WithLogger(zerolog.Nop()))
	defer n.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	const queued = 400 // 1..400 queue while 0 blocks: one batch with segments
	entered := make(chan int, 10)
	release := make(chan struct{}, 10)
	var got []int
	pid, err := n.Spawn(ReceiverFunc(func(_ *Context, msg any) error {
		switch m := msg.(type) {
		case int:
			got = append(got, m)
			if m == 0 || m == blockAt {
				entered <- m
				<-release
			}
		case *Request:
			m.Reply(append([]int(nil), got...))
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := n.lookup(pid)
	_ = n.Send(pid, 0) // the process blocks in 0...
	<-entered
	for i := 1; i <= queued; i++ { // ...while the next batch queues
		_ = n.Send(pid, i)
	}
	release <- struct{}{}
	<-entered // in blockAt, the rest of its batch taken with it
	suspended := make(chan error, 1)
	go func() { suspended <- n.System(ctx, pid, func(p *SysProcess) { p.Suspend() }) }()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !c.hasSys.Load() {
			return errors.New("suspend request not queued")
		}
		return nil
	})
	release <- struct{}{}
	if err := <-suspended; err != nil {
		t.Fatal(err)
	}
	_ = n.Send(pid, queued+1)
	var qlen int
	if err := n.System(ctx, pid, func(p *SysProcess) { qlen = p.Info().MessageQueueLen }); err != nil {
		t.Fatal(err)
	}
	if want := queued - blockAt + 1; qlen != want {
		t.Fatalf("queue while suspended = %d, want %d held and 1 queued", qlen, want-1)
	}
	if in, err := n.ProcessInfo(ctx, pid); err != nil || in.MessageQueueLen != qlen {
		t.Fatalf("ProcessInfo queue = %d, %v; want %d", in.MessageQueueLen, err, qlen)
	}
	if err := n.System(ctx, pid, func(p *SysProcess) { p.Resume() }); err != nil {
		t.Fatal(err)
	}
	v, err := n.Call(ctx, pid, "got")
	if err != nil {
		t.Fatal(err)
	}
	s := v.([]int)
	for i, m := range s {
		if m != i {
			t.Fatalf("handled %v..., want 0..%d in order", s[:i+1], queued+1)
		}
	}
	if len(s) != queued+2 {
		t.Fatalf("handled %d messages, want %d", len(s), queued+2)
	}
	if c.sysx != nil {
		t.Fatalf("sys state kept after resume: %+v", c.sysx)
	}
}

// The trace logs at most PerSecond events a second and reports the rest
// as one "dropped" event when the next second starts; Limit silences it.
func TestTracerBounds(t *testing.T) {
	var buf bytes.Buffer
	l := zerolog.New(&buf)
	n := NewNode(WithLogger(zerolog.Nop()))
	defer n.Stop(context.Background())
	c := &Context{process: &process{node: n}}
	tr := newTracer(c, &TraceConfig{Logger: &l, PerSecond: 3, Limit: 5})
	now := int64(time.Hour)
	tr.now = func() int64 { return now }
	for i := range 10 {
		tr.in(envelope{msg: i, cast: true})
	}
	now += int64(time.Second)
	for i := range 10 {
		tr.in(envelope{msg: i})
	}
	out := buf.String()
	if in := strings.Count(out, `"event":"in"`); in != 5 {
		t.Fatalf("%d in events, want 3 in the first second and 2 up to the limit:\n%s", in, out)
	}
	if !strings.Contains(out, `"event":"dropped","count":7`) || !strings.Contains(out, `"event":"limit"`) {
		t.Fatalf("want a dropped count of 7 and a limit event:\n%s", out)
	}
	if strings.Count(out, "\n") != 7 {
		t.Fatalf("want 7 lines:\n%s", out)
	}
}

// Tracing off costs the message path nothing: invoke checks one pointer.
func TestSysOffLeavesNoState(t *testing.T) {
	n := NewNode(WithLogger(zerolog.Nop()))
	defer n.Stop(context.Background())
	ctx := context.Background()
	pid, _ := n.Spawn(ReceiverFunc(func(*Context, any) error { return nil }))
	c := n.lookup(pid)
	for _, fn := range []func(*SysProcess){
		func(p *SysProcess) { p.SetTrace(&TraceConfig{}); p.SetStatistics(true) },
		func(p *SysProcess) { p.SetTrace(nil); p.SetStatistics(false) },
	} {
		if err := n.System(ctx, pid, fn); err != nil {
			t.Fatal(err)
		}
	}
	if c.sysx != nil {
		t.Fatalf("sys state kept with everything off: %+v", c.sysx)
	}
}

// Suspending and resuming a process under a stream of messages loses none
// and keeps their order, whether the suspension holds part of an inline
// batch, of a segment, or nothing.
func TestSuspendResumeKeepsOrderUnderLoad(t *testing.T) {
	n := NewNode(WithLogger(zerolog.Nop()))
	defer n.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const total = 20000
	next := 0
	var bad error
	pid, err := n.Spawn(ReceiverFunc(func(_ *Context, msg any) error {
		switch m := msg.(type) {
		case int:
			if m != next && bad == nil {
				bad = fmt.Errorf("got %d, want %d", m, next)
			}
			next = m + 1
		case *Request:
			m.Reply([2]any{next, bad})
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range total {
			_ = n.Send(pid, i)
		}
	}()
	toggles := 0
	for done := false; !done; toggles++ {
		select {
		case <-sent:
			done = true
		default:
		}
		if err := n.System(ctx, pid, func(p *SysProcess) { p.Suspend() }); err != nil {
			t.Fatal(err)
		}
		if err := n.System(ctx, pid, func(p *SysProcess) { p.Resume() }); err != nil {
			t.Fatal(err)
		}
	}
	v, err := n.Call(ctx, pid, "done?")
	if err != nil {
		t.Fatal(err)
	}
	r := v.([2]any)
	if r[1] != nil || r[0] != total {
		t.Fatalf("after %d suspensions: next %v, error %v; want %d in order", toggles, r[0], r[1], total)
	}
}

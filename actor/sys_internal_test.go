package actor

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// A suspension that arrives while a batch is being handled holds the rest
// of the batch: those messages wait for Resume and then come first, before
// the ones that arrived meanwhile.
func TestSuspendHoldsTheRestOfABatch(t *testing.T) {
	n := NewNode(WithLogger(zerolog.Nop()))
	defer n.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	entered := make(chan int, 10)
	release := make(chan struct{}, 10)
	var got []int
	pid, err := n.Spawn(ReceiverFunc(func(_ *Context, msg any) error {
		switch m := msg.(type) {
		case int:
			got = append(got, m)
			if m < 2 {
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
	for i := 1; i <= 3; i++ { // ...while 1, 2, 3 queue: the next batch
		_ = n.Send(pid, i)
	}
	release <- struct{}{}
	<-entered // in 1, with 2 and 3 taken in the same batch
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
	_ = n.Send(pid, 4)
	var qlen int
	if err := n.System(ctx, pid, func(p *SysProcess) { qlen = p.Info().MessageQueueLen }); err != nil {
		t.Fatal(err)
	}
	if qlen != 3 {
		t.Fatalf("queue while suspended = %d, want 2 held and 1 queued", qlen)
	}
	if err := n.System(ctx, pid, func(p *SysProcess) { p.Resume() }); err != nil {
		t.Fatal(err)
	}
	v, err := n.Call(ctx, pid, "got")
	if err != nil {
		t.Fatal(err)
	}
	if s := v.([]int); len(s) != 5 || s[0] != 0 || s[1] != 1 || s[2] != 2 || s[3] != 3 || s[4] != 4 {
		t.Fatalf("handled %v, want [0 1 2 3 4]", s)
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
	c := &Context{node: n}
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

package supervision_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

const protoWait = 20 * time.Second

func recvOne[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(protoWait):
		t.Fatalf("no %v within %v", reflect.TypeFor[T](), protoWait)
		panic("unreachable")
	}
}

// protoWorker is a protoactor actor numbered by its incarnation. It reports
// each string it receives as "n:msg" on got; "block" waits for gate, "boom"
// waits for gate and panics, "stop" stops it.
type protoWorker struct {
	n    int64
	got  chan<- string
	gate <-chan struct{}
}

func (w *protoWorker) Receive(c pa.Context) {
	switch m := c.Message().(type) {
	case string:
		w.got <- fmt.Sprintf("%d:%s", w.n, m)
		switch m {
		case "block":
			<-w.gate
		case "boom":
			<-w.gate
			panic("boom")
		case "stop":
			c.Stop(c.Self())
		}
		if c.Sender() != nil {
			c.Respond("pong")
		}
	case *pa.Stopping:
		w.got <- fmt.Sprintf("%d:stopping", w.n)
	}
}

func protoWorkerProps(got chan<- string, gate <-chan struct{}) *pa.Props {
	var incarnations atomic.Int64
	return pa.PropsFromProducer(func() pa.Actor {
		return &protoWorker{n: incarnations.Add(1), got: got, gate: gate}
	})
}

func TestProtoChildRestartedAsNewActor(t *testing.T) {
	n := newNode(t)
	got := make(chan string, 16)
	gate := make(chan struct{})
	sup, err := supervision.Start(n, []supervision.ChildSpec{
		supervision.ProtoChild("proto", protoWorkerProps(got, gate)),
	})
	if err != nil {
		t.Fatal(err)
	}
	old := pids(t, sup)["proto"]
	oldTarget, ok := n.ProxyTarget(old)
	if !ok {
		t.Fatalf("child %v stands for no protoactor actor", old)
	}
	exited := n.WatchExit(old)
	n.ActorSystem().Root.Send(oldTarget, "boom")
	if m := recvOne(t, got); m != "1:boom" {
		t.Fatalf("got %q", m)
	}
	n.ActorSystem().Root.Send(oldTarget, "queued") // waits in the failing actor's mailbox
	close(gate)

	var pe *actor.PanicError
	if r := recvOne(t, exited); !errors.As(r, &pe) || pe.Value != "boom" {
		t.Fatalf("child exited with %v, want the actor's panic", r)
	}
	var now actor.PID
	testkit.Eventually(t, protoWait, func() error {
		c := children(t, sup)["proto"]
		if c.PID == old || c.State != supervision.Running {
			return fmt.Errorf("child %+v not restarted", c)
		}
		now = c.PID
		return nil
	})
	target, _ := n.ProxyTarget(now)
	if target.Equal(oldTarget) {
		t.Fatalf("restarted child runs the same actor %v", target)
	}
	if v, err := n.Call(ctxT(t), now, "probe"); err != nil || v != "pong" {
		t.Fatalf("call the new actor: %v, %v", v, err)
	}
	// The new actor's first message is the probe: "queued" was not
	// replayed (nor handled by the failed actor, which only stopped).
	for m := recvOne(t, got); m != "2:probe"; m = recvOne(t, got) {
		if m != "1:stopping" {
			t.Fatalf("got %q before 2:probe", m)
		}
	}
}

func TestProtoChildStopIsNormalExit(t *testing.T) {
	n := newNode(t)
	got := make(chan string, 16)
	spec := supervision.ProtoChild("proto", protoWorkerProps(got, nil))
	spec.Restart = supervision.Transient
	sup, err := supervision.Start(n, []supervision.ChildSpec{spec})
	if err != nil {
		t.Fatal(err)
	}
	pid := pids(t, sup)["proto"]
	exited := n.WatchExit(pid)
	_ = n.Send(pid, "stop")
	if r := recvOne(t, exited); !errors.Is(r, actor.Normal) {
		t.Fatalf("child exited with %v, want Normal", r)
	}
	testkit.Eventually(t, protoWait, func() error {
		if c := children(t, sup)["proto"]; c.State != supervision.Stopped {
			return fmt.Errorf("transient child %+v restarted after a normal stop", c)
		}
		return nil
	})
}

func TestProtoChildShutdown(t *testing.T) {
	for _, tc := range []struct {
		name     string
		shutdown supervision.Shutdown
		block    bool     // the actor is in a handler that waits
		want     []string // what the actor gets after its queue
	}{
		{"poison within the limit", supervision.DefaultShutdown, false, []string{"1:queued", "1:stopping"}},
		{"killed past the limit", supervision.Timeout(50 * time.Millisecond), true, []string{"1:stopping"}},
		{"brutal kill", supervision.BrutalKill, true, []string{"1:stopping"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t)
			got := make(chan string, 16)
			gate := make(chan struct{})
			spec := supervision.ProtoChild("proto", protoWorkerProps(got, gate))
			spec.Shutdown = tc.shutdown
			sup, err := supervision.Start(n, []supervision.ChildSpec{spec})
			if err != nil {
				t.Fatal(err)
			}
			pid := pids(t, sup)["proto"]
			target, _ := n.ProxyTarget(pid)
			terms := testkit.ProtoWatch(t, n.ActorSystem(), target)
			if tc.block {
				_ = n.Send(pid, "block")
				if m := recvOne(t, got); m != "1:block" {
					t.Fatalf("got %q", m)
				}
			}
			_ = n.Send(pid, "queued")
			if err := supervision.TerminateChild(ctxT(t), sup, "proto"); err != nil {
				t.Fatal(err)
			}
			// TerminateChild returned while the handler may still wait:
			// it ends when the handler returns, its queue dropped.
			close(gate)
			recvOne(t, terms)
			for _, want := range tc.want {
				if m := recvOne(t, got); m != want {
					t.Fatalf("actor got %q, want %q", m, want)
				}
			}
		})
	}
}

func TestProtoChildNilProps(t *testing.T) {
	n := newNode(t)
	_, err := supervision.Start(n, []supervision.ChildSpec{supervision.ProtoChild("proto", nil)})
	if !errors.Is(err, supervision.ErrInvalidSpec) {
		t.Fatalf("Start with nil props: %v, want ErrInvalidSpec", err)
	}
}

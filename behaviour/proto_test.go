package behaviour_test

import (
	"context"
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// doubler is a GenServer that answers an int call with its double.
type doubler struct{}

func (doubler) Init(*actor.Context) (struct{}, error) { return struct{}{}, nil }
func (doubler) HandleCall(_ *actor.Context, from behaviour.From, req any, s struct{}) behaviour.Result[struct{}] {
	if from.Caller() != (actor.PID{}) {
		return behaviour.Reply("a protoactor caller has no PID", s)
	}
	return behaviour.Reply(req.(int)*2, s)
}

func TestGenServerAnswersRequestFuture(t *testing.T) {
	n := newNode(t)
	gs, err := behaviour.Start(n, doubler{})
	if err != nil {
		t.Fatal(err)
	}
	to := n.ProtoPID(gs)
	if v, err := n.ActorSystem().Root.RequestFuture(to, 21, 20*time.Second).Result(); err != nil || v != 42 {
		t.Fatalf("RequestFuture from the root = %v, %v; want 42", v, err)
	}

	// From inside an actor: a future, and a Request whose response is a
	// message to the actor.
	got := make(chan any, 2)
	asker := n.ActorSystem().Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		switch m := c.Message().(type) {
		case string:
			v, err := c.RequestFuture(to, 5, 20*time.Second).Result()
			if err != nil {
				got <- err
				return
			}
			got <- v
			c.Request(to, 50)
		case int:
			got <- m
		}
	}))
	n.ActorSystem().Root.Send(asker, "go")
	for _, want := range []int{10, 100} {
		select {
		case v := <-got:
			if v != want {
				t.Fatalf("actor got %v, want %d", v, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("actor got no answer %d", want)
		}
	}
}

// BenchmarkProtoRequestFutureToGenServer is protoactor's RequestFuture
// answered by an Arbor GenServer; compare BenchmarkRawRequestFuture.
func BenchmarkProtoRequestFutureToGenServer(b *testing.B) {
	n := benchNode(b)
	pid, _ := behaviour.Start(n, echo{})
	to := n.ProtoPID(pid)
	root := n.ActorSystem().Root
	samples := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := root.RequestFuture(to, i, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, samples)
}

// BenchmarkCallProtoActor is an Arbor call to a protoactor actor answering
// with ctx.Respond; compare BenchmarkRawRequestFuture.
func BenchmarkCallProtoActor(b *testing.B) {
	n := benchNode(b)
	pid, err := n.SpawnProto(pa.PropsFromFunc(func(c pa.Context) {
		if m, ok := c.Message().(int); ok {
			c.Respond(m)
		}
	}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	samples := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := actor.Call(ctx, pid, i); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, samples)
}

package behaviour_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
)

// deriver is a GenServer whose HandleCall derives a context with a timeout
// from its ctx, as a handler bounding its own work does, and cancels it.
type deriver struct{}

func (deriver) Init(*actor.Context) (int, error) { return 0, nil }
func (deriver) HandleCall(ctx *actor.Context, _ behaviour.From, req any, s int) behaviour.Result[int] {
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	_ = wctx.Err()
	cancel()
	return behaviour.Reply(req, s)
}

// BenchmarkCallDeadline is BenchmarkCall with a caller's deadline: "fixed"
// calls with one ctx whose deadline is an hour away (the handler ignores
// its ctx); "derive" makes a ctx with a timeout of a second per call and
// the handler derives a context from its ctx (so asks its Done).
func BenchmarkCallDeadline(b *testing.B) {
	b.Run("fixed", func(b *testing.B) {
		n := benchNode(b)
		pid, _ := behaviour.Start(n, echo{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := behaviour.Call(ctx, pid, i); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("derive", func(b *testing.B) {
		n := benchNode(b)
		pid, _ := behaviour.Start(n, deriver{})
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if _, err := behaviour.Call(ctx, pid, i); err != nil {
				b.Fatal(err)
			}
			cancel()
		}
	})
}

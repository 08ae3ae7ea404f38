package actor_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
)

// benchEcho starts a node with a process that answers every request with
// nil.
func benchEcho(b *testing.B) (*actor.Node, actor.PID) {
	n := actor.NewNode(actor.WithLogger(zerolog.Nop()))
	b.Cleanup(func() { _ = n.Stop(context.Background()) })
	pid, err := n.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(nil)
		}
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	return n, pid
}

// BenchmarkCallLocal is a call from outside any process, with a ctx
// without a deadline and with one (its handler gets a view).
func BenchmarkCallLocal(b *testing.B) {
	for _, c := range []struct {
		name     string
		deadline bool
	}{{"deadline=no", false}, {"deadline=yes", true}} {
		b.Run(c.name, func(b *testing.B) {
			n, pid := benchEcho(b)
			ctx := context.Background()
			if c.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Hour)
				defer cancel()
			}
			var msg any = 1
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := n.Call(ctx, pid, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSpawnIdle spawns processes that never run (no Init, no
// message): the process record and its place in the table.
func BenchmarkSpawnIdle(b *testing.B) {
	n := actor.NewNode(actor.WithLogger(zerolog.Nop()))
	b.Cleanup(func() { _ = n.Stop(context.Background()) })
	idle := actor.ReceiverFunc(func(*actor.Context, any) error { return nil })
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := n.Spawn(idle); err != nil {
			b.Fatal(err)
		}
	}
}

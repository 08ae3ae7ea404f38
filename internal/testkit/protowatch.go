package testkit

import (
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
)

// ProtoWatch spawns a protoactor actor on system that watches target, and
// returns once the Watch has been sent; target's Terminated arrives on the
// channel returned.
func ProtoWatch(t testing.TB, system *pa.ActorSystem, target *pa.PID) <-chan *pa.Terminated {
	t.Helper()
	ch := make(chan *pa.Terminated, 1)
	ready := make(chan struct{})
	system.Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		switch m := c.Message().(type) {
		case *pa.Started:
			c.Watch(target)
			close(ready)
		case *pa.Terminated:
			ch <- m
		}
	}))
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the watching protoactor actor did not start")
	}
	return ch
}

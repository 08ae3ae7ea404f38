package actor

import (
	"context"
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// TestProtoUnwatchDropsTheWatch checks that protoactor's Unwatch of a
// process ends the bridge's watch (its goroutine and its entry), and that a
// second Watch by the same watcher is one watch.
func TestProtoUnwatchDropsTheWatch(t *testing.T) {
	n := NewNode(WithLogger(zerolog.Nop()))
	defer func() { _ = n.Stop(context.Background()) }()
	pid, err := n.Spawn(ReceiverFunc(func(*Context, any) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	who := n.ProtoPID(pid)
	done := make(chan struct{})
	w := n.ActorSystem().Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		switch c.Message().(type) {
		case string:
			c.Watch(who)
			c.Watch(who)
			if got := n.proto.watchCount(); got != 1 {
				t.Errorf("%d watches after two Watch calls, want 1", got)
			}
			c.Unwatch(who)
			close(done)
		case *pa.Terminated:
			t.Error("Terminated after Unwatch")
		}
	}))
	n.ActorSystem().Root.Send(w, "go")
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("watcher did not run")
	}
	if got := n.proto.watchCount(); got != 0 {
		t.Fatalf("%d watches after Unwatch, want 0", got)
	}
	n.proto.wg.Wait() // the watch goroutine ended: Unwatch cancelled it
}

func (b *protoBridge) watchCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.watches)
}

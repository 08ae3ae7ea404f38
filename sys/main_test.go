package sys_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild() // remote_test.go
		os.Exit(0)
	}
	code := m.Run()
	stopClusterNode() // remote_test.go
	if code == 0 {
		if err := goleak.Find(testkit.GoleakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func newNode(t testing.TB) *actor.Node { return actortest.NewNode(t) }

func ctxT(t testing.TB) context.Context { return actortest.Context(t) }

// counter is a GenServer whose state is an int: casts of int add, the call
// "get" returns it, the call "block" waits on the channel in the message.
type counter struct{}

type block struct{ entered, release chan struct{} }

func (counter) Init(*actor.Context) (int, error) { return 0, nil }

func (counter) HandleCall(_ *actor.Context, _ behaviour.From, req any, s int) behaviour.Result[int] {
	switch r := req.(type) {
	case block:
		close(r.entered)
		<-r.release
	case int:
		return behaviour.Reply(s+r, s+r)
	}
	return behaviour.Reply(s, s)
}

func (counter) HandleCast(_ *actor.Context, msg any, s int) behaviour.Result[int] {
	if d, ok := msg.(int); ok {
		s += d
	}
	return behaviour.NoReply(s)
}

func startCounter(t *testing.T, n *actor.Node, opts ...behaviour.Option) actor.PID {
	t.Helper()
	pid, err := behaviour.Start[int](n, counter{}, opts...)
	if err != nil {
		t.Fatalf("start counter: %v", err)
	}
	return pid
}

func testkitEventually(t testing.TB, f func() error) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, f)
}

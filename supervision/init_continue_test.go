package supervision_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// loader is a GenServer that loads in HandleContinue (InitContinue); its
// first load fails.
type loader struct{ loads *atomic.Int32 }

func (loader) Init(*actor.Context) (int, error) { return behaviour.InitContinue(0, "load") }

func (l loader) HandleContinue(_ *actor.Context, _ any, s int) behaviour.Result[int] {
	if l.loads.Add(1) == 1 {
		return behaviour.Stop(errBoom, s)
	}
	return behaviour.NoReply(s)
}

// TestInitContinueStopIsChildExit: a Stop from the HandleContinue of a
// child's InitContinue is the exit of a started child, which the
// supervisor restarts, not a start failure.
func TestInitContinueStopIsChildExit(t *testing.T) {
	n := newNode(t)
	var loads atomic.Int32
	sup, err := supervision.Start(n, []supervision.ChildSpec{{
		ID: "loader",
		Start: func(ctx *actor.Context) (actor.PID, error) {
			return behaviour.StartLink[int](ctx, loader{loads: &loads})
		},
	}})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		c, ok := children(t, sup)["loader"]
		if got := loads.Load(); got < 2 || !ok || c.State != supervision.Running {
			return fmt.Errorf("loads %d, child %+v", got, c)
		}
		return nil
	})
}

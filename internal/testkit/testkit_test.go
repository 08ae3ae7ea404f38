package testkit_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/arbor-otp/arbor/internal/logbridge"
	"github.com/arbor-otp/arbor/internal/testkit"
)

func TestMain(m *testing.M) {
	testkit.VerifyTestMain(m)
}

// fatalRecorder stands in for a test, to watch Eventually fail.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
}

func TestEventually(t *testing.T) {
	tests := []struct {
		name      string
		okAfter   int // calls that fail before f succeeds; -1: never
		wantFatal string
	}{
		{name: "at once", okAfter: 0},
		{name: "after retries", okAfter: 5},
		{name: "never", okAfter: -1, wantFatal: "condition not met within 30ms: attempt "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &fatalRecorder{TB: t}
			calls := 0
			testkit.Eventually(rec, 30*time.Millisecond, func() error {
				calls++
				if tt.okAfter >= 0 && calls > tt.okAfter {
					return nil
				}
				return errors.New("attempt " + strconv.Itoa(calls))
			})
			if tt.wantFatal == "" {
				if rec.fatal != "" {
					t.Fatalf("Eventually failed: %s", rec.fatal)
				}
				if calls != tt.okAfter+1 {
					t.Errorf("f called %d times, want %d", calls, tt.okAfter+1)
				}
				return
			}
			// The message quotes the last error, from the last call.
			want := tt.wantFatal + strconv.Itoa(calls)
			if rec.fatal != want {
				t.Errorf("fatal message %q, want %q", rec.fatal, want)
			}
		})
	}
}

func TestFreePort(t *testing.T) {
	port := testkit.FreePort(t)
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort() = %d", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on the port FreePort returned: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestGoleakOptionsCoverProtoactor makes protoactor-go start its dead-letter
// throttle goroutine, checks that goleak sees it, and that GoleakOptions
// hides it. It fails when a new protoactor-go version or compiler renames
// the goroutine.
func TestGoleakOptionsCoverProtoactor(t *testing.T) {
	system := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(logbridge.Handler(zerolog.Nop()))
		}),
		// Keep the throttle goroutine alive well past the checks below.
		actor.WithDeadLetterThrottleInterval(time.Minute),
	)
	props := actor.PropsFromFunc(func(actor.Context) {})
	pid := system.Root.Spawn(props)
	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatalf("stop actor: %v", err)
	}
	system.Root.Send(pid, "to a dead process") // a dead letter starts the throttle
	system.Shutdown()

	err := goleak.Find()
	if err == nil || !strings.Contains(err.Error(), "NewThrottle") {
		t.Fatalf("goleak.Find() without options = %v, want the dead-letter throttle goroutine", err)
	}
	if err := goleak.Find(testkit.GoleakOptions()...); err != nil {
		t.Fatalf("goleak.Find(GoleakOptions()...) = %v", err)
	}
	testkit.VerifyNone(t)
}

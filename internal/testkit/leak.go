package testkit

import (
	"testing"

	"go.uber.org/goleak"
)

// protoactorThrottle names the goroutine that protoactor-go's dead-letter
// throttle (actor.NewThrottle in actor/throttler.go) starts when the first
// dead letter of a period is logged. It waits for one tick of a ticker of
// Config.DeadLetterThrottleInterval (1s by default) and then ends, so it can
// outlive a test that sent to a dead process. The throttle is created in
// actor.NewDeadLetter, called by actor.NewActorSystem; its goroutine is a
// closure whose name depends on whether the compiler inlined NewThrottle
// into NewDeadLetter (the usual case) or not (-gcflags=-l, debuggers).
//
// Apart from it, actor.NewActorSystem starts no goroutine: mailboxes run on
// goroutines that end when the mailbox is empty, and futures and receive
// timeouts use time.AfterFunc. remote.Remote's goroutines end with its
// Shutdown, so they are not listed.
var protoactorThrottle = []string{
	"github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1",
	"github.com/asynkron/protoactor-go/actor.NewThrottle.func1.1",
}

// GoleakOptions returns the goleak options every Arbor test should use: they
// ignore the protoactor-go goroutines described above and nothing else.
func GoleakOptions() []goleak.Option {
	opts := make([]goleak.Option, 0, len(protoactorThrottle))
	for _, f := range protoactorThrottle {
		opts = append(opts, goleak.IgnoreTopFunction(f))
	}
	return opts
}

// VerifyNone fails t if goroutines other than those of the test runner and
// those GoleakOptions ignores are still running. Extra options are added to
// GoleakOptions. Call it at the end of a test, or defer it.
func VerifyNone(t testing.TB, extra ...goleak.Option) {
	t.Helper()
	goleak.VerifyNone(t, append(GoleakOptions(), extra...)...)
}

// VerifyTestMain runs the tests of m, then fails the run if goroutines
// remain, as goleak.VerifyTestMain does, with GoleakOptions and extra.
// It does not return: it exits the process with the tests' status.
func VerifyTestMain(m *testing.M, extra ...goleak.Option) {
	goleak.VerifyTestMain(m, append(GoleakOptions(), extra...)...)
}

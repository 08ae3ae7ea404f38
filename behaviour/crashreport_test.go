package behaviour_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
	"weak"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// logSink collects a node's JSON log lines.
type logSink struct{ testkit.LogBuffer }

// events returns the logged events whose "event" field is kind.
func (l *logSink) events(t *testing.T, kind string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ev := range l.Events(t) {
		if ev["event"] == kind {
			out = append(out, ev)
		}
	}
	return out
}

func loggingNode(t *testing.T, opts ...actor.NodeOption) (*actor.Node, *logSink) {
	sink := &logSink{}
	opts = append([]actor.NodeOption{actor.WithLogger(zerolog.New(sink))}, opts...)
	return actortest.NewNode(t, opts...), sink
}

// account is a GenServer with calls only: a cast kills it with ErrNoHandler.
type account struct{}

type accountState struct {
	Owner   string
	Balance int
}

type (
	withdraw struct{ Amount int }
	deposit  struct{ Amount int }
)

func (account) Init(*actor.Context) (accountState, error) {
	return accountState{Owner: "ada", Balance: 10}, nil
}

func (account) HandleCall(_ *actor.Context, _ behaviour.From, req any, s accountState) behaviour.Result[accountState] {
	if w, ok := req.(withdraw); ok && w.Amount > s.Balance {
		return behaviour.Stop(errBoom, s)
	}
	return behaviour.Reply(s.Balance, s)
}

// secretAccount hides its state from crash reports.
type secretAccount struct{ account }

func (secretAccount) FormatState(s accountState) string { return "owner=" + s.Owner }

// TestCrashReportCastWithoutHandler: an unsupervised server killed by a cast
// it has no handler for logs one crash report naming the server, the cast,
// the state and the reason.
func TestCrashReportCastWithoutHandler(t *testing.T) {
	n, sink := loggingNode(t)
	pid, err := behaviour.Start[accountState](n, account{}, behaviour.WithName("acct"))
	if err != nil {
		t.Fatal(err)
	}
	exited := n.WatchExit(pid)
	if err := behaviour.Cast(ctxT(t), pid, deposit{Amount: 5}); err != nil {
		t.Fatal(err)
	}
	if reason := <-exited; !errors.Is(reason, behaviour.ErrNoHandler) {
		t.Fatalf("exit reason %v", reason)
	}
	evs := sink.events(t, "crash_report")
	if len(evs) != 1 {
		t.Fatalf("%d crash reports, want 1: %s", len(evs), sink.String())
	}
	ev := evs[0]
	for field, want := range map[string]string{
		"level":             "error",
		"server":            "acct",
		"pid":               pid.String(),
		"last_message_kind": "cast",
		"last_message_type": "behaviour_test.deposit",
		"last_message":      "{Amount:5}",
		"state":             "{Owner:ada Balance:10}",
		"reason":            behaviour.ErrNoHandler.Error(),
	} {
		if got := ev[field]; got != want {
			t.Errorf("%s = %v, want %q", field, got, want)
		}
	}
}

// TestCrashReportStop: a Stop with an abnormal reason is reported, with the
// call that caused it and the state as FormatState summarizes it; a clean
// stop is not.
func TestCrashReportStop(t *testing.T) {
	n, sink := loggingNode(t)
	pid, _ := behaviour.Start[accountState](n, secretAccount{})
	caller, _ := n.NewInbox()
	_ = caller.Do(ctxT(t), func(c *actor.Context) error {
		if _, err := behaviour.Call(c, pid, withdraw{Amount: 100}); !errors.Is(err, errBoom) {
			t.Errorf("call: %v", err)
		}
		return nil
	})
	clean, _ := behaviour.Start[accountState](n, account{})
	if err := behaviour.StopServer(ctxT(t), n, clean, actor.Shutdown); err != nil {
		t.Fatal(err)
	}
	<-n.WatchExit(pid)
	evs := sink.events(t, "crash_report")
	if len(evs) != 1 {
		t.Fatalf("%d crash reports, want 1: %s", len(evs), sink.String())
	}
	ev := evs[0]
	if ev["server"] != pid.String() || ev["last_message_kind"] != "call" || ev["caller"] != caller.PID().String() ||
		ev["last_message"] != "{Amount:100}" || ev["state"] != "owner=ada" || ev["reason"] != "boom" {
		t.Fatalf("report %v", ev)
	}
}

// TestCrashReportsOff: WithCrashReports(false) silences the reports of a
// node.
func TestCrashReportsOff(t *testing.T) {
	n, sink := loggingNode(t, actor.WithCrashReports(false))
	pid, _ := behaviour.Start[accountState](n, account{})
	exited := n.WatchExit(pid)
	_ = behaviour.Cast(ctxT(t), pid, deposit{Amount: 1})
	<-exited
	if evs := sink.events(t, "crash_report"); len(evs) != 0 {
		t.Fatalf("crash reports with reports off: %v", evs)
	}
}

// blob is a GenServer with a long state that stops on any call.
type blob struct{}

func (blob) Init(*actor.Context) (string, error) { return strings.Repeat("é", 600), nil }

func (blob) HandleCall(_ *actor.Context, _ behaviour.From, _ any, s string) behaviour.Result[string] {
	return behaviour.Stop(errBoom, s)
}

// TestCrashReportCutsLongFields: a long state is cut on a character
// boundary, never in the middle of one.
func TestCrashReportCutsLongFields(t *testing.T) {
	n, sink := loggingNode(t)
	pid, _ := behaviour.Start[string](n, blob{})
	_, _ = behaviour.Call(ctxT(t), pid, get{})
	<-n.WatchExit(pid)
	evs := sink.events(t, "crash_report")
	if len(evs) != 1 {
		t.Fatalf("%d crash reports", len(evs))
	}
	st, _ := evs[0]["state"].(string)
	if !utf8.ValidString(st) || len(st) > 520 || !strings.HasPrefix(st, "éé") || !strings.HasSuffix(st, "é…") {
		t.Fatalf("state summary %q (%d bytes)", st, len(st))
	}
}

// TestCrashReportStopServerNamesNoStaleMessage: StopServer with an abnormal
// reason is reported without a last message: the call handled before it,
// long done, is not what ended the server.
func TestCrashReportStopServerNamesNoStaleMessage(t *testing.T) {
	n, sink := loggingNode(t)
	pid, _ := behaviour.Start[accountState](n, account{})
	if _, err := behaviour.Call(ctxT(t), pid, withdraw{Amount: 1}); err != nil {
		t.Fatal(err)
	}
	if err := behaviour.StopServer(ctxT(t), n, pid, errBoom); err != nil {
		t.Fatal(err)
	}
	evs := sink.events(t, "crash_report")
	if len(evs) != 1 {
		t.Fatalf("%d crash reports, want 1: %s", len(evs), sink.String())
	}
	if ev := evs[0]; ev["last_message"] != nil || ev["last_message_kind"] != "none" || ev["reason"] != "boom" {
		t.Fatalf("report %v names a message StopServer did not send", ev)
	}
}

// payload is a message whose collection a test can watch.
type payload struct{ _ [1 << 16]byte }

// TestServerDropsHandledMessage: once a message is handled, the server
// keeps no reference to it (for its crash report), so an idle server does
// not pin the last message it got.
func TestServerDropsHandledMessage(t *testing.T) {
	n := newNode(t)
	pid, _ := behaviour.Start[accountState](n, account{})
	p := &payload{}
	gone := weak.Make(p)
	if _, err := behaviour.Call(ctxT(t), pid, p); err != nil {
		t.Fatal(err)
	}
	p = nil
	testkit.Eventually(t, actortest.Timeout, func() error {
		runtime.GC()
		if gone.Value() != nil {
			return errors.New("the idle server still holds its last message")
		}
		return nil
	})
	_ = p
}

// fragile panics in its call handler and again in its Terminate.
type fragile struct{}

func (fragile) Init(*actor.Context) (int, error) { return 0, nil }

func (fragile) HandleCall(*actor.Context, behaviour.From, any, int) behaviour.Result[int] {
	panic("handler broke")
}

func (fragile) Terminate(*actor.Context, error, int) { panic("terminate broke too") }

// TestCrashReportTerminatePanics: a server whose handler panics and whose
// Terminate panics as well still logs its crash report.
func TestCrashReportTerminatePanics(t *testing.T) {
	n, sink := loggingNode(t)
	pid, _ := behaviour.Start[int](n, fragile{})
	exited := n.WatchExit(pid)
	_, _ = behaviour.Call(ctxT(t), pid, get{})
	var pe *actor.PanicError
	if reason := <-exited; !errors.As(reason, &pe) {
		t.Fatalf("exit reason %v", reason)
	}
	evs := sink.events(t, "crash_report")
	if len(evs) != 1 {
		t.Fatalf("%d crash reports, want 1: %s", len(evs), sink.String())
	}
	if r, _ := evs[0]["reason"].(string); !strings.Contains(r, "handler broke") {
		t.Fatalf("report %v", evs[0])
	}
}

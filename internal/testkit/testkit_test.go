package testkit_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
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

// echoServer answers every connection with what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { _ = l.Close(); <-done })
	return l.Addr().String()
}

func roundTrip(c net.Conn, msg string, timeout time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	n, err := io.ReadFull(c, buf)
	return string(buf[:n]), err
}

func TestProxyFaults(t *testing.T) {
	p := testkit.NewProxy(t, echoServer(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "one", 5*time.Second); err != nil || got != "one" {
		t.Fatalf("pass: %q %v", got, err)
	}

	// A blackhole holds the bytes; healing lets them through.
	p.Cut(testkit.Blackhole)
	if _, err := roundTrip(c, "two", 100*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blackhole: %v, want a timeout", err)
	}
	p.Heal()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "two" {
		t.Fatalf("after heal: %q %v", buf, err)
	}

	// A reset closes open connections and new ones.
	p.Cut(testkit.Reset)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); err == nil {
		t.Fatal("read after reset succeeded")
	}
	if c2, err := net.Dial("tcp", p.Addr()); err == nil {
		if _, err := roundTrip(c2, "x", 5*time.Second); err == nil {
			t.Fatal("new connection during reset carried bytes")
		}
		_ = c2.Close()
	}
	p.Heal()
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := roundTrip(c3, "three", 5*time.Second); err != nil || got != "three" {
		t.Fatalf("after reset healed: %q %v", got, err)
	}
	// A stall holds open connections but lets new ones through.
	p.Cut(testkit.Stall)
	if _, err := roundTrip(c3, "four", 100*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("stall, old connection: %v, want a timeout", err)
	}
	c4, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Close()
	if got, err := roundTrip(c4, "five", 5*time.Second); err != nil || got != "five" {
		t.Fatalf("stall, new connection: %q %v", got, err)
	}
	p.Heal()
	_ = c3.SetDeadline(time.Now().Add(5 * time.Second))
	buf = make([]byte, 4)
	if _, err := io.ReadFull(c3, buf); err != nil || string(buf) != "four" {
		t.Fatalf("after stall healed: %q %v", buf, err)
	}
	if testkit.Stall.String() != "stall" || testkit.Reset.String() != "reset" || testkit.Blackhole.String() != "blackhole" || testkit.Pass.String() != "pass" {
		t.Fatal("Fault.String")
	}
}

// A LogBuffer with Max keeps the last Max bytes and says what it trimmed.
func TestLogBufferMax(t *testing.T) {
	b := &testkit.LogBuffer{Max: 8}
	_, _ = b.Write([]byte("0123456789"))
	_, _ = b.Write([]byte("ab"))
	if got, want := b.String(), "(4 bytes trimmed)\n456789ab"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	e := &testkit.LogBuffer{Max: 12}
	_, _ = e.Write([]byte(`{"a":1}` + "\n" + `{"b":2}` + "\n"))
	if ev := e.Events(t); len(ev) != 1 || ev[0]["b"] != float64(2) {
		t.Errorf("Events() after a trim = %v, want the whole line left", ev)
	}
}

// A child prints lines the test reads in order, stops when its stdin
// closes, and Kill ends one that does not.
func TestChild(t *testing.T) {
	lines := make(chan string, 10)
	c := testkit.StartChild(t, "cat", exec.Command("sh", "-c", "echo ready; echo err >&2; cat"), func(l string) { lines <- l })
	if got := testkit.AwaitReady(t, c, lines, 10*time.Second); got != "ready" {
		t.Fatalf("first line %q", got)
	}
	if _, err := io.WriteString(c.Stdin, "echo\n"); err != nil {
		t.Fatal(err)
	}
	if got := <-lines; got != "echo" {
		t.Fatalf("echoed %q", got)
	}
	if !c.Stop(10 * time.Second) {
		t.Fatal("cat did not stop when its stdin closed")
	}
	if c.ExitCode() != 0 || c.Killed() {
		t.Errorf("exit code %d, killed %v", c.ExitCode(), c.Killed())
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(c.Log.String(), "err") {
			return fmt.Errorf("stderr %q", c.Log.String())
		}
		return nil
	})
	s := testkit.StartChild(t, "sleep", exec.Command("sleep", "60"), nil)
	s.Kill()
	if !s.Killed() || s.ExitCode() != -1 {
		t.Errorf("after Kill: killed %v, exit code %d", s.Killed(), s.ExitCode())
	}
}

func TestList(t *testing.T) {
	var l testkit.List[int]
	if got := l.All(); len(got) != 0 {
		t.Fatalf("zero list holds %v", got)
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 100 {
				l.Add(g*100 + i)
			}
		}()
	}
	for range 4 {
		<-done
	}
	all := l.All()
	if len(all) != 400 {
		t.Fatalf("%d items, want 400", len(all))
	}
	all[0] = -1 // a copy: the list does not change
	if taken := l.Take(); len(taken) != 400 || taken[0] == -1 {
		t.Fatalf("take: %d items, first %d", len(taken), taken[0])
	}
	if rest := l.All(); len(rest) != 0 {
		t.Fatalf("after take: %v", rest)
	}
}

package memnet

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

// pipe listens at b and dials it from a, returning both ends.
func pipe(t *testing.T, n *Network, a, b string) (*Stream, Server) {
	t.Helper()
	got := make(chan *Stream, 1)
	if _, stop, err := n.Listen(b, func(s *Stream) { got <- s }); err != nil {
		t.Fatal(err)
	} else {
		t.Cleanup(stop)
	}
	s, err := n.Dial(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, (<-got).Server()
}

func send(t *testing.T, s *Stream, v string) {
	t.Helper()
	b := []byte(v)
	if err := s.SendMsg(&b); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, s Server) string {
	t.Helper()
	var b []byte
	if err := s.RecvMsg(&b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestListenAndDial(t *testing.T) {
	n := New()
	bound, stop, err := n.Listen("h:0", func(*Stream) {})
	if err != nil || bound != "h:1" {
		t.Fatalf("listen h:0: %q %v", bound, err)
	}
	if _, _, err := n.Listen(bound, func(*Stream) {}); err == nil {
		t.Fatal("listened twice at one address")
	}
	for _, bad := range []string{"", "h", ":1", "h:x", "h:70000"} {
		if _, _, err := n.Listen(bad, func(*Stream) {}); err == nil {
			t.Errorf("listen %q: no error", bad)
		}
	}
	stop()
	if _, err := n.Dial(context.Background(), "a:1", bound); !errors.Is(err, ErrRefused) {
		t.Fatalf("dial after stop: %v, want ErrRefused", err)
	}
}

func TestCutHoldsThenHeals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		s, srv := pipe(t, n, "a:1", "b:1")
		n.Cut("a:1", "b:1")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if _, err := n.Dial(ctx, "a:1", "b:1"); !errors.Is(err, ErrCut) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("dial across a cut: %v, want ErrCut at its deadline", err)
		}
		if took := time.Since(start); took != time.Second {
			t.Fatalf("dial across a cut failed after %v of fake time, want its whole timeout (a blackhole)", took)
		}
		got := make(chan string, 3)
		go func() {
			for range 3 {
				got <- recv(t, srv)
			}
		}()
		for i := range 3 {
			send(t, s, strconv.Itoa(i))
		}
		synctest.Wait()
		if len(got) != 0 {
			t.Fatal("a packet crossed a cut")
		}
		n.Heal("a:1", "b:1")
		for i := range 3 {
			if v := <-got; v != strconv.Itoa(i) {
				t.Fatalf("packet %d is %s", i, v)
			}
		}
	})
}

func TestDelayInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		s, srv := pipe(t, n, "a:1", "b:1")
		n.Delay("a:1", "b:1", time.Second)
		start := time.Now()
		send(t, s, "slow")
		n.Delay("a:1", "b:1", 0)
		send(t, s, "fast")
		if v := recv(t, srv); v != "slow" || time.Since(start) != time.Second {
			t.Fatalf("got %s after %v", v, time.Since(start))
		}
		if v := recv(t, srv); v != "fast" {
			t.Fatalf("got %s, want fast", v)
		}
	})
}

func TestOneWayCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		ab, atB := pipe(t, n, "a:1", "b:1")
		ba, atA := pipe(t, n, "b:1", "a:1")
		n.CutOneWay("a:1", "b:1")
		send(t, ba, "b to a")
		if v := recv(t, atA); v != "b to a" {
			t.Fatalf("got %s", v)
		}
		send(t, ab, "a to b")
		done := make(chan string, 1)
		go func() { done <- recv(t, atB) }()
		synctest.Wait()
		if len(done) != 0 {
			t.Fatal("a packet crossed a one-way cut")
		}
		n.HealAll()
		if v := <-done; v != "a to b" {
			t.Fatalf("got %s", v)
		}
	})
}

func TestCloseAndFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		s, srv := pipe(t, n, "a:1", "b:1")
		send(t, s, "last")
		_ = s.CloseSend()
		if v := recv(t, srv); v != "last" {
			t.Fatalf("got %s", v)
		}
		var b []byte
		if err := srv.RecvMsg(&b); err != io.EOF {
			t.Fatalf("read after CloseSend: %v, want EOF", err)
		}
		s.Finish()
		if err := s.RecvMsg(nil); err != io.EOF {
			t.Fatalf("dialer's read after Finish: %v, want EOF", err)
		}

		// A close across a cut is seen once healed.
		s2, srv2 := pipe(t, n, "c:1", "d:1")
		n.Cut("c:1", "d:1")
		s2.Close()
		errc := make(chan error, 1)
		go func() { errc <- srv2.RecvMsg(&b) }()
		synctest.Wait()
		if len(errc) != 0 {
			t.Fatal("a close crossed a cut")
		}
		n.Heal("c:1", "d:1")
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("read after close: %v, want ErrClosed", err)
		}
	})
}

func TestStopEndsReads(t *testing.T) {
	n := New()
	got := make(chan *Stream, 1)
	_, stop, _ := n.Listen("b:1", func(s *Stream) { got <- s })
	s, err := n.Dial(context.Background(), "a:1", "b:1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := (<-got).Server()
	n.Stall("a:1", "b:1")
	errc := make(chan error, 1)
	go func() {
		var b []byte
		errc <- srv.RecvMsg(&b)
	}()
	stop()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("read after stop: %v, want ErrClosed", err)
	}
}

// TestResetClosesBothEnds: a reset fails the reads and writes of both ends
// of the streams between two addresses at once, even with what they held
// under a cut, and leaves other pairs' streams and later streams alone.
func TestResetClosesBothEnds(t *testing.T) {
	n := New()
	s, srv := pipe(t, n, "a:1", "b:1")
	other, otherSrv := pipe(t, n, "c:1", "b:2")
	n.Cut("a:1", "b:1")
	send(t, s, "held")
	n.Reset("a:1", "b:1")
	var b []byte
	if err := srv.RecvMsg(&b); !errors.Is(err, ErrClosed) {
		t.Fatalf("listener's read after a reset: %q %v, want ErrClosed", b, err)
	}
	if err := s.RecvMsg(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("dialer's read after a reset: %v, want ErrClosed", err)
	}
	if err := s.SendMsg(&b); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after a reset: %v, want ErrClosed", err)
	}
	send(t, other, "still")
	if got := recv(t, otherSrv); got != "still" {
		t.Fatalf("other pair got %q", got)
	}
	n.Heal("a:1", "b:1")
	s2, srv2 := pipe(t, n, "a:1", "b:3")
	send(t, s2, "new")
	if got := recv(t, srv2); got != "new" {
		t.Fatalf("new stream got %q", got)
	}
}

// TestDialWaitsForTheHeal: a dial into a cut waits, as a TCP dial into a
// blackhole does, and connects once the cut heals within its timeout.
func TestDialWaitsForTheHeal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		var accepted []*Stream
		_, stop, err := n.Listen("b:1", func(s *Stream) { accepted = append(accepted, s) })
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		n.Cut("a:1", "b:1")
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := n.Dial(ctx, "a:1", "b:1")
			if err == nil {
				s.Close()
			}
			done <- err
		}()
		time.Sleep(10 * time.Second) // fake time: the dial is still waiting
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("dial across a cut returned %v before the heal", err)
		default:
		}
		n.Heal("a:1", "b:1")
		if err := <-done; err != nil {
			t.Fatalf("dial after the heal: %v", err)
		}
		if len(accepted) != 1 {
			t.Fatalf("%d streams accepted, want 1", len(accepted))
		}
	})
}

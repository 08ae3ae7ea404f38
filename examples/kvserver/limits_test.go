package main

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// readAll returns what the server sends until it closes the connection.
func (c *client) readAll() (string, error) {
	b, err := io.ReadAll(c.r)
	return string(b), err
}

// Past -max-conns a client gets one ERROR line and is closed; when a
// client leaves, its place is free for a new one.
func TestMaxConns(t *testing.T) {
	cfg := testConfig
	cfg.MaxConns = 2
	s := startServerWith(t, cfg, kv.Config{})
	a, b := s.dial(t), s.dial(t)
	a.expect("CREATE x", "OK")
	b.expect("CREATE y", "OK")
	extra := s.dial(t)
	got, err := extra.readAll()
	if err != nil || got != "ERROR too many connections (at most 2); try again later\n" {
		t.Fatalf("third client got %q, %v; want the refusal and EOF", got, err)
	}
	a.expect("GET x k", `ERROR no key "k"`) // the served clients go on
	_ = b.conn.Close()
	testkit.Eventually(t, 10*time.Second, func() error {
		c := s.dial(t)
		got, err := c.do("GET x k")
		_ = c.conn.Close()
		if err != nil || !strings.HasPrefix(got, `ERROR no key "k"`) {
			return fmt.Errorf("new client got %q, %v", got, err)
		}
		return nil
	})
}

// A client that sends nothing, or only part of a line, for -idle-timeout
// is told so and closed; an active client is not.
func TestIdleTimeout(t *testing.T) {
	cfg := testConfig
	cfg.IdleTimeout = time.Second
	s := startServerWith(t, cfg, kv.Config{})
	idle := s.dial(t)
	idle.expect("CREATE x", "OK")
	half := s.dial(t)
	if _, err := io.WriteString(half.conn, "GET x"); err != nil {
		t.Fatal(err)
	}
	silent := s.dial(t)
	for name, c := range map[string]*client{"idle": idle, "half a line": half, "silent": silent} {
		got, err := c.readAll()
		if err != nil || got != "ERROR idle timeout (no request for 1s); closing\n" {
			t.Errorf("%s client got %q, %v; want the idle timeout line and EOF", name, got, err)
		}
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := connections(t, s.node); n != 0 {
			return fmt.Errorf("%d connection processes, want 0", n)
		}
		return nil
	})
	// A client that keeps talking is served past the timeout.
	active := s.dial(t)
	deadline := time.Now().Add(3 * cfg.IdleTimeout)
	for time.Now().Before(deadline) {
		active.expect("GET x k", `ERROR no key "k"`)
	}
}

// A client that never reads its replies is closed once a write has been
// blocked for -write-timeout, and its process ends.
func TestWriteTimeout(t *testing.T) {
	cfg := testConfig
	cfg.WriteTimeout = 200 * time.Millisecond
	s := startServerWith(t, cfg, kv.Config{})
	c := s.dial(t)
	c.expect("CREATE x", "OK")
	c.expect("PUT x k "+strings.Repeat("v", MaxLine-16), "OK")
	// Send GETs of a large value without reading the replies, until the
	// server's replies have filled both socket buffers and it gives up.
	get := []byte("GET x k\n")
	var err error
	for err == nil {
		_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err = c.conn.Write(get)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		if n := connections(t, s.node); n != 0 {
			return fmt.Errorf("%d connection processes, want 0", n)
		}
		return nil
	})
}

// blockingHandler blocks on every event until release is closed.
type blockingHandler struct {
	entered chan struct{}
	release chan struct{}
}

func (h blockingHandler) HandleEvent(kv.Event) error {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-h.release
	return nil
}

// An event handler far slower than the call timeout stalls no client:
// every one gets its answers.
func TestSlowEventHandler(t *testing.T) {
	cfg := testConfig
	cfg.CallTimeout = 2 * time.Second // the handler blocks for ever
	s := startServerWith(t, cfg, kv.Config{})
	pid, ok := s.node.WhereIs(kv.EventsName)
	if !ok {
		t.Fatal("no kv event manager")
	}
	h := blockingHandler{entered: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(func() { close(h.release) })
	if err := behaviour.EventManagerOf[kv.Event](pid).AddHandler(ctxT(t), "slow", h); err != nil {
		t.Fatal(err)
	}
	const clients = 10
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := s.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			bucket := fmt.Sprintf("b%d", i)
			for _, step := range []struct{ line, want string }{
				{"CREATE " + bucket, "OK"},
				{"PUT " + bucket + " k v", "OK"},
				{"GET " + bucket + " k", "v"},
				{"DROP " + bucket, "OK"},
			} {
				if got, err := c.do(step.line); err != nil || got != step.want {
					errs <- fmt.Errorf("client %d: %q -> %q, %v; want %q", i, step.line, got, err, step.want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	<-h.entered // the handler did get (and is stuck on) an event
}

// silentServer is a GenServer that never answers a call.
type silentServer struct{}

func (silentServer) Init(*actor.Context) (struct{}, error) { return struct{}{}, nil }

func (silentServer) HandleCall(_ *actor.Context, _ behaviour.From, _ any, s struct{}) behaviour.Result[struct{}] {
	return behaviour.NoReply(s)
}

// A command whose registry does not answer within the call timeout gets
// "ERROR timeout", and the connection goes on serving.
func TestCallTimeoutKeepsServing(t *testing.T) {
	cfg := testConfig
	cfg.CallTimeout = time.Second
	s := startServerWith(t, cfg, kv.Config{})
	ctx := ctxT(t)
	c := s.dial(t)
	c.expect("CREATE x", "OK")
	// Put a registry that never answers in the real one's place.
	sup, _ := s.node.WhereIs(kv.SupervisorName)
	if err := supervision.TerminateChild(ctx, sup, "registry"); err != nil {
		t.Fatal(err)
	}
	silent, err := behaviour.Start[struct{}](s.node, silentServer{}, behaviour.WithName(kv.RegistryName))
	if err != nil {
		t.Fatal(err)
	}
	c.expect("GET x k", "ERROR timeout (kv registry did not answer within 1s)")
	c.expect("CREATE y", "ERROR timeout (kv registry did not answer within 1s)")
	if err := behaviour.StopServer(ctx, s.node, silent, actor.Normal); err != nil {
		t.Fatal(err)
	}
	if _, err := supervision.RestartChild(ctx, sup, "registry"); err != nil {
		t.Fatal(err)
	}
	// The same connection is served again (by a registry with no buckets;
	// under load a first answer may still be a timeout).
	testkit.Eventually(t, 20*time.Second, func() error {
		if got, err := c.do("CREATE y"); err != nil || got != "OK" {
			return fmt.Errorf("CREATE y -> %q, %v", got, err)
		}
		return nil
	})
	c.expect("PUT y k v", "OK")
	c.expect("GET y k", "v")
}

// A last line without a newline, then the client's half-close: the line is
// answered, then the server closes.
func TestLastLineWithoutNewline(t *testing.T) {
	s := startServer(t)
	c := s.dial(t)
	if _, err := io.WriteString(c.conn, "CREATE x\nPUT x k v\nGET x k"); err != nil {
		t.Fatal(err)
	}
	if err := c.conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := c.readAll()
	if err != nil || got != "OK\nOK\nv\n" {
		t.Fatalf("got %q, %v; want three answers and EOF", got, err)
	}
}

// The protocol decisions: commands in any case, DELETE of a missing key and
// DROP of a missing bucket answer OK, the bucket and key caps, DROP frees a
// place.
func TestProtocolDecisions(t *testing.T) {
	s := startServerWith(t, testConfig, kv.Config{MaxBuckets: 2, MaxKeys: 1})
	c := s.dial(t)
	c.expect("create a", "OK")
	c.expect("Put a k v", "OK")
	c.expect("get a k", "v")
	c.expect("GET A k", `ERROR no bucket "A"`) // names are case-sensitive
	c.expect("delete a nothing", "OK")
	c.expect("PUT a k2 v", `ERROR bucket "a" is full; DELETE a key or DROP it first`)
	c.expect("PUT a k w", "OK") // an existing key, at the cap
	c.expect("DELETE nobucket k", `ERROR no bucket "nobucket"`)
	c.expect("CREATE b", "OK")
	c.expect("CREATE c", "ERROR too many buckets; DROP one first")
	c.expect("CREATE a", "OK") // an existing bucket, at the cap
	c.expect("DROP a", "OK")
	c.expect("GET a k", `ERROR no bucket "a"`)
	c.expect("DROP a", "OK")
	c.expect("CREATE c", "OK")
	c.expect("CREATE", "ERROR malformed CREATE: it takes 1 argument, got 0 (usage: CREATE <bucket>)")
	long := strings.Repeat("é", 40)
	c.expect("GET "+long+" k", `ERROR no bucket "`+strings.Repeat("é", 16)+`..."`)
}

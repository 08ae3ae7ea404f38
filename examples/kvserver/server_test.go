package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/rs/zerolog"
)

func TestMain(m *testing.M) {
	runChildIfAsked() // the kvserver as a child process of a test
	testkit.VerifyTestMain(m)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// server is a kvserver application running on its own node, listening on
// a free loopback port.
type server struct {
	node *actor.Node
	ctrl application.Controller
	addr string
}

// testConfig is the kvserver configuration of the tests: an ephemeral
// loopback port.
var testConfig = Config{Addr: "127.0.0.1:0"}

// loadApps starts a node with a controller that has kv (with the caps of
// kvCfg, zero for the defaults) and kvserver (serving with cfg) loaded.
func loadApps(t *testing.T, cfg Config, kvCfg kv.Config) (*actor.Node, application.Controller) {
	t.Helper()
	n := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	c, err := application.NewController(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := n.Stop(ctx); err != nil {
			t.Errorf("stop node: %v", err)
		}
	})
	ctx := ctxT(t)
	kvSpec := kv.Spec()
	kvSpec.Env[kv.EnvMaxBuckets] = kvCfg.MaxBuckets
	kvSpec.Env[kv.EnvMaxKeys] = kvCfg.MaxKeys
	for _, s := range []application.Spec{kvSpec, Spec(cfg)} {
		if err := c.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return n, c
}

func startServer(t *testing.T) *server {
	t.Helper()
	return startServerWith(t, testConfig, kv.Config{})
}

// startServerWith starts kv and kvserver as loadApps does.
func startServerWith(t *testing.T, cfg Config, kvCfg kv.Config) *server {
	t.Helper()
	n, c := loadApps(t, cfg, kvCfg)
	ctx := ctxT(t)
	started, err := c.EnsureAllStarted(ctx, Name, application.Permanent)
	if err != nil || !slices.Equal(started, []string{kv.Name, Name}) {
		t.Fatalf("EnsureAllStarted(kvserver) = %v, %v; want [kv kvserver]", started, err)
	}
	addr, err := ListenAddr(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return &server{node: n, ctrl: c, addr: addr}
}

// client is a test TCP client.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func (s *server) dial(t testing.TB) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// do sends a line and returns the reply line, or an error.
func (c *client) do(line string) (string, error) {
	if _, err := io.WriteString(c.conn, line+"\n"); err != nil {
		return "", err
	}
	reply, err := c.r.ReadString('\n')
	return strings.TrimRight(reply, "\r\n"), err
}

// expect sends a line and checks the reply (a prefix, for ERROR lines).
func (c *client) expect(line, want string) {
	c.t.Helper()
	got, err := c.do(line)
	if err != nil {
		c.t.Fatalf("%q: %v", line, err)
	}
	if got != want && !(strings.HasPrefix(want, "ERROR") && strings.HasPrefix(got, want)) {
		c.t.Fatalf("%q -> %q, want %q", line, got, want)
	}
}

func TestStartWithoutKVIsNotStarted(t *testing.T) {
	_, c := loadApps(t, testConfig, kv.Config{})
	err := c.Start(ctxT(t), Name, application.Permanent)
	var ns *application.NotStartedError
	if !errors.As(err, &ns) || ns.App != Name || ns.Missing != kv.Name {
		t.Fatalf("Start(kvserver) without kv = %v, want not_started naming kv", err)
	}
}

func TestSession(t *testing.T) {
	s := startServer(t)
	c := s.dial(t)
	c.expect("CREATE shopping", "OK")
	c.expect("PUT shopping milk 3", "OK")
	c.expect("PUT shopping eggs 12", "OK")
	c.expect("GET shopping milk", "3")
	c.expect("GET shopping eggs", "12")
	c.expect("DELETE shopping milk", "OK")
	c.expect("GET shopping milk", `ERROR no key "milk" in bucket "shopping"`)
	c.expect("GET groceries milk", `ERROR no bucket "groceries"`)
	c.expect("PUT groceries milk 1", `ERROR no bucket "groceries"`)
	c.expect("HELLO", `ERROR unknown command "HELLO"`)
	c.expect("PUT shopping milk", "ERROR malformed PUT")
	c.expect("", "ERROR empty line")
	// Another client sees the same buckets.
	other := s.dial(t)
	other.expect("GET shopping eggs", "12")
}

func TestHundredConcurrentClients(t *testing.T) {
	s := startServer(t)
	const clients, keys = 100, 10
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := s.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			bucket := fmt.Sprintf("bucket%d", i)
			check := func(line, want string) bool {
				got, err := c.do(line)
				if err != nil || got != want {
					errs <- fmt.Errorf("client %d: %q -> %q, %v; want %q", i, line, got, err, want)
					return false
				}
				return true
			}
			if !check("CREATE "+bucket, "OK") {
				return
			}
			for k := range keys {
				if !check(fmt.Sprintf("PUT %s k%d %d-%d", bucket, k, i, k), "OK") {
					return
				}
			}
			for k := range keys {
				if !check(fmt.Sprintf("GET %s k%d", bucket, k), fmt.Sprintf("%d-%d", i, k)) {
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
	reg, err := kv.FindRegistry(s.node)
	if err != nil {
		t.Fatal(err)
	}
	names, err := reg.Names(ctxT(t))
	if err != nil || len(names) != clients {
		t.Errorf("%d buckets, %v; want %d", len(names), err, clients)
	}
}

func TestGarbageAndOverlongLines(t *testing.T) {
	s := startServer(t)
	good := s.dial(t)
	good.expect("CREATE safe", "OK")
	bad := s.dial(t)
	bad.expect("\x00\x01\x02\xff\xfe binary", "ERROR unknown command")
	bad.expect("PUT", "ERROR malformed PUT")
	bad.expect(strings.Repeat("A", 1<<20), "ERROR line too long")
	good.expect("PUT safe k v", "OK")
	bad.expect("PUT safe "+strings.Repeat("k", MaxLine)+" v", "ERROR line too long")
	// The bad client's connection still works after its errors.
	bad.expect("GET safe k", "v")
	good.expect("GET safe k", "v")
}

// connections returns the number of connection processes.
func connections(t *testing.T, n *actor.Node) int {
	t.Helper()
	pid, ok := n.WhereIs(ConnectionsName)
	if !ok {
		t.Fatal("no connections supervisor")
	}
	cnt, err := supervision.CountChildren(ctxT(t), pid)
	if err != nil {
		t.Fatal(err)
	}
	return cnt.Active
}

func TestClientKilledMidLine(t *testing.T) {
	s := startServer(t)
	other := s.dial(t)
	other.expect("CREATE b", "OK")
	victim := s.dial(t)
	victim.expect("CREATE v", "OK")
	if n := connections(t, s.node); n != 2 {
		t.Fatalf("%d connection processes, want 2", n)
	}
	if _, err := io.WriteString(victim.conn, "PUT b half"); err != nil {
		t.Fatal(err)
	}
	// Reset the connection abruptly, as a killed client's kernel would.
	if err := victim.conn.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	_ = victim.conn.Close()
	testkit.Eventually(t, 5*time.Second, func() error {
		if n := connections(t, s.node); n != 1 {
			return fmt.Errorf("%d connection processes, want 1", n)
		}
		return nil
	})
	other.expect("GET b half", `ERROR no key "half"`)
	other.expect("PUT b k 1", "OK")
	other.expect("GET b k", "1")
	s.dial(t).expect("GET b k", "1")
}

// A connection process that crashes takes only its own client with it.
func TestCrashingConnectionIsolated(t *testing.T) {
	s := startServer(t)
	a, b := s.dial(t), s.dial(t)
	a.expect("CREATE x", "OK")
	b.expect("CREATE y", "OK")
	pid, _ := s.node.WhereIs(ConnectionsName)
	kids, err := supervision.WhichChildren(ctxT(t), pid)
	if err != nil || len(kids) != 2 {
		t.Fatalf("connection processes %v, %v", kids, err)
	}
	// Kill one connection process (a trapping GenServer: Kill is the one
	// signal it cannot handle); find which client survived.
	if err := s.node.Kill(kids[0].PID); err != nil {
		t.Fatal(err)
	}
	_, errA := a.do("GET x k")
	_, errB := b.do("GET y k")
	if (errA == nil) == (errB == nil) {
		t.Fatalf("after one crash: client a %v, client b %v; want exactly one cut off", errA, errB)
	}
	survivor := a
	if errA != nil {
		survivor = b
	}
	survivor.expect("PUT x k 1", "OK")
	survivor.expect("GET x k", "1")
	s.dial(t).expect("GET x k", "1")
	if apps := runningApps(t, s.ctrl); !slices.Equal(apps, []string{kv.Name, Name}) {
		t.Errorf("running %v", apps)
	}
}

func runningApps(t *testing.T, c application.Controller) []string {
	t.Helper()
	list, err := c.WhichApplications(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
	}
	return names
}

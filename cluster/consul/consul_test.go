package consul_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/consul"
	"github.com/arbor-otp/arbor/internal/testkit"
)

const childEnv = "ARBOR_CONSUL_TEST_CHILD"

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		runChild(name)
		os.Exit(0)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(testkit.GoleakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// heartbeatTimeout is the nodes' heartbeat timeout, the default one. A
// node whose process a loaded machine does not run for that long is
// declared down by its peers (it is silent), which ends sessions in the
// middle of the test's steps: 600 ms was not enough on a loaded 2-core
// machine (the test's process went unscheduled for 0.7 s, then 2 s; b
// timed it out, and a saw its session with b end with ErrConnectionLost
// or ErrSessionReset).
const heartbeatTimeout = cluster.DefaultHeartbeatTimeout

func nodeOptions(consulAddr string, log zerolog.Logger) []cluster.Option {
	return []cluster.Option{
		cluster.WithLogger(log),
		cluster.WithHeartbeat(100*time.Millisecond, heartbeatTimeout),
		cluster.WithReconnectInterval(100 * time.Millisecond),
		cluster.WithProvider(consul.New(consul.WithAddress(consulAddr), consul.WithService("arbor-test"),
			consul.WithTTL(time.Second), consul.WithWaitTime(time.Second), consul.WithLogger(log))),
	}
}

// runChild is a node in a child process: it joins through Consul, listens
// on CHILD_LISTEN (a free port if unset), registers "echo" and stops when
// stdin closes. echo answers a call with its request, except for:
//   - "spawn": spawn a worker (which answers calls the same way) and
//     reply with its PID (cluster.MarshalPID);
//   - "ups", "downs": reply with the nodes this node got NodeUp or
//     NodeDown for, comma-separated, in order (ups starts with the nodes
//     already up when it began to monitor them).
func runChild(name string) {
	ctx := context.Background()
	opts := nodeOptions(os.Getenv("CONSUL_ADDR"), testLog(name))
	if l := os.Getenv("CHILD_LISTEN"); l != "" {
		opts = append(opts, cluster.WithListenAddr(l))
	}
	c, err := cluster.Start(ctx, name, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(2)
	}
	var (
		mu         sync.Mutex
		ups, downs []string
	)
	events, err := c.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		mu.Lock()
		defer mu.Unlock()
		switch e := msg.(type) {
		case cluster.NodeUp:
			ups = append(ups, e.Node)
		case cluster.NodeDown:
			downs = append(downs, e.Node)
		}
		return nil
	}))
	if err == nil {
		err = c.MonitorNodes(events, true)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "node events:", err)
		os.Exit(2)
	}
	// MonitorNodes tells of what happens from now on: a session that a
	// peer opened while Start joined (through Consul) gave its NodeUp
	// before it. Those nodes count as seen up too.
	mu.Lock()
	for _, n := range c.Nodes() {
		if !slices.Contains(ups, n) {
			ups = append(ups, n)
		}
	}
	mu.Unlock()
	var echo actor.ReceiverFunc
	echo = func(ctx *actor.Context, msg any) error {
		r, ok := msg.(*actor.Request)
		if !ok {
			return nil
		}
		cmd, _ := r.Message().(*wrapperspb.StringValue)
		switch cmd.GetValue() {
		case "spawn":
			pid, err := ctx.Spawn(echo)
			if err != nil {
				return err
			}
			r.Reply(wrapperspb.Bytes(cluster.MarshalPID(pid)))
		case "ups", "downs":
			mu.Lock()
			list := ups
			if cmd.GetValue() == "downs" {
				list = downs
			}
			r.Reply(wrapperspb.String(strings.Join(list, ",")))
			mu.Unlock()
		default:
			r.Reply(r.Message())
		}
		return nil
	}
	_, _ = c.Node().Spawn(echo, actor.WithName("echo"))
	fmt.Printf("READY %s\n", c.Name())
	_, _ = io.Copy(io.Discard, os.Stdin)
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := c.Stop(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
		os.Exit(1)
	}
}

type child struct {
	*testkit.Child
	name string // the node's name, from its READY line
}

func startChild(t *testing.T, name, consulAddr string, env ...string) *child {
	t.Helper()
	ready := make(chan string, 1)
	p := testkit.StartChild(t, name, testkit.ChildCommand(childEnv, name, append([]string{"CONSUL_ADDR=" + consulAddr}, env...)...),
		func(line string) {
			if n, ok := strings.CutPrefix(line, "READY "); ok {
				ready <- n
			}
		})
	return &child{Child: p, name: testkit.AwaitReady(t, p, ready, 30*time.Second)}
}

func recvEvent(t *testing.T, ib *actor.Inbox, timeout time.Duration) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := ib.Receive(ctx)
	if err != nil {
		t.Fatalf("waiting for a node event: %v", err)
	}
	return m
}

func registered(t *testing.T, addr string) []string {
	t.Helper()
	cl, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := cl.Health().Service("arbor-test", "", true, nil)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Service.ID)
	}
	slices.Sort(out)
	return out
}

// TestThreeNodesThroughConsul: this process's node and two child nodes,
// each its own OS process, find each other through a real Consul agent.
// Each sees NodeUp for the others; a remote call and a remote monitor
// work; kill -9 of a node gives NodeDown and Down{NoConnection} on the
// others; SIGSTOP of a node gives NodeDown and, after SIGCONT, it rejoins;
// a node restarted on the same address rejoins and a PID of its previous
// boot gets NoProc; and the nodes stay connected and register again when
// the agent restarts.
func TestThreeNodesThroughConsul(t *testing.T) {
	ag := testkit.StartConsulAgent(t)
	a, err := cluster.Start(context.Background(), "a", nodeOptions(ag.Addr(), testLog("a"))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	ev := newInbox(t, a.Node())
	if err := a.MonitorNodes(ev.PID(), true); err != nil {
		t.Fatal(err)
	}
	cListen := fmt.Sprintf("CHILD_LISTEN=127.0.0.1:%d", testkit.FreePort(t))
	b := startChild(t, "b", ag.Addr())
	c := startChild(t, "c", ag.Addr(), cListen)

	// Everyone sees everyone.
	up := map[string]bool{}
	for len(up) < 2 {
		up[expectNodeEvent[cluster.NodeUp](t, ev, 15*time.Second).Node] = true
	}
	if !up[b.name] || !up[c.name] {
		t.Fatalf("NodeUp for %v, want %s and %s", up, b.name, c.name)
	}
	for _, x := range []struct{ self, other *child }{{b, c}, {c, b}} {
		testkit.Eventually(t, 10*time.Second, func() error {
			got := strings.Split(callString(t, a, x.self.name, "ups"), ",")
			if !slices.Contains(got, a.Name()) || !slices.Contains(got, x.other.name) {
				return fmt.Errorf("%s saw NodeUp for %v", x.self.name, got)
			}
			return nil
		})
	}
	want := []string{a.Name(), b.name, c.name}
	slices.Sort(want)
	testkit.Eventually(t, 10*time.Second, func() error {
		if got := registered(t, ag.Addr()); !slices.Equal(got, want) {
			return fmt.Errorf("registered %v, want %v", got, want)
		}
		return nil
	})

	// A remote call, and a remote monitor on a process of c.
	if got := callString(t, a, b.name, "hi"); got != "hi" {
		t.Fatalf("call: %q", got)
	}
	worker := spawnOn(t, a, c.name)
	mon := newInbox(t, a.Node())
	ref, err := mon.Monitor(ctxT(t), worker)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := a.Node().Call(ctxT(t), worker, wrapperspb.String("w")); err != nil || v.(*wrapperspb.StringValue).Value != "w" {
		t.Fatalf("call to c's worker: %v %v", v, err)
	}

	// kill -9 of c: NodeDown and Down{NoConnection} here within a second,
	// NodeDown on b.
	start := time.Now()
	c.Kill()
	if d := expectNodeEvent[cluster.NodeDown](t, ev, 3*time.Second); d.Node != c.name {
		t.Fatalf("NodeDown of %s, want %s", d.Node, c.name)
	}
	d := recvEvent(t, mon, 3*time.Second).(actor.Down)
	if d.Ref != ref || d.PID != worker || !errors.Is(d.Reason, actor.NoConnection) {
		t.Fatalf("got %+v, want Down{NoConnection} of %v", d, worker)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("killed node detected in %v, bound 1s", took)
	} else {
		t.Logf("killed node detected in %v", took)
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if got := strings.Split(callString(t, a, b.name, "downs"), ","); !slices.Contains(got, c.name) {
			return fmt.Errorf("b saw NodeDown for %v", got)
		}
		return nil
	})

	// SIGSTOP of b: NodeDown by heartbeat timeout within the bound; after
	// SIGCONT it rejoins.
	freeze(t, ev, b)
	b.Signal(syscall.SIGCONT)
	if u := expectNodeEvent[cluster.NodeUp](t, ev, 15*time.Second); u.Node != b.name {
		t.Fatalf("NodeUp of %s, want %s", u.Node, b.name)
	}
	if got := callString(t, a, b.name, "again"); got != "again" {
		t.Fatalf("call after SIGCONT: %q", got)
	}

	// c restarted on the same address: it rejoins, and its old PID is dead.
	c2 := startChild(t, "c", ag.Addr(), cListen)
	if c2.name != c.name {
		t.Fatalf("restarted as %s, want %s", c2.name, c.name)
	}
	if u := expectNodeEvent[cluster.NodeUp](t, ev, 15*time.Second); u.Node != c.name {
		t.Fatalf("NodeUp of %s, want %s", u.Node, c.name)
	}
	if _, err := a.Node().Call(ctxT(t), worker, wrapperspb.String("w")); !errors.Is(err, actor.NoProc) {
		t.Fatalf("call to a PID of c's previous boot: %v, want NoProc", err)
	}
	ref2, err := mon.Monitor(ctxT(t), worker)
	if err != nil {
		t.Fatal(err)
	}
	if d := recvEvent(t, mon, 5*time.Second).(actor.Down); d.Ref != ref2 || !errors.Is(d.Reason, actor.NoProc) {
		t.Fatalf("got %+v, want Down{NoProc}", d)
	}

	// Consul restarted: the nodes register again; sessions stay up.
	ag.Stop()
	ag.Start()
	testkit.Eventually(t, 20*time.Second, func() error {
		if got := registered(t, ag.Addr()); !slices.Equal(got, want) {
			return fmt.Errorf("registered %v, want %v", got, want)
		}
		return nil
	})
	if got := a.Nodes(); !slices.Contains(got, b.name) || !slices.Contains(got, c.name) {
		t.Fatalf("sessions lost across the consul restart: %v", got)
	}
	if got := callString(t, a, c.name, "after"); got != "after" {
		t.Fatalf("call after the consul restart: %q", got)
	}
}

// freeze stops child x with SIGSTOP and waits for the NodeDown on ev
// (MonitorNodes of this node) that the failure detector gives for it: by
// heartbeat timeout, within the bound. It leaves x stopped.
//
// The NodeDown checked is that of the session open once x froze. A
// session that x itself ended just before (its failure detector timed
// this node out, which a loaded machine had paused) ends with
// ErrConnectionLost here (ErrSessionReset if x's Hello came first): a
// stopped node does nothing, and this node's TCP streams to it stay open. The session x opened again before it froze
// (NodeUp) is the one checked; if it froze before that, it is resumed and
// frozen again.
func freeze(t *testing.T, ev *actor.Inbox, x *child) {
	t.Helper()
	const tries = 3
	bound := 3 * heartbeatTimeout
	for try := 1; ; try++ {
		start := time.Now()
		x.Signal(syscall.SIGSTOP)
		var ended error // the reason of a session x ended before it froze
		for {
			wait := bound + 10*time.Second
			if ended != nil {
				wait = 3 * heartbeatTimeout // for the NodeUp of a session x opened before it froze
			}
			m, ok := nextEvent(ev, wait)
			if !ok && ended != nil {
				break // x froze before it opened a session again
			}
			if !ok {
				t.Fatalf("no NodeDown of frozen %s within %v", x.name, wait)
			}
			switch e := m.(type) {
			case cluster.NodeUp:
				if e.Node != x.name || ended == nil {
					t.Fatalf("got %+v while %s is frozen", e, x.name)
				}
				ended = nil
				continue
			case cluster.NodeDown:
				if e.Node != x.name {
					t.Fatalf("got %+v, want NodeDown of %s", e, x.name)
				}
				if !errors.Is(e.Reason, cluster.ErrHeartbeatTimeout) {
					if ended != nil || !(errors.Is(e.Reason, cluster.ErrConnectionLost) || errors.Is(e.Reason, cluster.ErrSessionReset)) {
						t.Fatalf("got %+v, want NodeDown of %s by heartbeat timeout", e, x.name)
					}
					t.Logf("the session with %s ended before it froze: %v", x.name, e.Reason)
					ended = e.Reason
					continue
				}
			default:
				t.Fatalf("got %+v, want a node event", m)
			}
			if took := time.Since(start); took > bound {
				t.Errorf("frozen node detected in %v, bound %v", took, bound)
			} else {
				t.Logf("frozen node detected in %v", took)
			}
			return
		}
		if try == tries {
			t.Fatalf("%s's session ended before it froze, %d times", x.name, tries)
		}
		x.Signal(syscall.SIGCONT)
		if u := expectNodeEvent[cluster.NodeUp](t, ev, 15*time.Second); u.Node != x.name {
			t.Fatalf("NodeUp of %s, want %s", u.Node, x.name)
		}
	}
}

// nextEvent is the next message of ib, false if none came within timeout.
func nextEvent(ib *actor.Inbox, timeout time.Duration) (any, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := ib.Receive(ctx)
	return m, err == nil
}

func newInbox(t *testing.T, n *actor.Node) *actor.Inbox {
	t.Helper()
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ib.Close)
	return ib
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// expectNodeEvent waits for the next node event and asserts its type.
func expectNodeEvent[E cluster.NodeUp | cluster.NodeDown](t *testing.T, ib *actor.Inbox, timeout time.Duration) E {
	t.Helper()
	m := recvEvent(t, ib, timeout)
	e, ok := m.(E)
	if !ok {
		t.Fatalf("got %+v, want a %T", m, e)
	}
	return e
}

// callString calls echo on node with a string and returns the answer.
func callString(t *testing.T, a *cluster.Cluster, node, s string) string {
	t.Helper()
	v, err := a.CallNamed(ctxT(t), node, "echo", wrapperspb.String(s))
	if err != nil {
		t.Fatalf("call %q on %s: %v", s, node, err)
	}
	return v.(*wrapperspb.StringValue).GetValue()
}

// spawnOn asks echo on node to spawn a worker and returns its PID.
func spawnOn(t *testing.T, a *cluster.Cluster, node string) actor.PID {
	t.Helper()
	v, err := a.CallNamed(ctxT(t), node, "echo", wrapperspb.String("spawn"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).GetValue())
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// testLog is the logger of node name: none, unless ARBOR_CONSUL_TEST_LOG
// is set, then every node logs to stderr from level info (to see how a
// failed run's sessions went).
func testLog(name string) zerolog.Logger {
	if os.Getenv("ARBOR_CONSUL_TEST_LOG") == "" {
		return zerolog.New(io.Discard)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(os.Stderr).With().Timestamp().Str("n", name).Logger().Level(zerolog.InfoLevel)
}

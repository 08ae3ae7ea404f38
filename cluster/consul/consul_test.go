package consul_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
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

func nodeOptions(consulAddr string, log zerolog.Logger) []cluster.Option {
	return []cluster.Option{
		cluster.WithLogger(log),
		cluster.WithHeartbeat(100*time.Millisecond, 600*time.Millisecond),
		cluster.WithReconnectInterval(100 * time.Millisecond),
		cluster.WithProvider(consul.New(consul.WithAddress(consulAddr), consul.WithService("arbor-test"),
			consul.WithTTL(time.Second), consul.WithWaitTime(time.Second), consul.WithLogger(log))),
	}
}

// runChild is a node in a child process: it joins through Consul, answers
// calls to "echo" and stops when stdin closes.
func runChild(name string) {
	ctx := context.Background()
	c, err := cluster.Start(ctx, name, nodeOptions(os.Getenv("CONSUL_ADDR"), zerolog.New(io.Discard))...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(2)
	}
	_, _ = c.Node().Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(r.Message())
		}
		return nil
	}), actor.WithName("echo"))
	fmt.Printf("READY %s\n", c.Name())
	_, _ = io.Copy(io.Discard, os.Stdin)
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_ = c.Stop(sctx)
}

type child struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	name string
	done chan struct{}
}

func startChild(t *testing.T, name, consulAddr string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, "CONSUL_ADDR="+consulAddr)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, in: in, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- n
			}
		}
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = in.Close()
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-c.done
		}
	})
	select {
	case c.name = <-ready:
	case <-c.done:
		t.Fatalf("child %s exited early", name)
	case <-time.After(30 * time.Second):
		t.Fatalf("child %s not ready", name)
	}
	return c
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

// TestThreeNodesThroughConsul: this process's node and two child nodes find
// each other through a real Consul agent, call each other, see a killed
// node go down, and survive a restart of the agent.
func TestThreeNodesThroughConsul(t *testing.T) {
	ag := startAgent(t)
	a, err := cluster.Start(context.Background(), "a", nodeOptions(ag.addr(), zerolog.New(io.Discard))...)
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
	ev, _ := a.Node().NewInbox()
	if err := a.MonitorNodes(ev.PID(), true); err != nil {
		t.Fatal(err)
	}
	b := startChild(t, "b", ag.addr())
	c := startChild(t, "c", ag.addr())
	up := map[string]bool{}
	for len(up) < 2 {
		e, ok := recvEvent(t, ev, 15*time.Second).(cluster.NodeUp)
		if !ok {
			t.Fatalf("got %+v, want NodeUp", e)
		}
		up[e.Node] = true
	}
	if !up[b.name] || !up[c.name] {
		t.Fatalf("NodeUp for %v, want %s and %s", up, b.name, c.name)
	}
	want := []string{a.Name(), b.name, c.name}
	slices.Sort(want)
	testkit.Eventually(t, 10*time.Second, func() error {
		if got := registered(t, ag.addr()); !slices.Equal(got, want) {
			return fmt.Errorf("registered %v, want %v", got, want)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := a.CallNamed(ctx, b.name, "echo", wrapperspb.String("hi"))
	if err != nil || v.(*wrapperspb.StringValue).Value != "hi" {
		t.Fatalf("call: %v %v", v, err)
	}

	// kill -9 of c.
	start := time.Now()
	_ = c.cmd.Process.Kill()
	d, ok := recvEvent(t, ev, 3*time.Second).(cluster.NodeDown)
	if !ok || d.Node != c.name {
		t.Fatalf("got %+v, want NodeDown of %s", d, c.name)
	}
	t.Logf("killed node detected in %v", time.Since(start))

	// Consul restarted: the nodes register again; sessions stay up.
	ag.stop()
	ag.start()
	want = []string{a.Name(), b.name}
	slices.Sort(want)
	testkit.Eventually(t, 20*time.Second, func() error {
		if got := registered(t, ag.addr()); !slices.Equal(got, want) {
			return fmt.Errorf("registered %v, want %v", got, want)
		}
		return nil
	})
	if !slices.Contains(a.Nodes(), b.name) {
		t.Fatalf("b lost across the consul restart: %v", a.Nodes())
	}
	ev.Close()
}

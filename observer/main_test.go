package observer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/sys"
)

// peerEnv makes the test binary run a cluster node that joins the node
// named in it, instead of the tests (TestClusterView, TestRemoteNode,
// TestBrowser).
const peerEnv = "OBSERVER_TEST_PEER_OF"

// peerName is the name the peer registers one of its processes under, in
// its registry scope "web".
const peerName = "peer/registry"

func TestMain(m *testing.M) {
	if parent := os.Getenv(peerEnv); parent != "" {
		os.Exit(runPeer(parent))
	}
	code := m.Run()
	stopClusterNode()
	if code == 0 {
		if err := goleak.Find(testkit.GoleakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// The test process's cluster node, started once and shared by the tests
// that need one: protoactor's remote writes gRPC's process-wide logger
// whenever a node starts, which races with the gRPC goroutines of a node
// started before it.
var (
	clusterOnce   sync.Once
	sharedCluster *cluster.Cluster
	clusterErr    error
)

// clusterNode returns the test process's cluster node, serving remote sys.
func clusterNode(t *testing.T) *cluster.Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		sharedCluster, clusterErr = cluster.Start(context.Background(), "obs",
			cluster.WithListenAddr("127.0.0.1:0"),
			cluster.WithLogger(zerolog.New(io.Discard)),
			cluster.WithReconnectInterval(100*time.Millisecond))
		if clusterErr == nil {
			clusterErr = sys.Serve(sharedCluster)
		}
	})
	if clusterErr != nil {
		t.Fatalf("start the cluster node: %v", clusterErr)
	}
	return sharedCluster
}

func stopClusterNode() {
	if sharedCluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := sharedCluster.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop the cluster node:", err)
	}
}

// peer is a cluster node in a child process (runPeer).
type peer struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.Closer
	stderr *testkit.LogBuffer
	exited bool
}

// startPeer runs a peer of c in a child process and returns once it has
// started; the test's cleanup stops it.
func startPeer(t *testing.T, c *cluster.Cluster) *peer {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{cmd: exec.Command(exe), stderr: &testkit.LogBuffer{}}
	p.cmd.Env = append(os.Environ(), peerEnv+"="+c.Name(), "GORACE=atexit_sleep_ms=0")
	p.cmd.Stderr = p.stderr
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.exited {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	name, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read the peer's name: %v\n%s", err, p.stderr.String())
	}
	p.name = strings.TrimSpace(name)
	return p
}

// stop makes the peer leave and waits for it to exit.
func (p *peer) stop(t *testing.T) {
	t.Helper()
	p.stdin.Close()
	err := p.cmd.Wait()
	p.exited = true
	if err != nil {
		t.Fatalf("peer: %v\n%s", err, p.stderr.String())
	}
}

// runPeer starts a cluster node that knows parent and serves remote sys,
// runs the kv application and a registry scope "web" in which kv's
// registry process holds peerName; it prints its name, and stops when
// its standard input closes.
func runPeer(parent string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, "peer",
		cluster.WithListenAddr("127.0.0.1:0"),
		cluster.WithProvider(cluster.Static(parent)),
		cluster.WithLogger(zerolog.New(io.Discard)),
		cluster.WithReconnectInterval(100*time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, "start peer:", err)
		return 2
	}
	if err := startPeerWork(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		return 2
	}
	fmt.Println(c.Name())
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	if err := c.Stop(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop peer:", err)
		return 1
	}
	return 0
}

func startPeerWork(ctx context.Context, c *cluster.Cluster) error {
	n := c.Node()
	ac, err := application.NewController(n)
	if err != nil {
		return err
	}
	if err := ac.Load(ctx, kv.Spec()); err != nil {
		return err
	}
	if _, err := ac.EnsureAllStarted(ctx, kv.Name, application.Temporary); err != nil {
		return err
	}
	reg := registry.New(n)
	if err := reg.AddScope("web"); err != nil {
		return err
	}
	holder, ok := n.WhereIs(kv.RegistryName)
	if !ok {
		return fmt.Errorf("no %s", kv.RegistryName)
	}
	if err := reg.Register(ctx, "web", peerName, holder, nil); err != nil {
		return err
	}
	return sys.Serve(c, sys.ServeRegistry(reg))
}

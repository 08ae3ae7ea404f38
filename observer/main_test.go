package observer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// peerEnv makes the test binary run a cluster node that joins the node
// named in it, instead of the tests (TestClusterView).
const peerEnv = "OBSERVER_TEST_PEER_OF"

func TestMain(m *testing.M) {
	if parent := os.Getenv(peerEnv); parent != "" {
		os.Exit(runPeer(parent))
	}
	testkit.VerifyTestMain(m)
}

// runPeer starts a cluster node that knows parent, prints its name, and
// stops when its standard input closes.
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

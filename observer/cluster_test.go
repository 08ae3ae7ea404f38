package observer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/observer"
)

// TestClusterView runs a second node in a child process: the page lists
// both nodes, the session with the peer, and a link to the peer's
// observer; when the peer leaves, it is no longer listed. It is the only
// test that starts a cluster node in this process (protoactor's remote
// allows one).
func TestClusterView(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := cluster.Start(ctx, "obs",
		cluster.WithListenAddr("127.0.0.1:0"),
		cluster.WithLogger(zerolog.New(io.Discard)),
		cluster.WithReconnectInterval(100*time.Millisecond))
	if err != nil {
		t.Fatalf("start cluster node: %v", err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), wait)
		defer scancel()
		if err := c.Stop(sctx); err != nil {
			t.Errorf("stop cluster node: %v", err)
		}
	})

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), peerEnv+"="+c.Name())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	peer, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read the peer's name: %v\n%s", err, stderr.String())
	}
	peer = strings.TrimSpace(peer)

	peerURL := "http://peer.invalid/observer/"
	base := serve(t, observer.New(c.Node(), observer.WithCluster(c),
		observer.WithPeerURL(func(node string) string {
			if node == peer {
				return peerURL
			}
			return ""
		})))
	snapshot := func() *observer.ClusterView {
		var s observer.Snapshot
		if code := get(t, base+"api/snapshot", &s); code != http.StatusOK || s.Cluster == nil {
			t.Fatalf("GET api/snapshot: %d, cluster %+v", code, s.Cluster)
		}
		return s.Cluster
	}
	testkit.Eventually(t, wait, func() error {
		v := snapshot()
		want := []observer.MemberView{
			{Node: c.Name(), Self: true, Session: "self"},
			{Node: peer, Session: "up", Observer: peerURL},
		}
		if v.Name != c.Name() || !slices.Equal(v.Members, want) {
			return fmt.Errorf("cluster view %+v, want members %+v", v, want)
		}
		if v.Received == 0 {
			return fmt.Errorf("cluster view %+v: no envelope received from the peer yet", v)
		}
		return nil
	})

	stdin.Close() // the peer leaves
	if err := cmd.Wait(); err != nil {
		t.Fatalf("peer: %v\n%s", err, stderr.String())
	}
	exited = true
	testkit.Eventually(t, wait, func() error {
		if v := snapshot(); len(v.Members) != 1 || !v.Members[0].Self {
			return fmt.Errorf("after the peer left: members %+v", v.Members)
		}
		return nil
	})
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// Bounds of the multi-process tests; generous, for a loaded machine.
const (
	startWait   = 60 * time.Second // a node process to come up
	clusterWait = 30 * time.Second // the cluster to settle after a change
)

// lockedBuffer is a bytes.Buffer safe for a process's output and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testNode is one node of a test cluster: its name and ports stay, its
// process changes with each deploy.
type testNode struct {
	t          *testing.T
	name       string
	listen     string // cluster address, host:port
	http       string // page address, host:port
	peers      string
	consul     string
	size       int // nodes in the whole cluster
	version    string
	cmd        *exec.Cmd
	exited     chan error
	log        *lockedBuffer
	generation int
}

// testCluster is n nodes on loopback, their ports chosen at once.
func testCluster(t *testing.T, n int, consulAddr string) []*testNode {
	t.Helper()
	seen := map[int]bool{}
	port := func() int {
		for {
			p := testkit.FreePort(t)
			if !seen[p] {
				seen[p] = true
				return p
			}
		}
	}
	nodes := make([]*testNode, n)
	for i := range nodes {
		nodes[i] = &testNode{
			t: t, name: fmt.Sprintf("n%d", i+1), consul: consulAddr, size: n,
			listen: fmt.Sprintf("127.0.0.1:%d", port()),
			http:   fmt.Sprintf("127.0.0.1:%d", port()),
		}
	}
	for i, nd := range nodes {
		var peers []string
		for j, o := range nodes {
			if j != i {
				peers = append(peers, o.name+"@"+o.listen)
			}
		}
		nd.peers = strings.Join(peers, ",")
	}
	t.Cleanup(func() {
		for _, nd := range nodes {
			if t.Failed() && nd.cmd != nil {
				st, err := nd.status()
				t.Logf("%s at %s: status %+v (monitor %v) %v; its monitor and hub said:\n%s", nd.name, nd.version, st, st.Monitor, err, nd.grep("monitor", "hub"))
			}
			nd.kill()
			nd.keepLog()
		}
	})
	return nodes
}

func (nd *testNode) full() string { return nd.name + "@" + nd.listen }

// start runs the node's process at version v and waits until its
// application has started.
func (nd *testNode) start(v string) {
	t := nd.t
	t.Helper()
	nd.keepLog()
	nd.version = v
	nd.generation++
	args := fmt.Sprintf("-name %s -listen %s -http %s -vsn %s -expect %d", nd.name, nd.listen, nd.http, v, nd.size)
	if nd.consul != "" {
		args += " -consul " + nd.consul + " -service vo-test"
	} else {
		args += " -peers " + nd.peers
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", childEnv+"="+args)
	nd.log = &lockedBuffer{}
	cmd.Stderr = nd.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", nd.name, err)
	}
	nd.cmd, nd.exited = cmd, make(chan error, 1)
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			if !once && strings.HasPrefix(sc.Text(), "node "+nd.full()+" runs") {
				once = true
				close(started)
			}
		}
		nd.exited <- cmd.Wait()
	}()
	select {
	case <-started:
	case err := <-nd.exited:
		nd.cmd = nil
		t.Fatalf("%s (%s) exited while starting: %v\n%s", nd.name, v, err, nd.saveLog())
	case <-time.After(startWait):
		t.Fatalf("%s (%s) did not start within %v\n%s", nd.name, v, startWait, nd.saveLog())
	}
}

// keepLog copies the log of the node's last process into
// $ARBOR_VO_LOGDIR, when set, to read after the test.
func (nd *testNode) keepLog() {
	if dir := os.Getenv("ARBOR_VO_LOGDIR"); dir != "" && nd.log != nil {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s.%d.log", nd.name, nd.generation)), []byte(nd.log.String()), 0o644)
	}
}

// grep returns the last lines of the process's log that hold any of words.
func (nd *testNode) grep(words ...string) string {
	var out []string
	for _, l := range strings.Split(nd.log.String(), "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out[max(0, len(out)-20):], "\n")
}

// saveLog writes the process's log into the test's temp directory and
// returns its tail.
func (nd *testNode) saveLog() string {
	s := nd.log.String()
	p := filepath.Join(nd.t.TempDir(), fmt.Sprintf("%s.%d.log", nd.name, nd.generation))
	_ = os.WriteFile(p, []byte(s), 0o644)
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}

// stop interrupts the process (a clean stop) and wants exit code 0.
func (nd *testNode) stop() {
	t := nd.t
	t.Helper()
	if err := nd.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-nd.exited:
		nd.cmd = nil
		if err != nil {
			t.Fatalf("%s after SIGTERM: %v\n%s", nd.name, err, nd.saveLog())
		}
	case <-time.After(startWait):
		t.Fatalf("%s did not stop within %v\n%s", nd.name, startWait, nd.saveLog())
	}
}

// kill ends the process with SIGKILL (nothing if none runs).
func (nd *testNode) kill() {
	if nd.cmd == nil {
		return
	}
	_ = nd.cmd.Process.Kill()
	<-nd.exited
	nd.cmd = nil
}

// status reads the node's /status.
func (nd *testNode) status() (Status, error) {
	var st Status
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + nd.http + "/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s /status: %s", nd.name, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// settled waits until every node sees the others and the monitor has
// reached verdict (and, for VerdictAgreed, until the monitor and every
// repo hold the nodes' version as the cluster's), and returns the
// statuses.
func settled(t *testing.T, nodes []*testNode, verdict string) []Status {
	t.Helper()
	sts := make([]Status, len(nodes))
	testkit.Eventually(t, clusterWait, func() error {
		for i, nd := range nodes {
			st, err := nd.status()
			if err != nil {
				return err
			}
			if len(st.Peers) != len(nodes)-1 {
				return fmt.Errorf("%s sees peers %v", nd.name, st.Peers)
			}
			if st.Version != nd.version {
				return fmt.Errorf("%s runs %s, want %s", nd.name, st.Version, nd.version)
			}
			if st.Monitor == nil {
				return fmt.Errorf("%s: no monitor: %s", nd.name, st.MonitorError)
			}
			if st.Monitor.Verdict != verdict {
				return fmt.Errorf("monitor on %s: verdict %q, want %q", st.Monitor.Node, st.Monitor.Verdict, verdict)
			}
			if verdict == VerdictAgreed && (st.Monitor.ClusterVersion != nd.version || st.ClusterVersion != nd.version) {
				return fmt.Errorf("%s: cluster version %q, monitor's %q, want %s", nd.name, st.ClusterVersion, st.Monitor.ClusterVersion, nd.version)
			}
			sts[i] = st
		}
		return nil
	})
	return sts
}

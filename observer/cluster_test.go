package observer_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/observer"
)

// TestClusterView runs a second node in a child process: the page lists
// both nodes, the session with the peer, and a link to the peer's
// observer; when the peer leaves, it is no longer listed.
func TestClusterView(t *testing.T) {
	c := clusterNode(t)
	p := startPeer(t, c)

	peerURL := "http://peer.invalid/observer/"
	base := serve(t, observer.New(c.Node(), observer.WithCluster(c),
		observer.WithPeerURL(func(node string) string {
			if node == p.name {
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
			{Node: p.name, Session: "up", Observer: peerURL},
		}
		if v.Name != c.Name() || !slices.Equal(v.Members, want) {
			return fmt.Errorf("cluster view %+v, want members %+v", v, want)
		}
		if v.Received == 0 {
			return fmt.Errorf("cluster view %+v: no envelope received from the peer yet", v)
		}
		return nil
	})

	p.stop(t) // the peer leaves
	testkit.Eventually(t, wait, func() error {
		if v := snapshot(); len(v.Members) != 1 || !v.Members[0].Self {
			return fmt.Errorf("after the peer left: members %+v", v.Members)
		}
		return nil
	})
}

// TestRemoteNode shows another node of the cluster, a child process, on
// this node's page: its application trees, processes, registry scopes and
// a process's status, read over the cluster; the event stream of that
// node; the errors of a node that is not a member; and, once the peer
// has left, the node is refused.
func TestRemoteNode(t *testing.T) {
	c := clusterNode(t)
	p := startPeer(t, c)
	base := serve(t, observer.New(c.Node(), observer.WithCluster(c), observer.WithMutations(), observer.WithInterval(50*time.Millisecond)))
	q := "?node=" + url.QueryEscape(p.name)

	var s observer.Snapshot
	testkit.Eventually(t, wait, func() error {
		s = observer.Snapshot{}
		if code := get(t, base+"api/snapshot"+q, &s); code != http.StatusOK {
			return fmt.Errorf("GET api/snapshot of the peer: %d", code)
		}
		return nil
	})
	if s.Node != p.name || s.Self != c.Name() || !s.Remote || s.AppsError != "" || s.ProcessesError != "" || s.RegistryError != "" {
		t.Fatalf("snapshot of the peer: node %q self %q remote %v, errors %q %q %q", s.Node, s.Self, s.Remote, s.AppsError, s.ProcessesError, s.RegistryError)
	}
	reg, ok := child(s, kv.Name, "registry")
	if !ok || !strings.HasPrefix(reg.PID, "<"+p.name+".") || reg.Behaviour != "gen_server" {
		t.Fatalf("kv's registry child on the peer: %+v (found %v)", reg, ok)
	}
	if s.Processes.Total < 4 || !slices.ContainsFunc(s.Processes.List, func(pr observer.Process) bool { return pr.PID == reg.PID }) {
		t.Fatalf("processes of the peer: %d listed of %d, want kv's registry %s among them", len(s.Processes.List), s.Processes.Total, reg.PID)
	}
	if s.Registry == nil || len(s.Registry.Scopes) != 1 || s.Registry.Scopes[0].Name != "web" ||
		!slices.Contains(s.Registry.Scopes[0].Names, observer.NameView{Name: peerName, PID: reg.PID}) {
		t.Fatalf("registry of the peer: %+v, want %s held by %s", s.Registry, peerName, reg.PID)
	}
	if s.Cluster == nil || len(s.Cluster.Members) != 2 || !s.Cluster.Members[0].Self {
		t.Fatalf("cluster view %+v, want this node's", s.Cluster)
	}

	var pl observer.ProcessList
	if code := get(t, base+"api/processes"+q+"&sort=name&limit=2", &pl); code != http.StatusOK || len(pl.List) != 2 || pl.Total != s.Processes.Total && pl.Total < 4 {
		t.Fatalf("GET api/processes of the peer: %d, %+v", code, pl)
	}

	var d observer.Detail
	if code := get(t, base+"api/process?pid="+url.QueryEscape(reg.PID), &d); code != http.StatusOK {
		t.Fatalf("GET api/process of the peer's %s: %d", reg.PID, code)
	}
	if d.PID != reg.PID || d.Behaviour != "gen_server" || d.Name != kv.RegistryName || d.Parent == "" || d.Uptime == "" {
		t.Fatalf("detail of the peer's registry %+v", d)
	}
	// Mutations act on this node's processes only.
	var e struct{ Error string }
	if code := do(t, http.MethodPost, base+"api/suspend?pid="+url.QueryEscape(reg.PID), &e, nil); code != http.StatusNotFound || !strings.Contains(e.Error, "this node's processes only") {
		t.Fatalf("suspend a process of the peer: %d %q, want 404", code, e.Error)
	}
	// A PID of the peer the page was not shown.
	unknown := "<" + p.name + ".99999.1>"
	if code := get(t, base+"api/process?pid="+url.QueryEscape(unknown), &e); code != http.StatusNotFound || !strings.Contains(e.Error, "not among the processes shown") {
		t.Fatalf("GET api/process of an unknown PID of the peer: %d %q, want 404", code, e.Error)
	}

	ev := openEvents(t, base+"api/events"+q)
	if got := ev.next(t); got.Node != p.name || !got.Remote {
		t.Fatalf("first event of the peer's stream: node %q remote %v", got.Node, got.Remote)
	}

	for _, u := range []string{"api/snapshot", "api/events", "api/processes"} {
		if code := get(t, base+u+"?node=nosuch@host:1", &e); code != http.StatusNotFound || !strings.Contains(e.Error, "no such node") {
			t.Errorf("GET %s of a node that is not a member: %d %q, want 404", u, code, e.Error)
		}
	}
	alone := serve(t, observer.New(c.Node()))
	if code := get(t, alone+"api/snapshot"+q, &e); code != http.StatusNotFound || !strings.Contains(e.Error, "WithCluster") {
		t.Errorf("GET api/snapshot of the peer without WithCluster: %d %q, want 404", code, e.Error)
	}

	p.stop(t)
	// The stream of a node that left ends.
	if err := ev.end(); err != nil {
		t.Fatalf("the stream of a node that left did not end: %v", err)
	}
	testkit.Eventually(t, wait, func() error {
		if code := get(t, base+"api/snapshot"+q, &e); code != http.StatusNotFound {
			return fmt.Errorf("GET api/snapshot of a node that left: %d, want 404", code)
		}
		return nil
	})
}

// end reads the stream until the server ends it (nil), or the wait ends.
func (e *events) end() error {
	_, err := io.Copy(io.Discard, e.r)
	return err
}

package observer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/observer"
	"github.com/arbor-otp/arbor/registry"
)

// wait bounds every wait of these tests: generous, for a loaded machine.
const wait = 30 * time.Second

// startKV starts a node running the kv application, as `make run` does.
func startKV(t *testing.T) *actor.Node {
	t.Helper()
	n := actortest.NewNode(t, actor.WithNodeName("observer@test"))
	startKVOn(t, n)
	return n
}

// startKVOn starts an application controller on n and the kv application
// under it; the test's cleanup stops both (n may outlive the test).
func startKVOn(t *testing.T, n *actor.Node) {
	t.Helper()
	ctx := actortest.Context(t)
	c, err := application.NewController(n)
	if err != nil {
		t.Fatalf("new controller: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, err := c.Shutdown(ctx); err != nil {
			t.Errorf("stop the applications: %v", err)
		}
		stopped := c.Terminated()
		_ = n.Kill(c.PID())
		select {
		case <-stopped:
		case <-ctx.Done():
			t.Errorf("the application controller did not stop")
		}
	})
	if err := c.Load(ctx, kv.Spec()); err != nil {
		t.Fatalf("load kv: %v", err)
	}
	if _, err := c.EnsureAllStarted(ctx, kv.Name, application.Temporary); err != nil {
		t.Fatalf("start kv: %v", err)
	}
}

// serve mounts h at /observer/ of a test server, closed when the test
// ends, and returns the page's URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/observer/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/observer/"
}

// get fetches u and decodes its JSON body into v (if not nil); it returns
// the status code.
func get(t *testing.T, u string, v any) int {
	t.Helper()
	return do(t, http.MethodGet, u, v, nil)
}

func do(t *testing.T, method, u string, v any, hdr http.Header) int {
	t.Helper()
	req, err := http.NewRequestWithContext(actortest.Context(t), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %d, decode %q: %v", method, u, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// child returns the child of the app's tree with the given ID, searching
// depth first.
func child(s observer.Snapshot, app, id string) (observer.TreeNode, bool) {
	var find func(n observer.TreeNode) (observer.TreeNode, bool)
	find = func(n observer.TreeNode) (observer.TreeNode, bool) {
		if n.ID == id {
			return n, true
		}
		for _, c := range n.Children {
			if f, ok := find(c); ok {
				return f, true
			}
		}
		return observer.TreeNode{}, false
	}
	for _, a := range s.Apps {
		if a.Name == app && a.Tree != nil {
			return find(*a.Tree)
		}
	}
	return observer.TreeNode{}, false
}

func TestSnapshot(t *testing.T) {
	n := startKV(t)
	reg := registry.New(n)
	if err := reg.AddScope("svc"); err != nil {
		t.Fatal(err)
	}
	regPID, _ := n.WhereIs(kv.RegistryName)
	ctx := actortest.Context(t)
	if err := reg.Register(ctx, "svc", "kv/registry", regPID, nil); err != nil {
		t.Fatal(err)
	}
	if err := reg.Join(ctx, "svc", "stores", regPID, nil); err != nil {
		t.Fatal(err)
	}
	base := serve(t, observer.New(n, observer.WithRegistry(reg)))

	var s observer.Snapshot
	if code := get(t, base+"api/snapshot", &s); code != http.StatusOK {
		t.Fatalf("GET api/snapshot: %d", code)
	}
	if s.Node != n.Name() || s.Mutations {
		t.Errorf("node %q mutations %v, want %q, false", s.Node, s.Mutations, n.Name())
	}
	for _, id := range []string{"event_manager", "bucket_supervisor", "registry"} {
		c, ok := child(s, kv.Name, id)
		if !ok || c.State != "running" || c.PID == "" {
			t.Errorf("kv tree: child %q = %+v, %v; want it running", id, c, ok)
		}
	}
	if c, _ := child(s, kv.Name, "registry"); c.PID != regPID.String() || c.Behaviour != "gen_server" {
		t.Errorf("kv registry child = %+v, want pid %v, gen_server", c, regPID)
	}
	if s.Processes.Total < 4 || len(s.Processes.List) != s.Processes.Total {
		t.Errorf("processes: %d listed of %d", len(s.Processes.List), s.Processes.Total)
	}
	for i := 1; i < len(s.Processes.List); i++ {
		if s.Processes.List[i-1].Queue < s.Processes.List[i].Queue {
			t.Errorf("processes not sorted by queue length, longest first: %+v", s.Processes.List)
			break
		}
	}
	if s.Registry == nil || len(s.Registry.Scopes) != 1 {
		t.Fatalf("registry view = %+v, want scope svc", s.Registry)
	}
	sc := s.Registry.Scopes[0]
	if sc.Name != "svc" || len(sc.Names) != 1 || sc.Names[0] != (observer.NameView{Name: "kv/registry", PID: regPID.String()}) {
		t.Errorf("scope names = %+v", sc)
	}
	if len(sc.Groups) != 1 || sc.Groups[0].Name != "stores" || len(sc.Groups[0].Members) != 1 || sc.Groups[0].Members[0] != regPID.String() {
		t.Errorf("scope groups = %+v", sc.Groups)
	}
	if s.Cluster != nil {
		t.Errorf("cluster view of an unclustered node = %+v, want none", s.Cluster)
	}
	if len(s.Restarts) != 0 {
		t.Errorf("restarts = %+v, want none yet", s.Restarts)
	}
}

func TestProcessesQuery(t *testing.T) {
	n := startKV(t)
	base := serve(t, observer.New(n))
	var l observer.ProcessList
	if code := get(t, base+"api/processes?sort=name&limit=2", &l); code != http.StatusOK || len(l.List) != 2 || l.Total < 4 {
		t.Fatalf("GET api/processes?sort=name&limit=2: %d, %+v", code, l)
	}
	if code := get(t, base+"api/processes?sort=pid", &l); code != http.StatusOK || len(l.List) != l.Total {
		t.Fatalf("GET api/processes?sort=pid: %d, %+v", code, l)
	}
	for _, q := range []string{"sort=bogus", "limit=0", "limit=-3", "limit=abc", "limit=1000001", "limit=99999999999999999999"} {
		var e struct{ Error string }
		if code := get(t, base+"api/processes?"+q, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, "bad query") {
			t.Errorf("GET api/processes?%s: %d %q, want 400 bad query", q, code, e.Error)
		}
	}
	var e struct{ Error string }
	if code := get(t, base+"api/processes?limit="+strings.Repeat("9", 5000), &e); code != http.StatusRequestURITooLong || e.Error == "" {
		t.Errorf("huge query: %d %q, want 414 with an error", code, e.Error)
	}
}

func TestProcessDetail(t *testing.T) {
	n := startKV(t)
	base := serve(t, observer.New(n))
	pid, _ := n.WhereIs(kv.RegistryName)
	var d observer.Detail
	if code := get(t, base+"api/process?pid="+url.QueryEscape(pid.String()), &d); code != http.StatusOK {
		t.Fatalf("GET api/process: %d", code)
	}
	if d.PID != pid.String() || d.Name != kv.RegistryName || d.Behaviour != "gen_server" || d.Mode != "running" || d.Parent == "" || d.State == "" {
		t.Errorf("detail = %+v", d)
	}
	i, s := pid.ID()
	if code := get(t, base+fmt.Sprintf("api/process?pid=%d.%d", i, s), &d); code != http.StatusOK || d.PID != pid.String() {
		t.Errorf("GET api/process?pid=index.serial: %d %+v", code, d)
	}

	tests := []struct {
		pid  string
		code int
		want string
	}{
		{"", http.StatusBadRequest, "bad pid"},
		{"garbage", http.StatusBadRequest, "bad pid"},
		{"<observer@test.1.x>", http.StatusBadRequest, "bad pid"},
		{"<observer@test.1.2", http.StatusBadRequest, "bad pid"},
		{"<" + strings.Repeat("n", 400) + ".1.1>", http.StatusBadRequest, "longer than"},
		{"<observer@test.99999.1>", http.StatusNotFound, "no such process"},
		{"<other@host.1.1>", http.StatusNotFound, `node "other@host"`},
	}
	for _, tt := range tests {
		var e struct{ Error string }
		code := get(t, base+"api/process?pid="+url.QueryEscape(tt.pid), &e)
		if code != tt.code || !strings.Contains(e.Error, tt.want) {
			t.Errorf("GET api/process?pid=%.40q: %d %q, want %d with %q", tt.pid, code, e.Error, tt.code, tt.want)
		}
	}
}

// events reads a server-sent event stream.
type events struct {
	r *bufio.Reader
}

// next returns the next snapshot event.
func (e *events) next(t *testing.T) observer.Snapshot {
	t.Helper()
	var data string
	for {
		line, err := e.r.ReadString('\n')
		if err != nil {
			t.Fatalf("read event stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			var s observer.Snapshot
			if err := json.Unmarshal([]byte(data), &s); err != nil {
				t.Fatalf("decode event %q: %v", data, err)
			}
			return s
		}
	}
}

func openEvents(t *testing.T, u string) *events {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &events{r: bufio.NewReader(resp.Body)}
}

func TestEventsShowRestart(t *testing.T) {
	n := startKV(t)
	base := serve(t, observer.New(n, observer.WithInterval(20*time.Millisecond)))
	ev := openEvents(t, base+"api/events")

	s := ev.next(t)
	before, ok := child(s, kv.Name, "registry")
	if !ok || before.PID == "" || before.Restarts != 0 {
		t.Fatalf("first snapshot: registry child %+v, %v", before, ok)
	}
	old, _ := n.WhereIs(kv.RegistryName)
	if old.String() != before.PID {
		t.Fatalf("registry child %s, kv.registry is %v", before.PID, old)
	}
	if err := n.Kill(old); err != nil {
		t.Fatal(err)
	}
	for {
		s = ev.next(t)
		after, _ := child(s, kv.Name, "registry")
		if after.Restarts == 0 {
			continue
		}
		if after.Restarts != 1 || after.PID == old.String() || after.PID == "" {
			t.Fatalf("after the kill: registry child %+v", after)
		}
		if len(s.Restarts) != 1 || s.Restarts[0].Path != "kv/registry" || s.Restarts[0].Old != old.String() || s.Restarts[0].New != after.PID {
			t.Fatalf("restart log = %+v", s.Restarts)
		}
		for _, id := range []string{"event_manager", "bucket_supervisor"} {
			if c, _ := child(s, kv.Name, id); c.Restarts != 0 {
				t.Errorf("%s: %d restarts, want 0 (one_for_one)", id, c.Restarts)
			}
		}
		return
	}
}

func TestMutationsOff(t *testing.T) {
	n := startKV(t)
	base := serve(t, observer.New(n))
	pid, _ := n.WhereIs(kv.RegistryName)
	q := "?pid=" + url.QueryEscape(pid.String())
	for _, ep := range []string{"api/kill", "api/suspend", "api/resume", "api/trace"} {
		var e struct{ Error string }
		if code := do(t, http.MethodPost, base+ep+q+"&on=true", &e, nil); code != http.StatusForbidden || !strings.Contains(e.Error, "WithMutations") {
			t.Errorf("POST %s with mutations off: %d %q, want 403 naming WithMutations", ep, code, e.Error)
		}
		if code := do(t, http.MethodGet, base+ep+q, &e, nil); code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d, want 405", ep, code)
		}
	}
	var d observer.Detail
	get(t, base+"api/process"+q, &d)
	if d.Mode != "running" || d.Tracing || !n.IsAlive(pid) {
		t.Errorf("after refused mutations: %+v, alive %v", d, n.IsAlive(pid))
	}
	var s observer.Snapshot
	if get(t, base+"api/snapshot", &s); s.Mutations {
		t.Error("snapshot says mutations are on")
	}
}

func TestMutationsOn(t *testing.T) {
	n := startKV(t)
	base := serve(t, observer.New(n, observer.WithMutations()))
	pid, _ := n.WhereIs(kv.RegistryName)
	q := "?pid=" + url.QueryEscape(pid.String())
	detail := func() observer.Detail {
		var d observer.Detail
		if code := get(t, base+"api/process"+q, &d); code != http.StatusOK {
			t.Fatalf("GET api/process: %d", code)
		}
		return d
	}
	post := func(ep string) {
		t.Helper()
		var e struct{ Error string }
		if code := do(t, http.MethodPost, base+ep, &e, nil); code != http.StatusOK {
			t.Fatalf("POST %s: %d %q", ep, code, e.Error)
		}
	}
	post("api/suspend" + q)
	if d := detail(); d.Mode != "suspended" {
		t.Errorf("after suspend: mode %s", d.Mode)
	}
	post("api/resume" + q)
	post("api/trace" + q + "&on=true")
	if d := detail(); d.Mode != "running" || !d.Tracing {
		t.Errorf("after resume and trace on: mode %s tracing %v", d.Mode, d.Tracing)
	}
	post("api/trace" + q + "&on=false")
	form := func(body string) int {
		resp, err := http.Post(base+"api/resume", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := form("pid=" + url.QueryEscape(pid.String())); code != http.StatusOK {
		t.Errorf("POST api/resume with the pid in a form: %d, want 200", code)
	}
	if code := form("pid=" + strings.Repeat("9", 1<<20)); code != http.StatusBadRequest {
		t.Errorf("POST api/resume with a 1 MiB form: %d, want 400", code)
	}
	var e struct{ Error string }
	if code := do(t, http.MethodPost, base+"api/trace"+q+"&on=maybe", &e, nil); code != http.StatusBadRequest {
		t.Errorf("POST api/trace?on=maybe: %d %q, want 400", code, e.Error)
	}
	cross := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}
	if code := do(t, http.MethodPost, base+"api/kill"+q, &e, cross); code != http.StatusForbidden || !n.IsAlive(pid) {
		t.Errorf("cross-site POST api/kill: %d %q, alive %v; want 403 and alive", code, e.Error, n.IsAlive(pid))
	}
	if code := do(t, http.MethodPost, base+"api/kill?pid=bogus", &e, nil); code != http.StatusBadRequest {
		t.Errorf("POST api/kill?pid=bogus: %d, want 400", code)
	}
	post("api/kill" + q)
	testkit.Eventually(t, wait, func() error {
		if n.IsAlive(pid) {
			return errors.New("killed process still alive")
		}
		if now, ok := n.WhereIs(kv.RegistryName); !ok || now == pid {
			return fmt.Errorf("kv.registry not restarted: %v %v", now, ok)
		}
		return nil
	})
}

func TestPages(t *testing.T) {
	n := startKV(t)
	h := observer.New(n)
	mux := http.NewServeMux()
	mux.Handle("/debug/observer/", h) // mounted without StripPrefix
	mux.Handle("/o/", http.StripPrefix("/o", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for _, base := range []string{srv.URL + "/debug/observer/", srv.URL + "/o/"} {
		for _, tt := range []struct{ path, ctype, body string }{
			{"", "text/html", "Arbor observer"},
			{"app.js", "javascript", "EventSource"},
			{"style.css", "text/css", "body"},
		} {
			resp, err := http.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(string(b), tt.body) {
				t.Errorf("GET %s%s: %d %s", base, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
		var e struct{ Error string }
		if code := get(t, base+"nope.html", &e); code != http.StatusNotFound || e.Error == "" {
			t.Errorf("GET %snope.html: %d %q, want 404", base, code, e.Error)
		}
		if code := do(t, http.MethodPost, base, &e, nil); code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", base, code)
		}
		if code := do(t, http.MethodDelete, base+"api/snapshot", &e, nil); code != http.StatusMethodNotAllowed {
			t.Errorf("DELETE api/snapshot: %d, want 405", code)
		}
	}
}

// TestSnapshotListsAreArrays: a snapshot with no restart seen yet sends
// "restarts":[] rather than null (the page read its length and stopped
// drawing the processes, registry and cluster until the first restart).
func TestSnapshotListsAreArrays(t *testing.T) {
	n := startKV(t)
	base := serve(t, observer.New(n))
	var raw map[string]json.RawMessage
	if code := get(t, base+"api/snapshot", &raw); code != http.StatusOK {
		t.Fatalf("GET api/snapshot: %d", code)
	}
	for _, k := range []string{"apps", "restarts"} {
		if got := string(raw[k]); !strings.HasPrefix(got, "[") {
			t.Errorf("snapshot's %s is %s, want an array", k, got)
		}
	}
}

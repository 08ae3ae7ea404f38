package observer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/observer"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/sys"
)

// tail is the end of chromium's output, which is mostly noise about D-Bus.
func tail(s string) string {
	const max = 4 << 10
	if len(s) > max {
		return "..." + s[len(s)-max:]
	}
	return s
}

// TestBrowser drives the page in headless Chromium: it shows the running
// kv tree, a restart of a killed child without a reload, a registry name
// registered meanwhile, and a process's detail; then it picks the other
// node of the cluster, a child process, and shows one of its processes.
func TestBrowser(t *testing.T) {
	path := testkit.Chromium(t)
	c := clusterNode(t)
	n := c.Node()
	startKVOn(t, n)
	reg := registry.New(n)
	if err := reg.AddScope("web"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopScope(t, n, "web") })
	p := startPeer(t, c)
	base := serve(t, observer.New(n, observer.WithRegistry(reg), observer.WithCluster(c), observer.WithInterval(50*time.Millisecond)))

	var chromeOut lockedWriter
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		testkit.HeadlessChromium(t, path, 1280, 1600, &chromeOut)...)
	// The browser stops (and its goroutines end) before the server closes:
	// cleanups run last registered first.
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		if err := chromedp.Cancel(bctx); err != nil {
			t.Logf("close browser: %v", err)
		}
		cancelBrowser()
	})
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\nchromium said:\n%s", what, err, tail(chromeOut.String()))
		}
	}
	// The first action starts the browser and must run on a context
	// without a deadline (it would stop the browser); later ones get one.
	check("start chromium", chromedp.Do(bctx, chromedp.Navigate("about:blank")))
	ctx, cancel := context.WithTimeout(bctx, 2*wait)
	defer cancel()
	// The page redraws its sections on every snapshot, so the test reads
	// and clicks through JavaScript, in one step each, never through node
	// IDs that the next redraw makes stale; it waits by polling a
	// predicate in the page.
	poll := func(what, expr string) string {
		t.Helper()
		v, err := testkit.PollJS(ctx, expr, 20*time.Millisecond, wait)
		if err != nil {
			t.Fatalf("%s: %v\nchromium said:\n%s", what, err, tail(chromeOut.String()))
		}
		return v
	}
	// attrOf is an expression: the attribute of the first element sel
	// matches, or "" if none does.
	attrOf := func(sel, name string) string {
		return fmt.Sprintf(`(e => e ? e.getAttribute(%q) || "" : "")(document.querySelector(%q))`, name, sel)
	}
	textOf := func(sel string) string {
		return fmt.Sprintf(`(e => e ? e.textContent : "")(document.querySelector(%q))`, sel)
	}

	old, _ := n.WhereIs(kv.RegistryName)
	regItem := `#apps li[data-id="registry"]`
	check("load the page", chromedp.Do(ctx, chromedp.Navigate(base)))
	poll("show the kv tree", attrOf(`#apps .app[data-app="kv"] li[data-id="bucket_supervisor"]`, "data-pid"))
	if shown := poll("show the registry child", attrOf(regItem, "data-pid")); shown != old.String() {
		t.Fatalf("registry child shows pid %q, want %v", shown, old)
	}
	if mode := poll("show the mode banner", textOf(`#mode`)); !strings.Contains(mode, "Read-only") {
		t.Errorf("mode banner %q, want it to say read-only", mode)
	}
	// A mark that a reload would wipe.
	poll("set the mark", `window.arborMark = "no reload"`)

	if err := n.Kill(old); err != nil {
		t.Fatal(err)
	}
	poll("show the restart in the list", attrOf(`#restarts li.restart[data-path="kv/registry"]`, "data-id"))
	newPID := poll("show the restart in the tree", attrOf(regItem+`[data-restarts="1"]`, "data-pid"))
	if newPID == old.String() {
		t.Errorf("after the kill the registry child shows pid %q, want a new one", newPID)
	}
	if mark := poll("read the mark", `window.arborMark || "reloaded"`); mark != "no reload" {
		t.Errorf("window mark %q: the page reloaded", mark)
	}

	// A name registered now appears without a reload.
	now, _ := n.WhereIs(kv.RegistryName)
	if err := reg.Register(actortest.Context(t), "web", "browser/live", now, nil); err != nil {
		t.Fatal(err)
	}
	if holder := poll("list the new name", attrOf(`#registry .scope[data-scope="web"] li.name[data-name="browser/live"] button.pid`, "data-pid")); holder != now.String() {
		t.Errorf("name browser/live shown held by %q, want %v", holder, now)
	}

	// A click on a PID shows the process's status.
	poll("click the registry's pid", fmt.Sprintf(`(e => e ? (e.click(), "clicked") : "")(document.querySelector(%q))`, regItem+` > .line button.pid`))
	poll("show the detail panel", attrOf(`#detail dl`, "data-pid"))
	if detail := poll("read the detail panel", textOf(`#detail dl`)); !strings.Contains(detail, kv.RegistryName) || !strings.Contains(detail, "gen_server") {
		t.Errorf("detail panel %q, want kv.registry's status", detail)
	}

	// A suspended process with a backlog heads the table, which sorts by
	// queue length, longest first; a click on the PID column sorts by PID.
	backlog, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	// Gone when the test ends: a run again (-count) would find two
	// backlogs of 5 at the head of the table.
	t.Cleanup(func() {
		exited := n.WatchExit(backlog)
		_ = sys.Resume(context.Background(), n, backlog)
		_ = n.Kill(backlog)
		select {
		case <-exited:
		case <-time.After(wait):
			t.Errorf("backlog %v did not stop", backlog)
		}
	})
	if err := sys.Suspend(actortest.Context(t), n, backlog); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := n.Send(backlog, i); err != nil {
			t.Fatal(err)
		}
	}
	row := fmt.Sprintf(`(r => r && r.dataset.pid === %q ? r.querySelector("td.queue").textContent : "")(document.querySelector("#processes tbody tr"))`, backlog.String())
	if q := poll("sort by queue length", row); q != "5" {
		t.Errorf("longest queue shown %q, want 5", q)
	}
	poll("click the PID column", `(e => (e.click(), "clicked"))(document.querySelector('#processes th[data-key="pid"]'))`)
	first := poll("sort by PID", `document.querySelector('#processes th.sorted.asc[data-key="pid"]') ? `+attrOf(`#processes tbody tr`, "data-pid")+` : ""`)
	if !strings.HasSuffix(first, ".0.1>") {
		t.Errorf("first row sorted by PID is %s, want the node's first process", first)
	}
	if rows, _ := strconv.Atoi(poll("count the rows", `String(document.querySelectorAll("#processes tbody tr").length)`)); rows < 5 {
		t.Errorf("process table has %d rows, want the kv processes and the backlog", rows)
	}

	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		check("take a screenshot", err)
		shot := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", shot, len(png))
		if dir := os.Getenv("ARBOR_SCREENSHOT_DIR"); dir != "" {
			// Kept after the test, to look at.
			if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
				t.Errorf("keep the screenshot: %v", err)
			}
		}
	}
	screenshot("observer.png")

	// Pick the other node: the page shows its kv tree, read over the
	// cluster, and the status of one of its processes.
	pick := fmt.Sprintf(`#cluster tr.member[data-node=%q] button.pick`, p.name)
	poll("click the peer's show button", fmt.Sprintf(`(e => e && !e.disabled ? (e.click(), "clicked") : "")(document.querySelector(%q))`, pick))
	poll("show the peer", fmt.Sprintf(`document.body.dataset.node === %q ? "shown" : ""`, p.name))
	peerReg := poll("show the peer's kv tree", fmt.Sprintf(`(e => e && e.dataset.pid.startsWith(%q) ? e.dataset.pid : "")(document.querySelector(%q))`, "<"+p.name+".", regItem))
	if holder := poll("list the peer's name", attrOf(fmt.Sprintf(`#registry .scope[data-scope="web"] li.name[data-name=%q] button.pid`, peerName), "data-pid")); holder != peerReg {
		t.Errorf("the peer's name %s shown held by %q, want %s", peerName, holder, peerReg)
	}
	poll("click the peer's registry pid", fmt.Sprintf(`(e => e ? (e.click(), "clicked") : "")(document.querySelector(%q))`, regItem+` > .line button.pid`))
	if shown := poll("show the peer's process", attrOf(`#detail dl`, "data-pid")); shown != peerReg {
		t.Errorf("detail panel of %q, want the peer's %s", shown, peerReg)
	}
	if detail := poll("read the peer's detail panel", textOf(`#detail`)); !strings.Contains(detail, kv.RegistryName) || !strings.Contains(detail, "another node") {
		t.Errorf("detail panel %q, want the peer's kv.registry, its buttons off", detail)
	}
	screenshot("observer-peer.png")
}

// stopScope stops the process of the registry scope of n, so that a later
// test can add it again.
// The scope's keeper, linked to it, restarts a killed scope process under
// the same name: stopScope kills the keeper, which takes the scope
// process with it, so that a test run again (-count) can add the scope.
func stopScope(t *testing.T, n *actor.Node, scope string) {
	pid, ok := n.WhereIs(registry.ScopeProcessName(scope))
	if !ok {
		return
	}
	in, err := n.ProcessInfo(context.Background(), pid)
	if err != nil {
		t.Errorf("scope %s: %v", scope, err)
		return
	}
	gone := []<-chan error{n.WatchExit(pid)}
	if !in.Parent.IsZero() { // the keeper
		gone = append(gone, n.WatchExit(in.Parent))
		_ = n.Kill(in.Parent)
	}
	_ = n.Kill(pid)
	for _, exited := range gone {
		select {
		case <-exited:
		case <-time.After(wait):
			t.Errorf("scope %s did not stop", scope)
			return
		}
	}
}

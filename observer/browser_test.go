package observer_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/observer"
	"github.com/arbor-otp/arbor/registry"
)

// chromium returns the browser the test drives: $ARBOR_CHROMIUM, or
// Debian's /usr/bin/chromium (`make chromium` installs it). Under CI=true a
// missing browser fails the test; elsewhere it skips it.
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ARBOR_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found at %s (%v): CI must run `make chromium` first", p, err)
		}
		t.Skipf("chromium not found at %s (%v): `make chromium` installs it", p, err)
	}
	return p
}

// TestBrowser drives the page in headless Chromium: it shows the running
// kv tree, a restart of a killed child without a reload, a registry name
// registered meanwhile, and a process's detail.
func TestBrowser(t *testing.T) {
	path := chromium(t)
	n := startKV(t)
	reg := registry.New(n)
	if err := reg.AddScope("web"); err != nil {
		t.Fatal(err)
	}
	base := serve(t, observer.New(n, observer.WithRegistry(reg), observer.WithInterval(50*time.Millisecond)))

	var chromeOut lockedWriter
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1600),
		chromedp.CombinedOutput(&chromeOut),
	)
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
	// The first action starts the browser and must run on a context
	// without a deadline (it would stop the browser); later ones get one.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v\nchromium said:\n%s", err, chromeOut.String())
	}
	ctx, cancel := context.WithTimeout(bctx, 2*wait)
	defer cancel()
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\nchromium said:\n%s", what, err, chromeOut.String())
		}
	}
	attr := func(sel chromedp.CSS, name string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(sel, name))
		check("read "+name+" of "+string(sel), err)
		return v.Value
	}

	old, _ := n.WhereIs(kv.RegistryName)
	regItem := chromedp.CSS(`#apps li[data-id="registry"]`)
	check("load the page and show the kv tree", chromedp.Do(ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS(`#apps .app[data-app="kv"] li[data-id="bucket_supervisor"]`)),
		chromedp.WaitVisible(regItem),
	))
	if shown := attr(regItem, "data-pid"); shown != old.String() {
		t.Fatalf("registry child shows pid %q, want %v", shown, old)
	}
	mode, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#mode`)))
	check("read the mode banner", err)
	if !strings.Contains(mode, "Read-only") {
		t.Errorf("mode banner %q, want it to say read-only", mode)
	}
	// A mark that a reload would wipe.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[string](`window.arborMark = "no reload"`))
	check("set the mark", err)

	if err := n.Kill(old); err != nil {
		t.Fatal(err)
	}
	check("show the restart live", chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`#restarts li.restart[data-path="kv/registry"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#apps li[data-id="registry"][data-restarts="1"]`)),
	))
	if p := attr(regItem, "data-pid"); p == "" || p == old.String() {
		t.Errorf("after the kill the registry child shows pid %q, want a new one (old %v)", p, old)
	}
	mark, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.arborMark`))
	check("read the mark", err)
	if mark != "no reload" {
		t.Errorf("window mark %q: the page reloaded", mark)
	}

	// A name registered now appears without a reload.
	now, _ := n.WhereIs(kv.RegistryName)
	if err := reg.Register(actortest.Context(t), "web", "browser/live", now, nil); err != nil {
		t.Fatal(err)
	}
	check("list the new name and show a process's detail", chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`#registry .scope[data-scope="web"] li.name[data-name="browser/live"]`)),
		chromedp.Click(chromedp.CSS(`#apps li[data-id="registry"] > .line button.pid`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail dl[data-pid]`)),
	))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#processes tbody tr").length`))
	check("count the process rows", err)
	if rows < 4 {
		t.Errorf("process table has %d rows, want the kv processes", rows)
	}
	detail, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#detail dl`)))
	check("read the detail panel", err)
	if !strings.Contains(detail, kv.RegistryName) || !strings.Contains(detail, "gen_server") {
		t.Errorf("detail panel %q, want kv.registry's status", detail)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	check("take a screenshot", err)
	shot := filepath.Join(t.TempDir(), "observer.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	if dir := os.Getenv("ARBOR_SCREENSHOT_DIR"); dir != "" {
		// Kept after the test, to look at.
		if err := os.WriteFile(filepath.Join(dir, "observer.png"), png, 0o644); err != nil {
			t.Errorf("keep the screenshot: %v", err)
		}
	}
}

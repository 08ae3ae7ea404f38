package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// bannerBound is how long after the last node of a major deploy has
// started the banner must show: the NodeUp (at once on a connect), the
// monitor's settle delay (200 ms), a retry or two while the new node's
// repo starts (500 ms each), the multi-call, the publish, the push, with
// room for a loaded machine running the race detector.
const bannerBound = 15 * time.Second

// browser is a headless Chromium with one tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	out *lockedBuffer
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := testkit.Chromium(t)
	out := &lockedBuffer{}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		testkit.HeadlessChromium(t, path, 1000, 700, out)...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		if err := chromedp.Cancel(bctx); err != nil {
			t.Logf("close browser: %v", err)
		}
		cancelBrowser()
	})
	b := &browser{t: t, ctx: bctx, out: out}
	// The first action starts the browser, on a context without a
	// deadline (a deadline would stop the browser when it passes).
	b.check("start chromium", chromedp.Do(bctx, chromedp.Navigate("about:blank")))
	return b
}

func (b *browser) check(what string, err error) {
	b.t.Helper()
	if err != nil {
		s := b.out.String()
		if len(s) > 4000 {
			s = "..." + s[len(s)-4000:]
		}
		b.t.Fatalf("%s: %v\nchromium said:\n%s", what, err, s)
	}
}

func (b *browser) open(url string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, startWait)
	defer cancel()
	b.check("open "+url, chromedp.Do(ctx, chromedp.Navigate(url)))
}

// eval evaluates a JavaScript expression that yields a string.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	b.check("evaluate "+expr, err)
	return s
}

// poll waits until expr yields a non-empty string, within d, and returns
// it.
func (b *browser) poll(what, expr string, d time.Duration) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d+5*time.Second)
	defer cancel()
	s, err := testkit.PollJS(ctx, expr, 20*time.Millisecond, d)
	b.check(what, err)
	return s
}

// screenshot saves the page as name under the test's temp directory.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	// Quality 100 makes a PNG; below, a JPEG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	b.check("take a screenshot", err)
	p := filepath.Join(b.t.TempDir(), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if dir := os.Getenv("ARBOR_SCREENSHOT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			b.t.Errorf("keep the screenshot: %v", err)
		}
	}
	return p
}

// The page's state as the test reads it from the DOM.
const (
	jsBanners    = `String(document.querySelectorAll("#banner").length)`
	jsBannerOn   = `(e => e && !e.hidden && getComputedStyle(e).display !== "none" ? "shown" : "")(document.querySelector("#banner"))`
	jsBannerOff  = `(e => e && e.hidden && getComputedStyle(e).display === "none" ? "hidden" : "")(document.querySelector("#banner"))`
	jsNewVersion = `document.querySelector("#new-version").textContent`
	jsServed     = `document.querySelector("#version").textContent`
	jsEvents     = `window.versionEvents.join(",")`
	jsOpens      = `String(window.streamOpens)`
)

// opensAtLeast is an expression that is non-empty once the page's stream
// has opened n times.
func opensAtLeast(n int) string {
	return fmt.Sprintf(`window.streamOpens >= %d ? String(window.streamOpens) : ""`, n)
}

func (b *browser) opens() int {
	n, err := strconv.Atoi(b.eval(jsOpens))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

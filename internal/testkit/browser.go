package testkit

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// staleContext is what Chromium answers when an evaluation is sent to the
// JavaScript context of a document it has just replaced (a navigation, a
// reload): chromedp then retries on the new document's context.
const staleContext = "Cannot find context with specified id"

// PollJS evaluates expr in the page of ctx (a chromedp context) every
// interval until it yields a non-empty string (or true), within timeout,
// and returns that value. An evaluation that reaches a document Chromium
// has just replaced is tried again on the new one rather than failing
// the test.
func PollJS(ctx context.Context, expr string, interval, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			left = time.Millisecond
		}
		v, err := chromedp.Run(ctx, chromedp.Poll[string](expr,
			chromedp.WithPollingInterval(interval), chromedp.WithPollingTimeout(left)))
		if err == nil || !strings.Contains(err.Error(), staleContext) || time.Now().After(deadline) {
			return v, err
		}
	}
}

// Chromium returns the browser a test drives: $ARBOR_CHROMIUM, or
// Debian's /usr/bin/chromium (`make chromium` installs it). Under CI=true
// a missing browser fails the test; elsewhere it skips it.
func Chromium(t testing.TB) string {
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

// HeadlessChromium returns the options of a headless Chromium at path for
// a test: no sandbox, GPU, QUIC or background traffic, a fresh profile
// under t's temp directory, a window of w×h, and its output into out.
func HeadlessChromium(t testing.TB, path string, w, h int, out io.Writer) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
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
		chromedp.WindowSize(w, h),
		chromedp.CombinedOutput(out),
	}
}

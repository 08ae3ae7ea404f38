package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// The scenario, with three node processes of this binary and a
// headless Chromium on node 1's page:
//
//  1. all three run 0.1.0; the page shows 0.1.0 and no banner;
//  2. a rolling deploy to 1.0.0: node 1 is stopped and started again at
//     1.0.0 (the page's stream reconnects to it), then the node the
//     monitor runs on is killed with SIGKILL and started at 1.0.0, then
//     the nodes still at 0.1.0 are replaced one by one: while versions
//     are mixed the monitor says so and the page shows no banner; once all run 1.0.0 the banner shows within
//     bannerBound, exactly one, naming 1.0.0, and every node received
//     exactly one announcement;
//  3. the page is reloaded (now served at 1.0.0) and a minor deploy to
//     1.1.0 follows: no banner, no announcement.
func TestRollingDeploy(t *testing.T) {
	b := newBrowser(t)
	nodes := testCluster(t, 3, "")
	for _, nd := range nodes {
		nd.start("0.1.0")
	}
	settled(t, nodes, VerdictAgreed)

	page := "http://" + nodes[0].http + "/"
	b.open(page)
	if v := b.poll("show the served version", jsServed, clusterWait); v != "0.1.0" {
		t.Fatalf("page served at %q, want 0.1.0", v)
	}
	b.poll("open the stream", opensAtLeast(1), clusterWait)
	noBanner := func(when string) {
		t.Helper()
		if s := b.eval(jsBannerOff); s != "hidden" {
			t.Fatalf("%s: the banner shows (events %q)", when, b.eval(jsEvents))
		}
	}
	noBanner("at 0.1.0")

	// Deploy step 1: node 1, which serves the page.
	opens := b.opens()
	nodes[0].stop()
	nodes[0].start("1.0.0")
	settled(t, nodes, VerdictOutOfSync)
	b.poll("reconnect the stream to the new node 1", opensAtLeast(opens+1), clusterWait)
	noBanner("with node 1 at 1.0.0")

	// Deploy step 2: kill -9 the node the monitor runs on, wherever it
	// is, and start it at 1.0.0 (its deploy step if it ran 0.1.0).
	st, err := nodes[1].status()
	if err != nil {
		t.Fatal(err)
	}
	victim := -1
	for i, nd := range nodes {
		if nd.full() == st.Monitor.GetNode() {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("monitor on %q, not a node of the cluster", st.Monitor.GetNode())
	}
	t.Logf("monitor on %s (at %s): kill -9", nodes[victim].full(), nodes[victim].version)
	opens = b.opens()
	nodes[victim].kill()
	nodes[victim].start("1.0.0")
	settled(t, nodes, VerdictOutOfSync)
	if victim == 0 {
		b.poll("reconnect the stream to the new node 1", opensAtLeast(opens+1), clusterWait)
	}
	noBanner("after the monitor's node was killed")

	// The other nodes still at 0.1.0, one by one.
	var up time.Time
	for i, nd := range nodes {
		if nd.version != "0.1.0" {
			continue
		}
		nd.stop()
		nd.start("1.0.0")
		up = time.Now()
		if old := slices.ContainsFunc(nodes, func(o *testNode) bool { return o.version == "0.1.0" }); old {
			settled(t, nodes, VerdictOutOfSync)
			noBanner(fmt.Sprintf("with node %d at 1.0.0 and not all", i+1))
		}
	}
	b.poll("show the banner", jsBannerOn, bannerBound)
	took := time.Since(up)
	t.Logf("banner shown %v after the last node started (bound %v)", took.Round(time.Millisecond), bannerBound)
	shot := b.screenshot("banner.png")
	t.Logf("screenshot: %s", shot)

	final := settled(t, nodes, VerdictAgreed)
	if n := b.eval(jsBanners); n != "1" {
		t.Errorf("%s banners, want 1", n)
	}
	if v := b.eval(jsNewVersion); v != "1.0.0" {
		t.Errorf("banner names %q, want 1.0.0", v)
	}
	for _, v := range strings.Split(b.eval(jsEvents), ",") {
		if v != "1.0.0" {
			t.Errorf("page got new_version events %q, want only 1.0.0", b.eval(jsEvents))
			break
		}
	}
	for i, st := range final {
		if st.Received != 1 || st.LastNewVersion != "1.0.0" {
			t.Errorf("%s received %d announcements (last %q), want exactly one of 1.0.0", nodes[i].name, st.Received, st.LastNewVersion)
		}
	}

	// The minor deploy, on a page served at 1.0.0.
	b.open(page)
	if v := b.poll("show the served version", jsServed, clusterWait); v != "1.0.0" {
		t.Fatalf("page served at %q, want 1.0.0", v)
	}
	b.poll("open the stream", opensAtLeast(1), clusterWait)
	noBanner("reloaded at 1.0.0")
	for _, nd := range nodes {
		nd.stop()
		nd.start("1.1.0")
		if nd != nodes[len(nodes)-1] {
			settled(t, nodes, VerdictOutOfSync)
			noBanner(fmt.Sprintf("minor deploy, %s at 1.1.0", nd.name))
		}
	}
	final = settled(t, nodes, VerdictAgreed)
	// The monitor has checked the cluster at 1.1.0 and recorded it; an
	// announcement would have come before that record.
	testkit.Eventually(t, clusterWait, func() error {
		if s := b.eval(jsBannerOff); s != "hidden" {
			return fmt.Errorf("the banner shows after a minor deploy (events %q)", b.eval(jsEvents))
		}
		return nil
	})
	for i, st := range final {
		if st.Received != 0 {
			t.Errorf("%s received %d announcements after a minor deploy, want none", nodes[i].name, st.Received)
		}
	}
}

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestMisnamedPeerFailsOnceLoudly runs a node a and a node b that lists a
// under a name a does not call itself (another short name, or another
// spelling of its host). No session opens: neither node sees NodeUp or
// NodeDown while b keeps retrying, b logs one error naming both names and
// a one warning; a call to the wrong name fails with NameMismatchError.
func TestMisnamedPeerFailsOnceLoudly(t *testing.T) {
	a := startChild(t, "a", "CHILD_EVENTS=1")
	addr, err := cluster.NodeAddr(a.name)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(addr, ":")
	for _, listed := range []string{"x@" + addr, "a@localhost:" + port} {
		t.Run(listed, func(t *testing.T) {
			b := startChild(t, "b", "CHILD_EVENTS=1", "CHILD_PEERS="+listed)
			// b retries: wait for a few refused attempts.
			testkit.Eventually(t, 30*time.Second, func() error {
				if n := countLines(b.logs.String(), `"level":"debug"`, "connect failed", "answers as"); n < 5 {
					return fmt.Errorf("%d refused attempts so far", n)
				}
				return nil
			})
			if n := countLines(b.logs.String(), `"level":"error"`, listed, a.name); n != 1 {
				t.Errorf("b logged %d errors naming %s and %s, want 1", n, listed, a.name)
			}
			if n := countLines(a.logs.String(), `"level":"warn"`, "refused a hello", b.name, listed); n != 1 {
				t.Errorf("a logged %d warnings about b's hello to %s, want 1", n, listed)
			}
			// The same from this process's node: a call fails with the
			// mismatch (retried: under load an attempt may time out
			// before the refusal comes back).
			testkit.Eventually(t, 30*time.Second, func() error {
				_, err := shared.CallNamed(ctxT(t), listed, "ctl", wrapperspb.String("hi"))
				var mismatch *cluster.NameMismatchError
				if !errors.As(err, &mismatch) || mismatch.Answered != a.name || !errors.Is(err, actor.NoConnection) {
					return fmt.Errorf("call to %s: %v; want NoConnection and a NameMismatchError naming %s", listed, err, a.name)
				}
				return nil
			})
			for _, c := range []*child{a, b} {
				select {
				case e := <-c.events:
					t.Errorf("%s saw %q; want no node event", c.name, e)
				default:
				}
			}
		})
	}
}

func countLines(log string, want ...string) int {
	n := 0
	for line := range strings.Lines(log) {
		all := true
		for _, w := range want {
			if !strings.Contains(line, w) {
				all = false
				break
			}
		}
		if all {
			n++
		}
	}
	return n
}

// TestStartRejectsUnreachableNames: a Static peer with no name@, or with a
// wildcard host, or under another name at this node's own address, and a
// wildcard listen address without an advertised address, fail Start with
// ErrBadNodeName before the node listens.
func TestStartRejectsUnreachableNames(t *testing.T) {
	port := strconv.Itoa(testkit.FreePort(t))
	for _, tc := range []struct {
		name string
		opts []cluster.Option
		says string
	}{
		{"bare address", []cluster.Option{cluster.WithProvider(cluster.Static("127.0.0.1:7101"))}, `"127.0.0.1:7101"`},
		{"wildcard peer", []cluster.Option{cluster.WithProvider(cluster.Static("c@0.0.0.0:7103"))}, "wildcard"},
		{"own address", []cluster.Option{cluster.WithListenAddr("127.0.0.1:" + port), cluster.WithProvider(cluster.Static("x@127.0.0.1:" + port))}, "this node's address"},
		{"wildcard listen", []cluster.Option{cluster.WithListenAddr("0.0.0.0:0")}, "WithAdvertiseAddr"},
		{"no host", []cluster.Option{cluster.WithListenAddr(":0")}, "WithAdvertiseAddr"},
		{"wildcard advertised", []cluster.Option{cluster.WithAdvertiseAddr("0.0.0.0:7103")}, "wildcard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := cluster.Start(context.Background(), "c", tc.opts...)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = c.Stop(ctx)
				t.Fatalf("Start succeeded as %s", c.Name())
			}
			if !errors.Is(err, cluster.ErrBadNodeName) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Start: %v; want ErrBadNodeName saying %s", err, tc.says)
			}
		})
	}
}

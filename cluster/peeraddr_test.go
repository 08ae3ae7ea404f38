package cluster_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// A node named at an address where nothing listens is reached through
// WithPeerAddr alone: the peer that dials it there opens a session under
// the node's own name, and the proxy on that route carries the session
// (cutting it brings NodeDown, healing it NodeUp).
func TestPeerAddrRoutesTheDial(t *testing.T) {
	listen := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	nowhere := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	proxy := testkit.NewProxy(t, listen)
	x := startChild(t, "x", "CHILD_LISTEN="+listen, "CHILD_ADVERTISE="+nowhere)
	y := startChild(t, "y", "CHILD_PEERS="+x.name, "CHILD_PEERADDRS="+x.name+"="+proxy.Addr(), "CHILD_EVENTS=1")
	y.expectEvent(t, "up", x.name, 10*time.Second)
	proxy.Cut(testkit.Reset)
	y.expectEvent(t, "down", x.name, 10*time.Second)
	proxy.Heal()
	y.expectEvent(t, "up", x.name, 10*time.Second)
}

func TestPeerAddrRejectsBadInput(t *testing.T) {
	for _, tc := range []struct{ peer, addr string }{
		{"noport", "127.0.0.1:1"},
		{"p@127.0.0.1:1", "nohostport"},
		{"p@127.0.0.1:1", "0.0.0.0:5"},
	} {
		_, err := cluster.Start(ctxT(t), "z", cluster.WithLogger(zerolog.Nop()), cluster.WithPeerAddr(tc.peer, tc.addr))
		if !errors.Is(err, cluster.ErrBadNodeName) {
			t.Errorf("WithPeerAddr(%q, %q): Start returned %v, want ErrBadNodeName", tc.peer, tc.addr, err)
		}
	}
}

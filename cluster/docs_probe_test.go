package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/cluster"
)

// TestProbeStartRefusesBadNames: docs/clustering.md's "Node names": the
// name must be non-empty and hold no '@', and a wildcard listen address
// (IPv6's "::" as well as 0.0.0.0) needs WithAdvertiseAddr; each fails
// Start with ErrBadNodeName.
func TestProbeStartRefusesBadNames(t *testing.T) {
	for _, tc := range []struct {
		what, name string
		opts       []cluster.Option
	}{
		{"empty name", "", []cluster.Option{cluster.WithListenAddr("127.0.0.1:0")}},
		{"name with @", "a@b", []cluster.Option{cluster.WithListenAddr("127.0.0.1:0")}},
		{"ipv6 wildcard listen", "c", []cluster.Option{cluster.WithListenAddr("[::]:0")}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			c, err := cluster.Start(context.Background(), tc.name, tc.opts...)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = c.Stop(ctx)
				t.Fatalf("Start succeeded as %s", c.Name())
			}
			if !errors.Is(err, cluster.ErrBadNodeName) {
				t.Fatalf("Start: %v; want ErrBadNodeName", err)
			}
		})
	}
}

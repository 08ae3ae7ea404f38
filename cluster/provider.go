package cluster

import (
	"context"
	"slices"
)

// Provider tells a node which other nodes belong to its cluster. The node
// keeps trying to open a session with every member it is told about;
// sessions themselves, and NodeUp/NodeDown, come from the transport.
//
// Start is called once, by Start, with the node's own name and a report
// function. The provider calls report from any goroutine, with the full
// list of member node names (its own included or not) each time its view
// changes; calls must not overlap. A provider that loses its source of
// truth keeps quiet rather than reporting an empty list. Stop is called
// once, by Cluster.Stop, and must release everything Start started;
// report must not be called after Stop returns.
type Provider interface {
	Start(ctx context.Context, self string, report func(members []string)) error
	Stop(ctx context.Context) error
}

// Static returns the embedded provider: a fixed list of peer node names
// (name@host:port). With no peers it is a cluster of one, which other
// nodes may still join by connecting to it.
func Static(peers ...string) Provider { return &static{peers: slices.Clone(peers)} }

type static struct{ peers []string }

// Start reports the fixed list once.
func (s *static) Start(_ context.Context, _ string, report func([]string)) error {
	report(s.peers)
	return nil
}

// Stop does nothing.
func (s *static) Stop(context.Context) error { return nil }

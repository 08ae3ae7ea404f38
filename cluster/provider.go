package cluster

import (
	"context"
	"fmt"
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
//
// Each peer must be named exactly as it calls itself: the name it was
// started with and its advertised address, host spelled the same
// (127.0.0.1 and localhost are different names). Start fails with
// ErrBadNodeName for a peer that is not name@host:port (a bare address
// included) or that gives this node's own address another name. A peer
// whose node answers under another name is reported with a
// NameMismatchError in the log, once, and no session opens.
func Static(peers ...string) Provider { return &static{peers: slices.Clone(peers)} }

type static struct{ peers []string }

// validate checks the peer list before the node starts listening.
func (s *static) validate(self string) error {
	_, selfAddr, err := splitNodeName(self)
	if err != nil {
		return err
	}
	for _, p := range s.peers {
		_, addr, err := splitNodeName(p)
		if err != nil {
			return fmt.Errorf("static peer: %w", err)
		}
		if addr == selfAddr && p != self {
			return fmt.Errorf("%w: static peer %q has this node's address, and this node is %s", ErrBadNodeName, p, self)
		}
	}
	return nil
}

// Start reports the fixed list once.
func (s *static) Start(_ context.Context, _ string, report func([]string)) error {
	report(s.peers)
	return nil
}

// Stop does nothing.
func (s *static) Stop(context.Context) error { return nil }

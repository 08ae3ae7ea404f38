package observer

import (
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/sys"
)

// Another node of the cluster, shown on this node's page: its snapshot is
// built here from sys's listings of that node (sys.ProcessesOn,
// sys.ApplicationTreesOn, sys.ScopesOn) and its processes' status from
// sys.GetStatus, all over the cluster.

// target returns the node a request's node parameter names: "" for this
// node (no parameter, or this node's name), or another node this node has
// a session with.
func (h *Handler) target(r *http.Request) (string, error) {
	return h.member(r.URL.Query().Get("node"))
}

// member checks that node is this node ("" or its name: it returns "") or
// another node this node has a session with.
func (h *Handler) member(node string) (string, error) {
	if node == "" || node == h.node.Name() {
		return "", nil
	}
	c := h.cfg.cluster
	if c == nil {
		return "", fmt.Errorf("%w: node %q: the observer was given no cluster (observer.WithCluster)", ErrUnknownNode, node)
	}
	if !slices.Contains(c.Nodes(), node) {
		return "", fmt.Errorf("%w: node %q: this node has no session with it", ErrUnknownNode, node)
	}
	return node, nil
}

// pidKey is a process's numbers within its node.
type pidKey struct{ index, serial uint32 }

// shown remembers, per other node, the PIDs its last snapshot listed, so
// that api/process can name them by their printed form (which leaves out
// the node's boot, which a PID needs). The page shows only those.
type shown struct {
	mu   sync.Mutex
	pids map[string]map[pidKey]actor.PID // node -> PIDs
}

// keep replaces the PIDs remembered of node.
func (s *shown) keep(node string, pids map[pidKey]actor.PID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pids == nil {
		s.pids = map[string]map[pidKey]actor.PID{}
	}
	s.pids[node] = pids
}

// find returns the PID of node with the numbers given.
func (s *shown) find(node string, idx, ser uint32) (actor.PID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pids[node][pidKey{idx, ser}]
	return p, ok
}

// prune forgets the nodes not in live.
func (s *shown) prune(live func(node string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.pids {
		if !live(n) {
			delete(s.pids, n)
		}
	}
}

// collect adds the PIDs of a remote snapshot's listings to into.
func collect(into map[pidKey]actor.PID, pl sys.ProcessList, trees []sys.AppTree, scopes []sys.ScopeInfo) {
	add := func(p actor.PID) {
		if !p.IsZero() {
			i, s := p.ID()
			into[pidKey{i, s}] = p
		}
	}
	for _, p := range pl.List {
		add(p.PID)
		for _, q := range p.Links {
			add(q)
		}
	}
	var walk func(t *sys.TreeNode)
	walk = func(t *sys.TreeNode) {
		add(t.PID)
		for i := range t.Children {
			walk(&t.Children[i])
		}
	}
	for i := range trees {
		walk(&trees[i].Tree)
	}
	for _, s := range scopes {
		for _, n := range s.Names {
			add(n.PID)
		}
		for _, g := range s.Groups {
			for _, m := range g.Members {
				add(m)
			}
		}
	}
}

package sys

import (
	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/registry"
)

// ScopeInfo is one scope of a registry as Scopes lists it: how many names
// and groups it holds, and the first of them with their holders and
// members.
type ScopeInfo struct {
	Name       string
	NameCount  int
	GroupCount int
	Names      []NameInfo  // in name order, at most the limit asked for
	Groups     []GroupInfo // in name order, at most the limit asked for
}

// NameInfo is a registered name and the process that holds it.
type NameInfo struct {
	Name string
	PID  actor.PID
}

// GroupInfo is a group and its members (at most the limit asked for).
type GroupInfo struct {
	Name    string
	Members []actor.PID
}

// Scopes lists the scopes of r as this node sees them (each node holds a
// replica of every scope it has joined): at most limit names, limit
// groups, and limit members of each group, of each scope. A limit below
// 1 is taken as 1.
func Scopes(r *registry.Registry, limit int) []ScopeInfo {
	limit = max(limit, 1)
	out := []ScopeInfo{}
	for _, name := range r.Scopes() {
		s, err := r.Scope(name)
		if err != nil {
			continue // removed meanwhile
		}
		si := ScopeInfo{Name: name, NameCount: s.Count(), GroupCount: s.GroupCount()}
		names := s.Names()
		for _, n := range names[:min(len(names), limit)] {
			if pid, _, err := s.Lookup(n); err == nil {
				si.Names = append(si.Names, NameInfo{Name: n, PID: pid})
			}
		}
		groups := s.GroupNames()
		for _, g := range groups[:min(len(groups), limit)] {
			gi := GroupInfo{Name: g}
			members := s.Members(g)
			for _, m := range members[:min(len(members), limit)] {
				gi.Members = append(gi.Members, m.PID)
			}
			si.Groups = append(si.Groups, gi)
		}
		out = append(out, si)
	}
	return out
}

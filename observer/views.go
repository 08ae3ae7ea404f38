package observer

import "github.com/arbor-otp/arbor/sys"

// RegistryView is the registry's scopes (WithRegistry).
type RegistryView struct {
	Scopes []ScopeView `json:"scopes"`
}

// ScopeView is one scope: its names with their holders and its groups
// with their members, at most DefaultMaxNames of each.
type ScopeView struct {
	Name       string      `json:"name"`
	NameCount  int         `json:"nameCount"`
	GroupCount int         `json:"groupCount"`
	Names      []NameView  `json:"names"`
	Groups     []GroupView `json:"groups"`
}

// NameView is a registered name and its holder.
type NameView struct {
	Name string `json:"name"`
	PID  string `json:"pid"`
}

// GroupView is a group and its members.
type GroupView struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// ClusterView is the cluster this node is a member of (WithCluster).
type ClusterView struct {
	Name     string       `json:"name"`
	Members  []MemberView `json:"members"`
	Received uint64       `json:"received"`
	Dropped  uint64       `json:"dropped"`
}

// MemberView is a node of the cluster: this one, or one this node has a
// session with, and the address of its observer page if WithPeerURL
// knows one.
type MemberView struct {
	Node     string `json:"node"`
	Self     bool   `json:"self"`
	Session  string `json:"session"` // "self" or "up"
	Observer string `json:"observer,omitempty"`
}

func (h *Handler) registryView() *RegistryView {
	if h.cfg.registry == nil {
		return nil
	}
	return scopesView(sys.Scopes(h.cfg.registry, h.cfg.maxNames))
}

func scopesView(scopes []sys.ScopeInfo) *RegistryView {
	v := &RegistryView{Scopes: []ScopeView{}}
	for _, s := range scopes {
		sv := ScopeView{Name: s.Name, NameCount: s.NameCount, GroupCount: s.GroupCount, Names: []NameView{}, Groups: []GroupView{}}
		for _, n := range s.Names {
			sv.Names = append(sv.Names, NameView{Name: n.Name, PID: n.PID.String()})
		}
		for _, g := range s.Groups {
			gv := GroupView{Name: g.Name, Members: pids(g.Members)}
			sv.Groups = append(sv.Groups, gv)
		}
		v.Scopes = append(v.Scopes, sv)
	}
	return v
}

func (h *Handler) clusterView() *ClusterView {
	c := h.cfg.cluster
	if c == nil {
		return nil
	}
	st := c.Stats()
	v := &ClusterView{Name: c.Name(), Received: st.Received, Dropped: st.Dropped}
	member := func(node string, self bool) MemberView {
		m := MemberView{Node: node, Self: self, Session: "up"}
		if self {
			m.Session = "self"
		}
		if h.cfg.peerURL != nil && !self {
			m.Observer = h.cfg.peerURL(node)
		}
		return m
	}
	v.Members = append(v.Members, member(c.Name(), true))
	for _, n := range c.Nodes() {
		v.Members = append(v.Members, member(n, false))
	}
	return v
}

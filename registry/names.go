package registry

import (
	"sort"

	"github.com/arbor-otp/arbor/actor"
)

// Names returns the names registered in the scope, sorted. Like Lookup it
// leaves out names whose local holder has exited; it reads the scope's
// published table without a round trip to the scope process, so it sees
// each write entirely or not at all (the listing as a whole is not one
// snapshot: a write made while it runs may or may not be in it). It is
// meant for listings such as package observer's, not for a hot path: it
// visits the whole table.
func (s *Scope) Names() []string {
	var out []string
	s.names.each(func(name string, e nameEntry) {
		if s.live(e.pid) {
			out = append(out, name)
		}
	})
	sort.Strings(out)
	return out
}

// Names is Scope.Names in scope.
func (r *Registry) Names(scope string) ([]string, error) {
	s, err := r.scopeFor("list names", scope, "", "", actor.PID{})
	if err != nil {
		return nil, err
	}
	return s.Names(), nil
}

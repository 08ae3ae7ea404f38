package registry

import (
	"github.com/arbor-otp/arbor/actor"
)

// reload rebuilds a restarted scope process's state from the scope's
// tables, which outlive it: it monitors again the local processes that
// hold entries and removes the entries of those that died meanwhile,
// with reason Undefined (their exit reason is lost).
func (p *scopeProc) reload(ctx *actor.Context) {
	s := p.s
	type nameRec struct {
		name string
		e    nameEntry
	}
	var names []nameRec
	s.names.each(func(name string, e nameEntry) {
		if s.node.IsLocal(e.pid) {
			names = append(names, nameRec{name, e})
		}
	})
	for _, r := range names {
		if s.node.IsAlive(r.e.pid) {
			ps := p.track(ctx, r.e.pid)
			ps.names = append(ps.names, r.name)
			continue
		}
		p.removeName(r.name)
		p.emit(ctx, event{kind: evUnregistered, key: r.name, pid: r.e.pid, meta: r.e.meta, reason: Undefined{}})
	}
	var groups []string
	s.groups.Range(func(k, v any) bool {
		p.groups[k.(string)] = &groupState{read: v.(*groupRead)}
		groups = append(groups, k.(string))
		return true
	})
	for _, group := range groups {
		gs := p.groups[group]
		v := gs.read.view.Load()
		var local []*memberEntry
		for i := 0; i < v.n; i++ {
			if m := v.slots[i].Load(); m != nil && s.node.IsLocal(m.key.pid) {
				local = append(local, m)
			}
		}
		for _, m := range local {
			if s.node.IsAlive(m.key.pid) {
				ps := p.track(ctx, m.key.pid)
				ps.groups = append(ps.groups, group)
				continue
			}
			if old := p.removeMember(group, gs, m.key.pid); old != nil {
				p.emit(ctx, event{kind: evLeft, key: group, pid: m.key.pid, meta: old.val.meta, reason: Undefined{}})
			}
		}
	}
	if p.repl != nil {
		p.restartRepl(ctx)
	}
}

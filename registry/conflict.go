package registry

import (
	"github.com/arbor-otp/arbor/actor"
)

// conflict resolves a remote claim c on name against the live local
// registration local, on this node, which owns one of the two processes
// (the other owner does the same on its side; both reach the same result
// because the rule is deterministic and sees the same two registrations,
// in the same order). If the local process loses, it is removed here and
// the removal announced to every peer (and, by the default rule, it is
// killed); if the remote one loses, its claim is hidden until its owner
// withdraws it.
func (p *scopeProc) conflict(ctx *actor.Context, name string, local nameEntry, c *claim) {
	mine := Registration{PID: local.pid, Meta: metaValue(local.meta), Time: local.time}
	theirs := Registration{PID: c.reg().pid, Meta: metaValue(c.reg().meta), Time: c.reg().time}
	keep, kill := p.resolve(name, mine, theirs)
	ctx.Logger().Info().Str("scope", p.s.name).Str("name", name).
		Stringer("local", local.pid).Int64("local_time", local.time).
		Stringer("remote", c.reg().pid).Int64("remote_time", c.reg().time).Stringer("keep", keep).
		Msg("registry conflict resolved")
	if keep == local.pid {
		c.hidden, c.beaten = true, true
		return
	}
	p.dropLocalName(ctx, name, local)
	if keep == c.reg().pid {
		p.reshow(ctx, name, ConflictResolution{})
	} else {
		c.hidden = true
	}
	if kill {
		ctx.Exit(local.pid, &ConflictError{Scope: p.s.name, Name: name, Meta: local.meta})
	}
}

// reresolve asks a custom resolver again about each claim on name that
// lost to the local registration e (beaten), whose metadata has just
// changed (an Update, or a Register again by the same process). A claim
// hidden by an earlier registration of the name is not asked about: its
// owner gave it up when it resolved against that one, and its withdrawal
// is on the way. The other owner asks
// again when the change reaches it (remoteSetName), so the last question
// each owner asks is about the same two registrations, and they agree:
// without this, the owner whose own metadata changed would keep its
// answer about the old metadata while the other answered about the new
// one, and both could keep their own registration. The default rule
// reads only the time, which an update makes later, so its answer to the
// owner of e cannot change and it is not asked again.
func (p *scopeProc) reresolve(ctx *actor.Context, name string, e nameEntry) {
	if p.repl == nil {
		return
	}
	if _, ok := p.cfg.handler.(ConflictResolver); !ok {
		return
	}
	h := hashString(name)
	for _, l := range p.repl.peers {
		c := l.names.get(name, h)
		if c == nil || !c.beaten {
			continue
		}
		c.hidden, c.beaten = false, false // conflict hides it again unless it now wins
		p.conflict(ctx, name, e, c)
		if it := p.s.names.loadHashed(name, h); it == nil || it.val.pid != e.pid {
			return // e lost: nothing of this node's holds name now
		}
	}
}

// resolve picks the registration that keeps name: the handler's
// ConflictResolver if it has one (its loser is not killed; a panic or a
// PID that is neither means neither), else the default rule (the later
// time, then the greater PID; the loser is killed). The resolver sees the
// two in PID order, so that both owners ask it the same question.
func (p *scopeProc) resolve(name string, x, y Registration) (keep actor.PID, kill bool) {
	if pidLess(y.PID, x.PID) {
		x, y = y, x
	}
	if r, ok := p.cfg.handler.(ConflictResolver); ok {
		keep = safeResolve(r, p.s.name, name, x, y)
		if keep != x.PID && keep != y.PID {
			return actor.PID{}, false
		}
		return keep, false
	}
	if newer(x.Time, x.PID, y.Time, y.PID) {
		return x.PID, true
	}
	return y.PID, true
}

// safeResolve runs a user's resolver; a panic keeps neither.
func safeResolve(r ConflictResolver, scope, name string, a, b Registration) (keep actor.PID) {
	defer func() {
		if recover() != nil {
			keep = actor.PID{}
		}
	}()
	return r.ResolveRegistryConflict(scope, name, a, b)
}

// dropLocalName removes a local registration that lost a conflict, with
// its callback and its announcement.
func (p *scopeProc) dropLocalName(ctx *actor.Context, name string, e nameEntry) {
	p.removeName(name)
	if ps := p.procs.get(e.pid); ps != nil {
		ps.names = without(ps.names, name)
		p.untrack(ctx, e.pid, ps)
	}
	p.emit(ctx, event{kind: evUnregistered, key: name, pid: e.pid, meta: e.meta, reason: ConflictResolution{}})
	p.announceUnregistered(ctx, name, e.pid, ConflictResolution{})
}

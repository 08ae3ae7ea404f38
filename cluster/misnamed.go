package cluster

import (
	"errors"

	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// A node is known by exactly the name it calls itself, name@host:port with
// its advertised address. Every Hello names the node it is meant for; a
// node that gets a Hello meant for another name (a peer listed it as
// x@host:port, or under another spelling of its host) opens no session and
// answers with a HelloRefused, and the sender gives up that attempt with a
// NameMismatchError. Neither side sees NodeUp or NodeDown, so a wrong name
// in a peer list fails once, loudly on both sides, instead of opening and
// resetting sessions for ever.

// refuseHello answers a Hello from p that names another node than this
// one. The first refusal of each wrong name is logged as a warning.
func (t *transport) refuseHello(p *peer, h *clusterpb.Hello) {
	t.dropped.Add(1)
	p.dropped.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stepLocked(evMisnamedHello{to: h.GetTo(), session: h.GetSession(), leaving: t.leaving.Load()})
}

// refuseLocked carries out actRefuse.
func (p *peer) refuseLocked(a actRefuse) {
	if a.loud {
		p.t.log.Warn().Str("peer", p.name).Str("to", a.to).
			Msg("refused a hello meant for another node name: the peer must list this node under its own name")
	} else {
		p.t.log.Debug().Str("peer", p.name).Str("to", a.to).Msg("refused a hello meant for another node name")
	}
	if a.session == 0 {
		return
	}
	p.writeLocked(p.t.envelope(&clusterpb.Envelope{Body: &clusterpb.Envelope_HelloRefused{
		HelloRefused: &clusterpb.HelloRefused{Answers: a.session, To: a.to},
	}}))
}

// onHelloRefused ends the attempt to open the session whose Hello the
// node named from refused. The first refusal by each name is logged as an
// error naming both names; the peer stays a member and is retried every
// reconnect interval, quietly.
func (t *transport) onHelloRefused(from string, r *clusterpb.HelloRefused) {
	v, ok := t.sessions.Load(r.GetAnswers())
	if !ok || r.GetAnswers() == 0 {
		t.drop(nil, errors.New("refusal of a hello this node did not send"))
		return
	}
	p := v.(*peer)
	p.mu.Lock()
	l := p.stepLocked(evHelloRefused{from: from, self: p.name, answers: r.GetAnswers()})
	p.mu.Unlock()
	l.deliver(t.node)
}

// mismatchLocked carries out actMismatch.
func (p *peer) mismatchLocked(a actMismatch) {
	if a.loud {
		p.t.log.Error().Str("peer", p.name).Str("answered_as", a.err.Answered).Err(a.err).
			Msg("cannot connect: the node at the peer's address calls itself by another name")
	}
}

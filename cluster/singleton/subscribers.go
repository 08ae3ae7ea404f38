package singleton

import (
	"fmt"

	"github.com/arbor-otp/arbor/actor"
)

// subscribers is what both modes' singleton processes keep of the
// processes told of their events: each subscriber's monitor, and the last
// event, which Subscribe returns. Only the singleton's process touches it.
type subscribers struct {
	last Event
	subs map[actor.PID]actor.Ref
}

func newSubscribers() subscribers {
	return subscribers{subs: make(map[actor.PID]actor.Ref)}
}

// subscribe adds pid, monitored so that its exit removes it.
func (s *subscribers) subscribe(ctx *actor.Context, pid actor.PID) {
	if _, ok := s.subs[pid]; ok || pid.IsZero() {
		return
	}
	s.subs[pid] = ctx.Monitor(pid)
}

// emit stamps ev with the key and node, records it as the last event and
// sends it to every subscriber.
func (s *subscribers) emit(ctx *actor.Context, key, node string, ev Event) {
	ev.Key, ev.Node = key, node
	s.last = ev
	for pid := range s.subs {
		_ = ctx.Send(pid, ev)
	}
}

// down removes a subscriber whose monitor d ends; it reports whether d was
// one of theirs.
func (s *subscribers) down(d actor.Down) bool {
	if ref, ok := s.subs[d.PID]; ok && ref == d.Ref {
		delete(s.subs, d.PID)
		return true
	}
	return false
}

// request answers Subscribe and Unsubscribe, and refuses any other
// request with an error.
func (s *subscribers) request(ctx *actor.Context, m *actor.Request) {
	switch r := m.Message().(type) {
	case subscribeReq:
		s.subscribe(ctx, r.pid)
		m.Reply(s.last)
	case unsubscribeReq:
		if ref, ok := s.subs[r.pid]; ok {
			ctx.Demonitor(ref)
			delete(s.subs, r.pid)
		}
		m.Reply(nil)
	default:
		m.Reply(fmt.Errorf("singleton: unknown request %T", r))
	}
}

package cluster

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

var testTiming = timing{
	heartbeatInterval: 100 * time.Millisecond,
	heartbeatTimeout:  600 * time.Millisecond,
	connectTimeout:    time.Second,
	reconnectInterval: 200 * time.Millisecond,
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// up is a session open with a peer of creation 7 whose epoch for this
// node is 2; this node's id is 10, the peer's 20.
var up = session{state: peerUp, creation: 7, epoch: 1, peerEpoch: 2, in: 10, out: 20, since: t0, member: true}

// connecting is an attempt whose Hello has id 10.
var connecting = session{state: peerConnecting, epoch: 1, in: 10, since: t0, member: true}

var down = session{state: peerDown, epoch: 1, member: true, nextProbe: at(200 * time.Millisecond)}

func TestStep(t *testing.T) {
	mismatch := &NameMismatchError{Name: "b@h:1", Answered: "x@h:1"}
	tests := []struct {
		name  string
		s     session
		ev    any
		now   time.Time
		want  session
		wantA []action
	}{
		// Opening.
		{"send while down opens", down, evConnect{}, at(time.Second),
			with(down, func(s *session) { s.state, s.since = peerConnecting, at(time.Second) }), []action{actHello{}}},
		{"send while connecting waits", connecting, evConnect{}, t0, connecting, nil},
		{"hello opens and is answered", down, evHello{creation: 7, epoch: 2, session: 20}, at(time.Second),
			with(down, func(s *session) {
				s.state, s.creation, s.peerEpoch, s.out, s.since = peerUp, 7, 2, 20, at(time.Second)
			}), []action{actHello{answers: 20}, actOpen{}}},
		{"answer to this node's hello opens, unanswered", connecting, evHello{creation: 7, epoch: 2, session: 20, ack: true, answers: 10}, at(time.Second),
			with(connecting, func(s *session) {
				s.state, s.creation, s.peerEpoch, s.out, s.since = peerUp, 7, 2, 20, at(time.Second)
			}), []action{actOpen{}}},
		{"answer to an earlier hello: SessionClosed", connecting, evHello{creation: 7, session: 20, ack: true, answers: 9}, at(time.Second),
			with(connecting, func(s *session) { s.told = at(time.Second) }),
			[]action{actTellClosed{session: 9}, actDrop{"answer to an earlier hello"}}},
		{"answer while nothing was sent: SessionClosed", down, evHello{creation: 7, session: 20, ack: true, answers: 9}, at(time.Second),
			with(down, func(s *session) { s.told = at(time.Second) }),
			[]action{actTellClosed{session: 9}, actDrop{"answer to an earlier hello"}}},
		{"hello while leaving", down, evHello{creation: 7, session: 20, leaving: true}, t0,
			down, []action{actDrop{"hello while leaving the cluster"}}},
		{"opening clears the mismatch memory", with(connecting, func(s *session) { s.answeredAs, s.refusedTo = "x", "y" }),
			evHello{creation: 7, session: 20, ack: true, answers: 10}, t0,
			with(connecting, func(s *session) { s.state, s.creation, s.out, s.since = peerUp, 7, 20, t0 }), []action{actOpen{}}},

		// Epochs.
		{"duplicate hello is answered again", up, evHello{creation: 7, epoch: 2, session: 21}, at(time.Second),
			up, []action{actHello{answers: 21}}},
		{"duplicate answer is ignored", up, evHello{creation: 7, epoch: 2, session: 21, ack: true, answers: 10}, at(time.Second),
			up, nil},
		{"higher epoch: the peer declared this node down", up, evHello{creation: 7, epoch: 3, session: 30}, at(time.Second),
			with(up, func(s *session) {
				s.peerEpoch, s.out, s.since, s.nextProbe = 3, 30, at(time.Second), at(1200*time.Millisecond)
				s.in = 0 // a new id, given by the answer
			}),
			[]action{actEnd{reason: ErrSessionReset, wasUp: true, in: 10}, actHello{answers: 30}, actOpen{}}},
		{"new creation: the peer restarted", up, evHello{creation: 8, epoch: 0, session: 30}, at(time.Second),
			with(up, func(s *session) {
				s.creation, s.peerEpoch, s.out, s.since, s.nextProbe = 8, 0, 30, at(time.Second), at(1200*time.Millisecond)
				s.in = 0
			}),
			[]action{actEnd{reason: ErrSessionReset, wasUp: true, in: 10}, actHello{answers: 30}, actOpen{}}},
		{"declaring down counts an epoch", up, evEnd{reason: ErrConnectionLost}, at(time.Second),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(1200 * time.Millisecond)},
			[]action{actEnd{reason: ErrConnectionLost, wasUp: true, in: 10}}},
		{"a reset by the peer counts none", up, evSessionClosed{session: 20}, at(time.Second),
			session{state: peerDown, epoch: 1, since: t0, member: true, nextProbe: at(1200 * time.Millisecond)},
			[]action{actEnd{reason: ErrSessionReset, wasUp: true, in: 10}}},

		// Refusals and misnamed peers.
		{"misnamed hello refused loudly once", down, evMisnamedHello{to: "x@h:1", session: 5}, t0,
			with(down, func(s *session) { s.refusedTo = "x@h:1" }), []action{actRefuse{to: "x@h:1", session: 5, loud: true}}},
		{"misnamed hello again: quietly", with(down, func(s *session) { s.refusedTo = "x@h:1" }), evMisnamedHello{to: "x@h:1", session: 6}, t0,
			with(down, func(s *session) { s.refusedTo = "x@h:1" }), []action{actRefuse{to: "x@h:1", session: 6}}},
		{"misnamed hello while leaving: no answer", down, evMisnamedHello{to: "x@h:1", session: 5, leaving: true}, t0,
			with(down, func(s *session) { s.refusedTo = "x@h:1" }), []action{actRefuse{to: "x@h:1", loud: true}}},
		{"HelloRefused ends the attempt", connecting, evHelloRefused{from: "x@h:1", self: "b@h:1", answers: 10}, at(time.Second),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(1200 * time.Millisecond), answeredAs: "x@h:1"},
			[]action{actMismatch{err: mismatch, loud: true}, actEnd{reason: mismatch, in: 10}}},
		{"HelloRefused of another attempt", connecting, evHelloRefused{from: "x@h:1", self: "b@h:1", answers: 9}, t0,
			connecting, []action{actDrop{"refusal of a hello this node no longer waits for"}}},
		{"HelloRefused of an open session", up, evHelloRefused{from: "x@h:1", self: "b@h:1", answers: 10}, t0,
			up, []action{actDrop{"refusal of a hello this node no longer waits for"}}},
		{"HelloRefused under the peer's own name", connecting, evHelloRefused{from: "b@h:1", self: "b@h:1", answers: 10}, t0,
			connecting, []action{actDrop{"refusal of a hello this node no longer waits for"}}},

		// SessionClosed.
		{"SessionClosed of another session", up, evSessionClosed{session: 19}, t0, up, nil},
		{"SessionClosed while down", down, evSessionClosed{session: 20}, t0, down, nil},
		{"stale stamp: tell the peer", up, evStale{session: 9}, at(time.Second),
			with(up, func(s *session) { s.told = at(time.Second) }), []action{actTellClosed{session: 9}}},
		{"stale stamp: at most once an interval", with(up, func(s *session) { s.told = at(950 * time.Millisecond) }), evStale{session: 9}, at(time.Second),
			with(up, func(s *session) { s.told = at(950 * time.Millisecond) }), nil},
		{"stale stamp of the open session's own id", up, evStale{session: 10}, at(time.Second), up, nil},
		{"stale stamp while leaving", up, evStale{session: 9, leaving: true}, at(time.Second), up, nil},

		// Heartbeats and timeouts.
		{"tick sends a heartbeat", up, evTick{lastSeen: at(time.Second)}, at(1100 * time.Millisecond), up, []action{actHeartbeat{}}},
		{"silence up to the timeout is fine", up, evTick{lastSeen: at(time.Second)}, at(1600 * time.Millisecond), up, []action{actHeartbeat{}}},
		{"silence past the timeout ends the session", up, evTick{lastSeen: at(time.Second)}, at(1601 * time.Millisecond),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(1801 * time.Millisecond)},
			[]action{actEnd{reason: ErrHeartbeatTimeout, wasUp: true, in: 10}}},
		{"connect timeout", connecting, evTick{}, at(1001 * time.Millisecond),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(1201 * time.Millisecond)},
			[]action{actEnd{reason: ErrConnectFailed, in: 10}}},
		{"no connect timeout while dialing", connecting, evTick{dialing: true}, at(5 * time.Second), connecting, nil},
		{"stream lost while connecting", connecting, evStreamLost{}, at(time.Second),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(1200 * time.Millisecond)},
			[]action{actEnd{reason: ErrConnectFailed, in: 10}}},
		{"stream lost while up", up, evStreamLost{}, at(time.Second),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(1200 * time.Millisecond)},
			[]action{actEnd{reason: ErrConnectionLost, wasUp: true, in: 10}}},
		{"stream of the open session lost", up, evStreamLost{session: 10}, at(time.Second),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(1200 * time.Millisecond)},
			[]action{actEnd{reason: ErrConnectionLost, wasUp: true, in: 10}}},
		{"stream of an earlier session lost", up, evStreamLost{session: 9}, at(time.Second), up, nil},
		{"stream of a session lost while connecting", connecting, evStreamLost{session: 10}, at(time.Second), connecting, nil},
		{"stream of a session lost while down", down, evStreamLost{session: 10}, at(time.Second), down, nil},

		// A frozen self: the silence this node slept through is its own.
		{"away: the peer is given the time back", up, evTick{lastSeen: at(time.Second), away: 5 * time.Second}, at(6100 * time.Millisecond),
			up, []action{actSeen{at: at(6 * time.Second)}, actHeartbeat{}}},
		{"away: never later than now", up, evTick{lastSeen: at(time.Second), away: 9 * time.Second}, at(6100 * time.Millisecond),
			up, []action{actSeen{at: at(6100 * time.Millisecond)}, actHeartbeat{}}},
		{"away: silence before the pause still counts", up, evTick{lastSeen: at(time.Second), away: 2 * time.Second}, at(6100 * time.Millisecond),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(6300 * time.Millisecond)},
			[]action{actSeen{at: at(3 * time.Second)}, actEnd{reason: ErrHeartbeatTimeout, wasUp: true, in: 10}}},

		// Announced heartbeat intervals: the peer may stay silent for 3 of
		// its intervals, at least (testTiming's timeout is 600 ms).
		{"hello announcing a slow interval raises the timeout", down, evHello{creation: 7, epoch: 2, session: 20, interval: 500 * time.Millisecond}, at(time.Second),
			with(down, func(s *session) {
				s.state, s.creation, s.peerEpoch, s.out, s.since, s.peerInterval = peerUp, 7, 2, 20, at(time.Second), 500*time.Millisecond
			}), []action{actHello{answers: 20}, actOpen{}, actTimeout{timeout: 1500 * time.Millisecond, interval: 500 * time.Millisecond}}},
		{"answer announcing a slow interval raises the timeout", connecting, evHello{creation: 7, epoch: 2, session: 20, ack: true, answers: 10, interval: time.Second}, at(time.Second),
			with(connecting, func(s *session) {
				s.state, s.creation, s.peerEpoch, s.out, s.since, s.peerInterval = peerUp, 7, 2, 20, at(time.Second), time.Second
			}), []action{actOpen{}, actTimeout{timeout: 3 * time.Second, interval: time.Second}}},
		{"hello announcing a fast interval keeps the timeout", down, evHello{creation: 7, epoch: 2, session: 20, interval: 100 * time.Millisecond}, at(time.Second),
			with(down, func(s *session) {
				s.state, s.creation, s.peerEpoch, s.out, s.since, s.peerInterval = peerUp, 7, 2, 20, at(time.Second), 100*time.Millisecond
			}), []action{actHello{answers: 20}, actOpen{}}},
		{"slow peer: silence up to 3 intervals is fine", with(up, func(s *session) { s.peerInterval = 500 * time.Millisecond }),
			evTick{lastSeen: at(time.Second)}, at(2500 * time.Millisecond),
			with(up, func(s *session) { s.peerInterval = 500 * time.Millisecond }), []action{actHeartbeat{}}},
		{"slow peer: silence past 3 intervals ends the session", with(up, func(s *session) { s.peerInterval = 500 * time.Millisecond }),
			evTick{lastSeen: at(time.Second)}, at(2501 * time.Millisecond),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(2701 * time.Millisecond)},
			[]action{actEnd{reason: ErrHeartbeatTimeout, wasUp: true, in: 10}}},
		{"a peer announcing an hour: silence up to 10 timeouts is fine", with(up, func(s *session) { s.peerInterval = time.Hour }),
			evTick{lastSeen: at(time.Second)}, at(7 * time.Second),
			with(up, func(s *session) { s.peerInterval = time.Hour }), []action{actHeartbeat{}}},
		{"a peer announcing an hour: silence past 10 timeouts ends the session", with(up, func(s *session) { s.peerInterval = time.Hour }),
			evTick{lastSeen: at(time.Second)}, at(7001 * time.Millisecond),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(7201 * time.Millisecond)},
			[]action{actEnd{reason: ErrHeartbeatTimeout, wasUp: true, in: 10}}},
		{"fast peer: the configured timeout still holds", with(up, func(s *session) { s.peerInterval = 100 * time.Millisecond }),
			evTick{lastSeen: at(time.Second)}, at(1601 * time.Millisecond),
			session{state: peerDown, epoch: 2, since: t0, member: true, nextProbe: at(1801 * time.Millisecond)},
			[]action{actEnd{reason: ErrHeartbeatTimeout, wasUp: true, in: 10}}},
		{"a restarted peer's hello without an interval: the configured timeout", with(up, func(s *session) { s.peerInterval = 500 * time.Millisecond }),
			evHello{creation: 8, session: 30}, at(time.Second),
			with(up, func(s *session) {
				s.creation, s.peerEpoch, s.out, s.since, s.nextProbe = 8, 0, 30, at(time.Second), at(1200*time.Millisecond)
				s.in = 0
			}),
			[]action{actEnd{reason: ErrSessionReset, wasUp: true, in: 10}, actHello{answers: 30}, actOpen{}}},

		// Reconnecting.
		{"member probed after the reconnect interval", down, evTick{}, at(200 * time.Millisecond),
			with(down, func(s *session) { s.state, s.since = peerConnecting, at(200*time.Millisecond) }), []action{actHello{}}},
		{"member not probed before it", down, evTick{}, at(199 * time.Millisecond), down, nil},
		{"a non-member is not probed", with(down, func(s *session) { s.member = false }), evTick{}, at(time.Hour),
			with(down, func(s *session) { s.member = false }), nil},
		{"a new member is probed at the next tick", with(down, func(s *session) { s.member = false }), evMember{member: true}, t0,
			with(down, func(s *session) { s.nextProbe = time.Time{} }), nil},
		{"leaving the member list keeps the session", up, evMember{member: false}, t0,
			with(up, func(s *session) { s.member = false }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, acts := step(tt.s, tt.ev, tt.now, testTiming)
			if got != tt.want {
				t.Errorf("state\n got %+v\nwant %+v", got, tt.want)
			}
			if !reflect.DeepEqual(acts, tt.wantA) {
				t.Errorf("actions\n got %#v\nwant %#v", acts, tt.wantA)
			}
		})
	}
}

// TestStepReconnectInterval: a member that cannot be reached is tried
// once every reconnect interval, each failed attempt counting an epoch.
func TestStepReconnectInterval(t *testing.T) {
	s := down
	s.nextProbe = t0
	now := t0
	var attempts []time.Time
	for now.Before(at(time.Second)) {
		var acts []action
		s, acts = step(s, evTick{}, now, testTiming)
		for _, a := range acts {
			if _, ok := a.(actHello); ok {
				attempts = append(attempts, now)
				// The dial fails at once.
				s, _ = step(s, evEnd{reason: ErrConnectFailed}, now, testTiming)
			}
		}
		now = now.Add(testTiming.heartbeatInterval)
	}
	want := []time.Time{t0, at(200 * time.Millisecond), at(400 * time.Millisecond), at(600 * time.Millisecond), at(800 * time.Millisecond)}
	if !reflect.DeepEqual(attempts, want) {
		t.Fatalf("attempts at %v, want %v", attempts, want)
	}
	if s.epoch != down.epoch+uint64(len(want)) {
		t.Fatalf("epoch %d after %d failed attempts from %d", s.epoch, len(want), down.epoch)
	}
}

func TestAway(t *testing.T) {
	for _, tt := range []struct {
		gap, want time.Duration
	}{
		{100 * time.Millisecond, 0},
		{600 * time.Millisecond, 0},
		{601 * time.Millisecond, 501 * time.Millisecond},
		{10 * time.Second, 9900 * time.Millisecond},
	} {
		if got := away(t0, t0.Add(tt.gap), testTiming); got != tt.want {
			t.Errorf("away after a %v gap = %v, want %v", tt.gap, got, tt.want)
		}
	}
}

// TestStepEndsNameMismatchForCalls: a refusal's error is the
// NameMismatchError, which lost.deliver joins to NoConnection.
func TestStepEndsNameMismatchForCalls(t *testing.T) {
	_, acts := step(connecting, evHelloRefused{from: "x@h:1", self: "b@h:1", answers: 10}, t0, testTiming)
	end, ok := acts[len(acts)-1].(actEnd)
	if !ok || !errors.Is(end.reason, ErrNameMismatch) {
		t.Fatalf("actions %#v, want an actEnd with a NameMismatchError", acts)
	}
}

func with(s session, f func(*session)) session {
	f(&s)
	return s
}

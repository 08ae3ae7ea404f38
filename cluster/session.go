package cluster

import (
	"errors"
	"time"
)

// The decisions of a session with one peer are made by step, a pure
// function of the session's state, one event and the time:
//
//	next, actions := step(state, event, now)
//
// step changes nothing but the state it returns; the peer carries out the
// actions (send a Hello, open the session, end it, send a heartbeat, ...)
// in order. That is what the table tests of session_test.go check, and
// what lets the in-memory network (memnet.go) drive sessions through any
// schedule of faults.
//
// Ownership and lock order. The session is owned by whoever holds its
// peer's mu: every event is stepped, and its actions carried out, with mu
// held, so mu serializes the session as one loop would, in the order the
// events came (the stream readers, the writer, the dialer, the heartbeat
// loop and the senders all hand their events to stepLocked). The locks
// are taken in this order, never the other way:
//
//  0. peer.deliverMu (a signal from the peer is delivered, and a lost
//     session's watchers told, under it: the one is never told after
//     the other it should precede);
//  1. peer.mu (one peer at a time: no code holds two peers' locks);
//  2. transport.mu (publish, peerFor and trackN take it under peer.mu);
//  3. peerConn.sendMu (taken without peer.mu: by the writer, by a sender
//     draining an idle stream inline, by finish).
//
// A node's processes are told of a lost session (lost.deliver) only once
// peer.mu is released. What a stream reader got past the lock-free
// session check acts only if its session is still open under peer.mu. peer.open is an atomic written
// under mu and read without it by the stream readers; peer.lastSeen is
// an atomic the stream readers write without mu (each packet of the open
// session, and each part of a frame that arrives in parts: tcp.go) and
// the heartbeat loop reads.

// session is the state step decides on: where the session stands, its
// ids and epochs, and the timers of the failure detector.
type session struct {
	state     peerState
	creation  uint32 // the peer's incarnation in the open session
	epoch     uint64 // times this node declared the peer down
	peerEpoch uint64 // the peer's epoch for this node in the open session
	in        uint64 // this node's id for the session, sent in its Hello
	out       uint64 // the peer's id for the session, stamped on what is sent
	since     time.Time
	nextProbe time.Time
	member    bool
	told      time.Time // when the peer was last sent a SessionClosed
	// peerInterval is the heartbeat interval the peer announced in the
	// Hello that opened the session (0: it announced none).
	peerInterval time.Duration
	// answeredAs is the other name the node at addr last refused a Hello
	// under, and refusedTo the other name this peer last sent a Hello
	// to: each mismatch is logged loudly once (misnamed.go).
	answeredAs string
	refusedTo  string
}

// intervalsPerTimeout is how many of a peer's announced heartbeat
// intervals a session allows it to stay silent, at least: a node whose
// own timeout is shorter waits that long instead.
const intervalsPerTimeout = 3

// maxRaise bounds how far a peer's announced interval can stretch the
// node's own timeout: to at most maxRaise times it, so that a peer (slow,
// misconfigured or hostile) cannot put off its failure detection at will.
const maxRaise = 10

// timeout is how long the peer of the open session may stay silent: the
// configured heartbeat timeout, raised to intervalsPerTimeout of the
// peer's heartbeat interval if that is longer, but never past maxRaise
// times the configured timeout.
func (s session) timeout(tm timing) time.Duration {
	raised := min(intervalsPerTimeout*s.peerInterval, maxRaise*tm.heartbeatTimeout)
	return max(tm.heartbeatTimeout, raised)
}

// timing is the part of the configuration step needs.
type timing struct {
	heartbeatInterval time.Duration
	heartbeatTimeout  time.Duration
	connectTimeout    time.Duration
	reconnectInterval time.Duration
}

func (c config) timing() timing {
	return timing{
		heartbeatInterval: c.heartbeatInterval,
		heartbeatTimeout:  c.heartbeatTimeout,
		connectTimeout:    c.connectTimeout,
		reconnectInterval: c.reconnectInterval,
	}
}

// The events of a session.
type (
	// evConnect: something is to be sent to the peer (or the loop probes
	// a member): open a session if there is none.
	evConnect struct{}
	// evHello: the peer's Hello (or its answer to this node's), meant for
	// this node's name.
	evHello struct {
		creation uint32
		epoch    uint64
		session  uint64        // the peer's id for the session
		ack      bool          // an answer to this node's Hello
		answers  uint64        // the id of the Hello it answers
		leaving  bool          // this node is leaving: Hellos are refused
		interval time.Duration // the peer's heartbeat interval, 0 if it announced none
	}
	// evMisnamedHello: the peer sent a Hello meant for another name.
	evMisnamedHello struct {
		to      string
		session uint64
		leaving bool
	}
	// evHelloRefused: the node at the peer's address, calling itself
	// from, refused the Hello whose id is answers.
	evHelloRefused struct {
		from    string
		self    string // the name this session's peer is known by
		answers uint64
	}
	// evSessionClosed: the peer says that session, its id, is not open.
	evSessionClosed struct{ session uint64 }
	// evStale: the peer stamped something with session, which this node
	// has not open.
	evStale struct {
		session uint64
		leaving bool
	}
	// evTick: a heartbeat tick. lastSeen is when the peer was last heard
	// from, away how long this node itself was not running before the
	// tick (see away), dialing whether a dial is under way.
	evTick struct {
		lastSeen time.Time
		away     time.Duration
		dialing  bool
	}
	// evEnd: the session (or the attempt) ends for reason: its stream
	// broke, a dial failed, the peer left, this node stops.
	evEnd struct{ reason error }
	// evStreamLost: a stream ended with an error. session is this node's
	// id of the session whose packets a stream from the peer carried
	// last: the loss ends only that session, if it is still the open one.
	// 0 is the peer's own stream to the peer, which belongs to whatever
	// session (or attempt) holds it.
	evStreamLost struct{ session uint64 }
	// evMember: the provider does (or no longer does) list the peer.
	evMember struct{ member bool }
)

// The actions step asks for, carried out in order by the peer.
type (
	// actHello: send a Hello, answering the peer's Hello answers (0 for
	// one that opens a session); a session with no id gets one first.
	actHello struct{ answers uint64 }
	// actOpen: the session opened: flush what waited, publish NodeUp.
	actOpen struct{}
	// actEnd: the session (or the attempt) ended: tell every watcher,
	// publish NodeDown if it was open (wasUp).
	actEnd struct {
		reason error
		wasUp  bool
		in     uint64 // this node's id of the session that ended, 0 if none
	}
	// actHeartbeat: send a heartbeat.
	actHeartbeat struct{}
	// actTellClosed: send the peer a SessionClosed for its id session.
	actTellClosed struct{ session uint64 }
	// actRefuse: answer a misnamed Hello with a HelloRefused; loud the
	// first time the peer uses that wrong name.
	actRefuse struct {
		to      string
		session uint64 // 0: nothing to answer
		loud    bool
	}
	// actMismatch: log that the node at the peer's address is another
	// node; loud the first time.
	actMismatch struct {
		err  *NameMismatchError
		loud bool
	}
	// actDrop: the event was not acted on, and why.
	actDrop struct{ why string }
	// actTimeout: the session that opened allows the peer timeout of
	// silence rather than the configured heartbeat timeout, because the
	// peer heartbeats only every interval.
	actTimeout struct{ timeout, interval time.Duration }
	// actSeen: this node was not running for a while (evTick.away): the
	// peer counts as heard from at, not blamed for the silence this
	// node slept through.
	actSeen struct{ at time.Time }
)

type action any

// step decides what event ev does to session s at now.
func step(s session, ev any, now time.Time, tm timing) (session, []action) {
	switch e := ev.(type) {
	case evConnect:
		if s.state != peerDown {
			return s, nil
		}
		s.state, s.since = peerConnecting, now
		return s, []action{actHello{}}

	case evHello:
		if e.leaving {
			return s, []action{actDrop{"hello while leaving the cluster"}}
		}
		if e.ack && (s.in == 0 || e.answers != s.in) {
			// The answer to a Hello of an earlier attempt (or session):
			// the session it would open is not the one the peer answered
			// last. The peer may have opened it on that Hello alone (a
			// Hello that an old connection delivered late): tell it to
			// close it.
			var acts []action
			s, acts = tellClosed(s, e.answers, false, now, tm)
			return s, append(acts, actDrop{"answer to an earlier hello"})
		}
		var acts []action
		if s.state == peerUp {
			if e.creation == s.creation && e.epoch <= s.peerEpoch {
				if !e.ack {
					return s, []action{actHello{answers: e.session}} // a duplicate: answer it again
				}
				return s, nil
			}
			// The peer restarted, or declared this node down since.
			var end []action
			s, end = endSession(s, ErrSessionReset, now, tm)
			acts = append(acts, end...)
		}
		answer := !e.ack || s.state == peerDown
		s.state = peerUp
		s.creation, s.peerEpoch, s.out = e.creation, e.epoch, e.session
		s.since = now
		s.answeredAs, s.refusedTo = "", ""
		s.peerInterval = e.interval
		// The answer goes first, before what waited for the session.
		if answer {
			acts = append(acts, actHello{answers: e.session})
		}
		acts = append(acts, actOpen{})
		if timeout := s.timeout(tm); timeout > tm.heartbeatTimeout {
			acts = append(acts, actTimeout{timeout: timeout, interval: e.interval})
		}
		return s, acts

	case evMisnamedHello:
		loud := s.refusedTo != e.to
		s.refusedTo = e.to
		session := e.session
		if e.leaving {
			session = 0
		}
		return s, []action{actRefuse{to: e.to, session: session, loud: loud}}

	case evHelloRefused:
		if s.state != peerConnecting || s.in != e.answers || e.from == e.self {
			return s, []action{actDrop{"refusal of a hello this node no longer waits for"}}
		}
		err := &NameMismatchError{Name: e.self, Answered: e.from}
		loud := s.answeredAs != e.from
		s.answeredAs = e.from
		s, acts := endSession(s, err, now, tm)
		return s, append([]action{actMismatch{err: err, loud: loud}}, acts...)

	case evSessionClosed:
		if s.state == peerDown || s.out == 0 || s.out != e.session {
			return s, nil
		}
		return endSession(s, ErrSessionReset, now, tm)

	case evStale:
		return tellClosed(s, e.session, e.leaving, now, tm)

	case evTick:
		var acts []action
		seen := e.lastSeen
		if e.away > 0 {
			// The silence this node slept through is its own.
			seen = seen.Add(e.away)
			if seen.After(now) {
				seen = now
			}
			acts = append(acts, actSeen{at: seen})
		}
		switch s.state {
		case peerUp:
			if now.Sub(seen) > s.timeout(tm) {
				var end []action
				s, end = endSession(s, ErrHeartbeatTimeout, now, tm)
				return s, append(acts, end...)
			}
			return s, append(acts, actHeartbeat{})
		case peerConnecting:
			if !e.dialing && now.Sub(s.since) > tm.connectTimeout {
				var end []action
				s, end = endSession(s, ErrConnectFailed, now, tm)
				return s, append(acts, end...)
			}
		case peerDown:
			if s.member && !now.Before(s.nextProbe) {
				var open []action
				s, open = step(s, evConnect{}, now, tm)
				return s, append(acts, open...)
			}
		}
		return s, acts

	case evStreamLost:
		if e.session != 0 && (s.state != peerUp || s.in != e.session) {
			return s, nil // an earlier session's stream: the open one is not its
		}
		reason := ErrConnectionLost
		if s.state == peerConnecting {
			reason = ErrConnectFailed
		}
		return endSession(s, reason, now, tm)

	case evEnd:
		return endSession(s, e.reason, now, tm)

	case evMember:
		s.member = e.member
		if s.member && s.state == peerDown {
			s.nextProbe = time.Time{} // probe at the next tick
		}
		return s, nil
	}
	return s, []action{actDrop{"unknown event"}}
}

// endSession ends the session or the attempt to open one (nothing happens
// if there is neither, except that the stream is let go).
func endSession(s session, reason error, now time.Time, tm timing) (session, []action) {
	end := actEnd{reason: reason, wasUp: s.state == peerUp, in: s.in}
	s.state = peerDown
	s.creation, s.peerEpoch, s.in, s.out = 0, 0, 0, 0
	s.peerInterval = 0
	// epoch counts the times this node declared the peer down. A session
	// the peer reset (it declared this node down, or restarted) is not
	// one: counting it would make the answer to the peer's Hello look
	// like a new declaration, which the peer would answer by resetting
	// its side, and so on without end.
	if !errors.Is(reason, ErrSessionReset) {
		s.epoch++
	}
	s.nextProbe = now.Add(tm.reconnectInterval)
	return s, []action{end}
}

// away is how long a node whose heartbeat loop ticked last at last, and
// now again at now, was itself not running: a tick later than the
// heartbeat timeout means the node was stopped (SIGSTOP, or a pause of
// the whole process), and the silence of its peers during that time is
// its own. It is 0 for a tick on time.
func away(last, now time.Time, tm timing) time.Duration {
	if gap := now.Sub(last); gap > tm.heartbeatTimeout {
		return gap - tm.heartbeatInterval
	}
	return 0
}

// tellClosed tells the peer that session, an id this node gave, is not
// open here: at most once per heartbeat interval, and never while leaving.
func tellClosed(s session, id uint64, leaving bool, now time.Time, tm timing) (session, []action) {
	if id == 0 || id == s.in || leaving || now.Sub(s.told) < tm.heartbeatInterval {
		return s, nil
	}
	s.told = now
	return s, []action{actTellClosed{session: id}}
}

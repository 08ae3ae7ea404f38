// Package memnet is a network inside one OS process: nodes listen on
// made-up addresses and dial each other, and a stream carries packets
// (byte slices) one way, in order, from its dialer to its listener, as
// Arbor's gRPC stream does (ADR 0006). The faults of a real network can be
// injected per pair of addresses:
//
//   - Cut holds every packet between two addresses, both ways, and holds
//     every dial between them until it is healed or the dial's context
//     ends (a silent blackhole: TCP would retransmit its SYN and its
//     data, so nothing held is lost while the stream lives);
//   - CutOneWay holds the packets of one direction only (and holds dials
//     between the two, as a TCP handshake needs both directions);
//   - Stall holds the packets both ways but lets dials through (a stuck
//     proxy: new connections open, nothing moves on any);
//   - StallStreams holds the streams open between two addresses now,
//     while those opened later work (a connection frozen in a proxy);
//   - Delay delivers each packet of one direction d after it was sent;
//   - Heal lifts every fault between two addresses: what was held moves
//     on, in order, on the streams still open;
//   - Reset closes the streams open between two addresses at both ends at
//     once, losing what they hold (a connection reset: a loud cut when
//     combined with Cut, or the sockets of a process killed with kill -9).
//
// A stream closed by one end while its direction towards the other is
// held is seen closed by the other end only once the fault is healed, as
// a reset that a cut network loses; what was sent on it before is still
// delivered first (it was in the network already), which is how an old
// connection delivers late after a cut heals.
//
// Time is the time package's, so that a test run inside a
// testing/synctest bubble drives delays with its fake clock. The package
// has no Arbor API; package cluster adapts it (its memory network) and
// package cluster/clustertest hands it to users.
package memnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// ErrClosed is returned by a stream's reads and writes once it is closed.
var ErrClosed = errors.New("memnet: stream closed")

// ErrRefused is returned by Dial when nothing listens at the address.
var ErrRefused = errors.New("memnet: connection refused")

// ErrCut is returned by Dial between two addresses the network is cut
// between, once the dial's context ended.
var ErrCut = errors.New("memnet: network cut")

// Network is one in-memory network. Its zero value is not usable: use New.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*listener
	faults    map[pair]fault
	streams   map[*Stream]struct{}
	nextPort  int
	changed   chan struct{} // closed and replaced when a fault or a listener changes
}

// pair is one direction between two addresses.
type pair struct{ from, to string }

type fault struct {
	hold  bool          // packets wait (Cut, CutOneWay, Stall)
	cut   bool          // dials fail (Cut, CutOneWay)
	delay time.Duration // packets are delivered this long after they were sent
}

type listener struct {
	accept func(*Stream)
	done   chan struct{}
}

// New returns an empty network.
func New() *Network {
	return &Network{
		listeners: make(map[string]*listener),
		faults:    make(map[pair]fault),
		streams:   make(map[*Stream]struct{}),
		nextPort:  1,
		changed:   make(chan struct{}),
	}
}

// Listen accepts streams at addr, host:port, with port 0 for one not yet
// taken; it returns the address listened at. accept is called, on the
// dialer's goroutine, with the listener's end of each stream dialed to
// it; it must not block. It returns an error for a bad address or one
// already listened at. stop ends the listener: no more streams are
// accepted and the reads of those it accepted fail.
func (n *Network) Listen(addr string, accept func(*Stream)) (bound string, stop func(), err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("memnet: listen %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 || host == "" {
		return "", nil, fmt.Errorf("memnet: listen %q: bad address", addr)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if p == 0 {
		for {
			a := net.JoinHostPort(host, strconv.Itoa(n.nextPort))
			n.nextPort++
			if _, taken := n.listeners[a]; !taken {
				addr = a
				break
			}
		}
	}
	if _, taken := n.listeners[addr]; taken {
		return "", nil, fmt.Errorf("memnet: listen %s: address in use", addr)
	}
	l := &listener{accept: accept, done: make(chan struct{})}
	n.listeners[addr] = l
	var once sync.Once
	stop = func() {
		once.Do(func() {
			n.mu.Lock()
			if n.listeners[addr] == l {
				delete(n.listeners, addr)
			}
			n.changedLocked()
			n.mu.Unlock()
			close(l.done)
		})
	}
	return addr, stop, nil
}

// Dial opens a stream from the node at address from to the listener at
// address to. It returns ErrRefused if nothing listens there and ctx's
// error if it ended. Between two addresses the network is cut between it
// waits, as a TCP dial into a blackhole does, until the cut is healed or
// ctx ends (then it returns ErrCut with ctx's error).
func (n *Network) Dial(ctx context.Context, from, to string) (*Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	var l *listener
	for {
		var ok bool
		if l, ok = n.listeners[to]; !ok {
			n.mu.Unlock()
			return nil, fmt.Errorf("%w: %s", ErrRefused, to)
		}
		if !n.faults[pair{from, to}].cut && !n.faults[pair{to, from}].cut {
			break
		}
		changed := n.changed
		n.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s to %s: %w", ErrCut, from, to, ctx.Err())
		case <-changed:
		}
		n.mu.Lock()
	}
	s := &Stream{net: n, from: from, to: to, wake: make(chan struct{}), served: l.done}
	n.streams[s] = struct{}{}
	n.mu.Unlock()
	l.accept(s)
	return s, nil
}

// Cut holds the packets between a and b, both ways, and fails dials
// between them, until Heal.
func (n *Network) Cut(a, b string) {
	n.set(pair{a, b}, func(f *fault) { f.hold, f.cut = true, true })
	n.set(pair{b, a}, func(f *fault) { f.hold, f.cut = true, true })
}

// CutOneWay holds the packets from a to b (those from b to a still move)
// and fails dials between them, until Heal.
func (n *Network) CutOneWay(from, to string) {
	n.set(pair{from, to}, func(f *fault) { f.hold, f.cut = true, true })
	n.set(pair{to, from}, func(f *fault) { f.cut = true })
}

// Stall holds the packets between a and b, both ways, until Heal; dials
// still succeed.
func (n *Network) Stall(a, b string) {
	n.set(pair{a, b}, func(f *fault) { f.hold = true })
	n.set(pair{b, a}, func(f *fault) { f.hold = true })
}

// StallStreams holds the packets of the streams open between a and b now,
// both ways, until Heal; streams opened later work (a connection frozen
// in a proxy, while new ones go through).
func (n *Network) StallStreams(a, b string) {
	for _, s := range n.between(a, b) {
		s.mu.Lock()
		s.frozen = true
		s.notifyLocked()
		s.mu.Unlock()
	}
}

// Reset closes every stream open between a and b, either way, at both
// ends at once: their reads and writes fail with ErrClosed, and what they
// held or queued is lost, as on a connection reset. Streams opened later
// are not affected; combine it with Cut for a loud cut.
func (n *Network) Reset(a, b string) {
	for _, s := range n.between(a, b) {
		s.mu.Lock()
		s.aborted, s.finished, s.frozen = true, true, false
		s.queue = nil
		s.notifyLocked()
		s.mu.Unlock()
		n.forget(s)
	}
}

// between returns the streams between a and b, either way.
func (n *Network) between(a, b string) []*Stream {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*Stream
	for s := range n.streams {
		if (s.from == a && s.to == b) || (s.from == b && s.to == a) {
			out = append(out, s)
		}
	}
	return out
}

// Delay delivers each packet from a to b d after it is sent (0 for at
// once), in order, until Heal.
func (n *Network) Delay(from, to string, d time.Duration) {
	n.set(pair{from, to}, func(f *fault) { f.delay = max(d, 0) })
}

// Heal lifts every fault between a and b, both ways.
func (n *Network) Heal(a, b string) {
	for _, s := range n.between(a, b) {
		s.mu.Lock()
		s.frozen = false
		s.mu.Unlock()
	}
	n.set(pair{a, b}, func(f *fault) { *f = fault{} })
	n.set(pair{b, a}, func(f *fault) { *f = fault{} })
}

// HealAll lifts every fault of the network.
func (n *Network) HealAll() {
	n.mu.Lock()
	clear(n.faults)
	n.changedLocked()
	streams := n.streamsLocked()
	n.mu.Unlock()
	for _, s := range streams {
		s.mu.Lock()
		s.frozen = false
		s.notifyLocked()
		s.mu.Unlock()
	}
}

func (n *Network) set(p pair, f func(*fault)) {
	n.mu.Lock()
	v := n.faults[p]
	f(&v)
	if v == (fault{}) {
		delete(n.faults, p)
	} else {
		n.faults[p] = v
	}
	n.changedLocked()
	streams := n.streamsLocked()
	n.mu.Unlock()
	for _, s := range streams {
		s.notify()
	}
}

// changedLocked wakes the dials waiting for a fault to lift.
func (n *Network) changedLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

func (n *Network) streamsLocked() []*Stream {
	out := make([]*Stream, 0, len(n.streams))
	for s := range n.streams {
		out = append(out, s)
	}
	return out
}

func (n *Network) fault(from, to string) fault {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.faults[pair{from, to}]
}

func (n *Network) forget(s *Stream) {
	n.mu.Lock()
	delete(n.streams, s)
	n.mu.Unlock()
}

// Stream is one stream: its dialer writes packets with SendMsg, its
// listener reads them with RecvMsg. Packets are *[]byte, as with
// Arbor's gRPC codec. The dialer's RecvMsg waits for the listener's end
// to finish (Finish) or the stream to close. Lock order: Stream.mu, then
// Network.mu.
type Stream struct {
	net      *Network
	from, to string
	served   <-chan struct{} // closed when the listener stops

	mu       sync.Mutex
	queue    []packet
	lastDue  time.Time
	wake     chan struct{} // closed and replaced on every change
	sendDone bool          // the dialer half-closed (CloseSend)
	aborted  bool          // the dialer closed the stream (Close)
	frozen   bool          // held both ways by StallStreams
	finished bool          // the listener's end finished reading
}

type packet struct {
	b   []byte
	due time.Time
}

func (s *Stream) notify() {
	s.mu.Lock()
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Stream) notifyLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// SendMsg writes one packet (a *[]byte, copied) from the dialer. It never
// blocks; it returns ErrClosed once the stream is closed or half-closed.
func (s *Stream) SendMsg(m any) error {
	b, ok := m.(*[]byte)
	if !ok {
		return fmt.Errorf("memnet: cannot send %T", m)
	}
	due := time.Now().Add(s.net.fault(s.from, s.to).delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted || s.sendDone || s.finished {
		return ErrClosed
	}
	if due.Before(s.lastDue) {
		due = s.lastDue // in order, whatever the delays
	}
	s.lastDue = due
	s.queue = append(s.queue, packet{b: slices.Clone(*b), due: due})
	s.notifyLocked()
	return nil
}

// CloseSend half-closes the stream: the listener reads what was sent, then
// io.EOF.
func (s *Stream) CloseSend() error {
	s.mu.Lock()
	s.sendDone = true
	s.notifyLocked()
	s.mu.Unlock()
	return nil
}

// Close closes the stream from the dialer's end. What it sent is in the
// network already: the listener reads it (once the direction towards it
// is not held), then fails to read more.
func (s *Stream) Close() {
	s.mu.Lock()
	s.aborted = true
	s.notifyLocked()
	finished := s.finished
	s.mu.Unlock()
	if finished {
		s.net.forget(s)
	}
}

// Finish is called by the listener's end when it is done reading: the
// dialer's RecvMsg returns io.EOF (once the direction towards it is not
// held).
func (s *Stream) Finish() {
	s.mu.Lock()
	s.finished = true
	s.queue = nil
	s.notifyLocked()
	aborted := s.aborted
	s.mu.Unlock()
	if aborted {
		s.net.forget(s)
	}
}

// RecvMsg is the dialer's read (the listener reads with Server): as on
// Arbor's gRPC stream, nothing comes back, so it waits until the listener
// finished (io.EOF) or the dialer closed the stream (ErrClosed).
func (s *Stream) RecvMsg(any) error {
	for {
		s.mu.Lock()
		if s.aborted {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.finished && !s.frozen && !s.net.fault(s.to, s.from).hold {
			s.mu.Unlock()
			return io.EOF
		}
		wake := s.wake
		s.mu.Unlock()
		<-wake
	}
}

// Server is the listener's end of a stream.
type Server struct{ s *Stream }

// Server returns the listener's end of s.
func (s *Stream) Server() Server { return Server{s} }

// RecvMsg reads the next packet into m (a *[]byte), waiting for it. It
// returns io.EOF after the dialer half-closed and everything sent was
// read, and ErrClosed when the dialer closed the stream or the listener
// stopped.
func (v Server) RecvMsg(m any) error {
	b, ok := m.(*[]byte)
	if !ok {
		return fmt.Errorf("memnet: cannot receive into %T", m)
	}
	s := v.s
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		held := s.frozen || s.net.fault(s.from, s.to).hold
		var due <-chan time.Time
		switch {
		case s.finished:
			s.mu.Unlock()
			return ErrClosed
		case held:
		case len(s.queue) > 0:
			wait := time.Until(s.queue[0].due)
			if wait <= 0 {
				*b = s.queue[0].b
				s.queue[0] = packet{}
				s.queue = s.queue[1:]
				s.mu.Unlock()
				return nil
			}
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			due = timer.C
		case s.aborted:
			s.mu.Unlock()
			return ErrClosed
		case s.sendDone:
			s.mu.Unlock()
			return io.EOF
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-due:
		case <-s.served:
			return ErrClosed
		}
	}
}

// option makes the cluster.Option that puts a node on a network; package
// cluster installs it at init (it cannot be named here, below cluster).
var option func(*Network) any

// InstallOption is called by package cluster, once, at init.
func InstallOption(f func(*Network) any) { option = f }

// Option returns the cluster.Option (as any) that puts a node on n. It
// returns nil if package cluster is not linked in.
func Option(n *Network) any {
	if option == nil {
		return nil
	}
	return option(n)
}

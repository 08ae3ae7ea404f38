package cluster

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// wireQueue is a stream that keeps the packets a transport sends to a
// peer, so that a test decides when (and whether) they arrive.
type wireQueue struct {
	mu     sync.Mutex
	pkts   [][]byte
	closed chan struct{}
	once   sync.Once
}

func (w *wireQueue) SendMsg(m any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pkts = append(w.pkts, slices.Clone(*m.(*[]byte)))
	return nil
}

func (w *wireQueue) RecvMsg(any) error {
	<-w.closed
	return io.EOF
}

func (*wireQueue) CloseSend() error { return nil }

func (w *wireQueue) take() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.pkts
	w.pkts = nil
	return m
}

// handshakeTransport is a transport with no network: every stream it opens
// to peerName sends into the returned queue.
func handshakeTransport(t *testing.T, name, peerName string) (*transport, *wireQueue) {
	t.Helper()
	return handshakeTransportWith(t, name, peerName, defaultConfig())
}

// handshakeTransportWith is handshakeTransport with the configuration cfg.
func handshakeTransportWith(t *testing.T, name, peerName string, cfg config) (*transport, *wireQueue) {
	t.Helper()
	n := actor.NewNode(actor.WithNodeName(name), actor.WithLogger(zerolog.New(io.Discard)))
	tr := newTransport(n, cfg, zerolog.New(io.Discard))
	t.Cleanup(func() {
		tr.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	tr.sessionSeq.Store(1000)
	q := &wireQueue{closed: make(chan struct{})}
	tr.dialer = func(string) (*peerConn, error) {
		return newPeerConn(q, func() {}), nil
	}
	t.Cleanup(func() { q.once.Do(func() { close(q.closed) }) })
	if _, err := tr.peerFor(peerName); err != nil {
		t.Fatal(err)
	}
	return tr, q
}

// settled reports whether p's writer has written everything queued.
func settled(p *peer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.writing && !p.dialing && len(p.queue) == 0 && len(p.users) == 0
}

// TestCrossingHelloAnswersSettle replays what a flapping connection does
// to the handshake: c sends a Hello, loses the attempt and sends another;
// b answers both (resetting the session it opened for the first). The
// answers must settle in one session whose ids match on both sides, not
// reset each other without end, and the answer to the first attempt must
// not open a session on c.
func TestCrossingHelloAnswersSettle(t *testing.T) {
	const bName, cName = "b@127.0.0.1:1", "c@127.0.0.1:2"
	b, toC := handshakeTransport(t, bName, cName)
	c, toB := handshakeTransport(t, cName, bName)
	pb, pc := b.lookupPeer(cName), c.lookupPeer(bName)

	pc.mu.Lock()
	pc.state = peerConnecting
	pc.helloLocked(0)
	l := pc.downLocked(ErrConnectionLost)
	pc.state = peerConnecting
	pc.helloLocked(0)
	pc.mu.Unlock()
	l.deliver(c.node)

	// Deliver everything, b's side first, until nothing is in flight.
	exchange(t, b, c, toB, toC)
	pb.mu.Lock()
	bState, bIn, bOut := pb.state, pb.in, pb.out
	pb.mu.Unlock()
	pc.mu.Lock()
	cState, cIn, cOut := pc.state, pc.in, pc.out
	pc.mu.Unlock()
	if bState != peerUp || cState != peerUp {
		t.Fatalf("b: %v, c: %v; want both up", bState, cState)
	}
	if bOut != cIn || cOut != bIn {
		t.Fatalf("b stamps %d, c's session is %d; c stamps %d, b's session is %d", bOut, cIn, cOut, bIn)
	}
}

// exchange delivers what b and c send each other, b's side first, until
// nothing is in flight, and returns how many packets moved.
func exchange(t *testing.T, b, c *transport, toB, toC *wireQueue) int {
	t.Helper()
	pb, pc := b.lookupPeer(c.selfName), c.lookupPeer(b.selfName)
	sent := 0
	for {
		testkit.Eventually(t, 10*time.Second, func() error {
			if !settled(pb) || !settled(pc) {
				return errors.New("writers busy")
			}
			return nil
		})
		moved := 0
		for _, m := range toB.take() {
			b.handlePacket(m)
			moved++
		}
		for _, m := range toC.take() {
			c.handlePacket(m)
			moved++
		}
		if moved == 0 {
			return sent
		}
		sent += moved
		if sent > 20 {
			t.Fatalf("still exchanging after %d packets", sent)
		}
	}
}

// TestStaleHelloIsClosed: a Hello that an old connection delivers after
// its sender gave up on it opens a session on the receiver alone. The
// sender, getting an answer to a Hello it no longer waits for, says so,
// and the receiver closes the half-open session at once instead of
// waiting for its heartbeat timeout.
func TestStaleHelloIsClosed(t *testing.T) {
	const bName, cName = "b@127.0.0.1:1", "c@127.0.0.1:2"
	b, toC := handshakeTransport(t, bName, cName)
	c, toB := handshakeTransport(t, cName, bName)
	pb, pc := b.lookupPeer(cName), c.lookupPeer(bName)

	pc.mu.Lock()
	pc.state = peerConnecting
	pc.helloLocked(0)
	pc.mu.Unlock()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !settled(pc) {
			return errors.New("c's writer busy")
		}
		return nil
	})
	stale := toB.take()
	pc.mu.Lock()
	l := pc.downLocked(ErrConnectionLost) // c gives up on that Hello
	pc.mu.Unlock()
	l.deliver(c.node)

	for _, m := range stale { // delivered late
		b.handlePacket(m)
	}
	pb.mu.Lock()
	if pb.state != peerUp {
		t.Fatalf("b: %v after the stale hello; want up (half-open)", pb.state)
	}
	pb.mu.Unlock()
	exchange(t, b, c, toB, toC)
	pb.mu.Lock()
	bState := pb.state
	pb.mu.Unlock()
	pc.mu.Lock()
	cState := pc.state
	pc.mu.Unlock()
	if bState != peerDown || cState != peerDown {
		t.Fatalf("b: %v, c: %v; want both down (c never opened the session)", bState, cState)
	}
}

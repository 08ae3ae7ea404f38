package cluster

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// wireQueue is a protoactor process that keeps what a transport sends to
// a peer, so that a test decides when (and whether) it arrives.
type wireQueue struct {
	mu   sync.Mutex
	msgs []any
}

func (w *wireQueue) SendUserMessage(_ *pa.PID, m any) {
	w.mu.Lock()
	w.msgs = append(w.msgs, pa.UnwrapEnvelopeMessage(m))
	w.mu.Unlock()
}
func (*wireQueue) SendSystemMessage(*pa.PID, any) {}
func (*wireQueue) Stop(*pa.PID)                   {}

func (w *wireQueue) take() []any {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

// handshakeTransport is a transport with no network: what it sends to peerName
// goes to the returned queue.
func handshakeTransport(t *testing.T, name, peerName string) (*transport, *wireQueue) {
	t.Helper()
	n := actor.NewNode(actor.WithNodeName(name), actor.WithLogger(zerolog.New(io.Discard)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	tr := &transport{
		node: n, selfName: name, self: &clusterpb.NodeID{Name: name, Creation: n.Creation()},
		root: n.ActorSystem().Root, cfg: defaultConfig(), log: zerolog.New(io.Discard),
		peers: make(map[string]*peer), byAddr: make(map[string]*peer), subs: make(map[actor.PID]struct{}),
		quit: make(chan struct{}),
	}
	tr.sessionSeq.Store(1000)
	q := &wireQueue{}
	gw, ok := n.ActorSystem().ProcessRegistry.Add(q, "wire-to-"+peerName)
	if !ok {
		t.Fatal("register wire queue")
	}
	p, err := tr.peerFor(peerName)
	if err != nil {
		t.Fatal(err)
	}
	p.gw = gw
	return tr, q
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
	pc.downLocked(ErrConnectionLost)
	pc.state = peerConnecting
	pc.helloLocked(0)
	pc.mu.Unlock()

	// Deliver everything, b's side first, until nothing is in flight.
	sent := 0
	for {
		moved := 0
		for _, m := range toB.take() {
			gateway{b}.SendUserMessage(nil, m)
			moved++
		}
		for _, m := range toC.take() {
			gateway{c}.SendUserMessage(nil, m)
			moved++
		}
		if moved == 0 {
			break
		}
		sent += moved
		if sent > 20 {
			t.Fatalf("the handshake has not settled after %d hellos", sent)
		}
	}
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

package cluster

import (
	"context"
	"fmt"

	"github.com/arbor-otp/arbor/cluster/internal/memnet"
)

// The transport's seam with the network (ADR 0006). A node reaches its
// peers over one of two networks, behind the same two operations:
//
//   - accepting streams: the real network serves them on protoactor
//     remote's gRPC server (transport.serve); the memory network's
//     listener hands each to acceptMemory;
//   - opening a stream to a peer's address: transport.dialer, which is
//     transport.dial (gRPC) or memoryDialer.
//
// Both give the transport the same thing: a one-way stream of packets
// in order, read by transport.receive on the listening node and written
// by the dialing node's peerConn; everything above (sessions, heartbeats,
// epochs, batches) is the same code on both. A node on the memory network
// never starts protoactor remote, nor anything of gRPC: several such
// nodes live in one test process, under -race.

// packetReader is the listening end of a stream, as transport.receive
// reads it: a grpc.ServerStream, or a memnet.Server.
type packetReader interface {
	RecvMsg(m any) error
}

func init() {
	// The only way to put a node on a memory network: package
	// clustertest asks memnet for this option.
	memnet.InstallOption(func(n *memnet.Network) any {
		return Option(func(c *config) { c.memory = n })
	})
}

// startMemory listens on the memory network at addr (port 0 for a free
// one) and returns the address it listens at and the listener's stop.
func startMemory(n *memnet.Network, addr string, accept func(*memnet.Stream)) (string, func(), error) {
	bound, stop, err := n.Listen(addr, accept)
	if err != nil {
		return "", nil, fmt.Errorf("%w %s: %v", ErrListen, addr, err)
	}
	return bound, stop, nil
}

// acceptMemory serves a stream of the memory network, as serve does a
// gRPC one: its packets are read on a goroutine of its own until it ends
// or the transport stops.
func (t *transport) acceptMemory(s *memnet.Stream) {
	if !t.track() {
		s.Finish()
		return
	}
	go func() {
		defer t.conns.Done()
		_ = t.receive(s.Server())
		s.Finish()
	}()
}

// memoryDialer opens streams on the memory network from the node at
// address self.
func (t *transport) memoryDialer(n *memnet.Network, self string) func(addr string) (*peerConn, error) {
	return func(addr string) (*peerConn, error) {
		ctx, cancel := context.WithTimeout(t.life, t.cfg.connectTimeout)
		defer cancel()
		s, err := n.Dial(ctx, self, addr)
		if err != nil {
			return nil, err
		}
		return newPeerConn(s, s.Close), nil
	}
}

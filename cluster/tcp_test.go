package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/arbor-otp/arbor/actor"
)

// flowBlockedStream is a stream whose SendMsg blocks, as gRPC's does while
// the peer's flow-control window is closed, until the stream is ended.
type flowBlockedStream struct {
	entered chan struct{} // closed when a SendMsg blocks
	once    sync.Once
	ended   chan struct{} // closed by the peerConn's end
}

func (s *flowBlockedStream) SendMsg(any) error {
	s.once.Do(func() { close(s.entered) })
	<-s.ended
	return errors.New("stream ended")
}
func (s *flowBlockedStream) RecvMsg(any) error { <-s.ended; return io.EOF }
func (s *flowBlockedStream) CloseSend() error  { return nil }

// A Goodbye acknowledgement finishes a stream whose writer is blocked in
// flow control (the leaving peer stopped reading): stopping the node must
// not wait for that writer. finish used to wait for the writer's lock
// with no bound, so the node's stop hung on it.
func TestFinishDoesNotWaitForAWriterBlockedInFlowControl(t *testing.T) {
	n := actor.NewNode(actor.WithNodeName("self@127.0.0.1:1"), actor.WithLogger(zerolog.New(io.Discard)))
	cfg := defaultConfig()
	cfg.heartbeatTimeout = time.Hour // only the node's stop may end the wait
	tr := newTransport(n, cfg, zerolog.New(io.Discard))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	s := &flowBlockedStream{entered: make(chan struct{}), ended: make(chan struct{})}
	var endOnce sync.Once
	c := newPeerConn(s, func() { endOnce.Do(func() { close(s.ended) }) })
	writer := make(chan error, 1)
	go func() {
		_, err := c.sendUsers(1, protowire.AppendBytes(nil, []byte("queued before the Goodbye")), false)
		writer <- err
	}()
	<-s.entered
	c.finish(tr, []byte("goodbye ack"))

	stopped := make(chan struct{})
	go func() {
		tr.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		c.close() // let the goroutines end, then fail
		<-stopped
		t.Fatal("stopping the node waited for a writer blocked in flow control")
	}
	if err := <-writer; err == nil {
		t.Error("the blocked write succeeded on a closed stream")
	}
}

func frame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func TestFrameReader(t *testing.T) {
	read := func(wire []byte) ([][]byte, error) {
		f := &frameReader{r: bufio.NewReader(bytes.NewReader(wire))}
		var got [][]byte
		for {
			var b []byte
			if err := f.RecvMsg(&b); err != nil {
				return got, err
			}
			got = append(got, bytes.Clone(b))
		}
	}
	end := []byte{0, 0, 0, 0}
	cases := []struct {
		name string
		wire []byte
		want int
		err  error
	}{
		{"two packets then the end frame", bytes.Join([][]byte{frame([]byte("a")), frame([]byte("bc")), end}, nil), 2, io.EOF},
		{"no end frame: a broken stream", frame([]byte("a")), 1, errStreamBroken},
		{"cut inside a frame", frame([]byte("abc"))[:5], 0, errStreamBroken},
		{"a frame over the packet limit", binary.BigEndian.AppendUint32(nil, maxPacketBytes+1), 0, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := read(c.wire)
			if len(got) != c.want || !errors.Is(err, c.err) {
				t.Fatalf("got %d packets and %v, want %d and %v", len(got), err, c.want, c.err)
			}
		})
	}
}

// A connection to the node's port that does not start with Arbor's magic
// goes on to gRPC with its first bytes intact; one that does is the
// transport's.
func TestSniffCredsSplitsConnections(t *testing.T) {
	n := actor.NewNode(actor.WithNodeName("self@127.0.0.1:1"), actor.WithLogger(zerolog.New(io.Discard)))
	tr := newTransport(n, defaultConfig(), zerolog.New(io.Discard))
	t.Cleanup(func() {
		tr.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	creds := newSniffCreds(tr)

	a, b := net.Pipe()
	go func() { _, _ = a.Write([]byte("PRI * HTTP/2.0")) }()
	conn, _, err := creds.ServerHandshake(b)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("PRI * HTTP/2.0"))
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != "PRI * HTTP/2.0" {
		t.Fatalf("gRPC read %q, %v", got, err)
	}
	_ = a.Close()
	_ = b.Close()

	a, b = net.Pipe()
	go func() { _, _ = a.Write(append(tcpMagic[:], frame([]byte("not a packet"))...)) }()
	if _, _, err := creds.ServerHandshake(b); !errors.Is(err, credentials.ErrConnDispatched) {
		t.Fatalf("an Arbor stream was not dispatched: %v", err)
	}
	// The transport reads it (and drops the malformed packet) until the
	// stream ends.
	_, _ = a.Write([]byte{0, 0, 0, 0})
	_ = a.Close()
}

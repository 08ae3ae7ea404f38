package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestGarbageFromTheWire opens Arbor's stream to the shared node the way a
// peer does and writes packets no peer should: bytes that are no packet,
// an empty packet, an envelope of another version, one from a nameless
// node, a Hello from a bad name, a batch for a session nobody opened and
// a SessionClosed from a node nobody knows.
// Each is dropped and counted; the stream stays open (it ends cleanly when
// the client ends it), and a stream on an unknown method is refused.
func TestGarbageFromTheWire(t *testing.T) {
	addr := shared.Name()[strings.LastIndexByte(shared.Name(), '@')+1:]
	cc, err := grpc.Dial(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc := &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
	st, err := cc.NewStream(ctx, desc, "/arbor.cluster.v1.Peer/Stream", grpc.CallContentSubtype("arbor-packet"))
	if err != nil {
		t.Fatal(err)
	}
	marshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	env := func(e *clusterpb.Envelope) []byte {
		return marshal(&clusterpb.Packet{Body: &clusterpb.Packet_Envelope{Envelope: e}})
	}
	from := &clusterpb.NodeID{Name: "rogue@127.0.0.1:1", Creation: 7}
	garbage := [][]byte{
		{0xff, 0xff, 0xff},
		{},
		env(&clusterpb.Envelope{Version: 99, From: from, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}),
		env(&clusterpb.Envelope{Version: 4, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}),
		env(&clusterpb.Envelope{Version: 4, From: &clusterpb.NodeID{Name: "no-address", Creation: 7}, Body: &clusterpb.Envelope_Hello{Hello: &clusterpb.Hello{Session: 1}}}),
		env(&clusterpb.Envelope{Version: 4, From: from, Session: 12345, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}),
		marshal(&clusterpb.Packet{Body: &clusterpb.Packet_Users{Users: &clusterpb.UserBatch{Version: 4, Session: 12345, Messages: []byte{3, 1, 2, 3}}}}),
		env(&clusterpb.Envelope{Version: 4, From: from, Body: &clusterpb.Envelope_SessionClosed{SessionClosed: &clusterpb.SessionClosed{Session: 1}}}),
	}
	before := shared.Stats().Dropped
	for _, b := range garbage {
		if err := st.SendMsg(&b); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if d := shared.Stats().Dropped - before; d < uint64(len(garbage)) {
			return fmt.Errorf("%d of %d packets dropped", d, len(garbage))
		}
		return nil
	})
	// The stream is still open: ending it is a clean end, not an error.
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var b []byte
	if err := st.RecvMsg(&b); !errors.Is(err, io.EOF) {
		t.Fatalf("the stream ended with %v, want a clean end", err)
	}

	other, err := cc.NewStream(ctx, desc, "/arbor.cluster.v1.Peer/Other", grpc.CallContentSubtype("arbor-packet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.RecvMsg(&b); status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v, want Unimplemented", err)
	}
}

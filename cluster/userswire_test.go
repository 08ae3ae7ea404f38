package cluster

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// randomUsersPacket returns a UserBatch packet as a peer writes it, or,
// one time in two, one of another shape: fields in another order, a field
// twice, an unknown field, a field of the wrong wire type, an envelope
// beside the batch, bytes cut or added.
func randomUsersPacket(r *rand.Rand) []byte {
	varint := func() uint64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return uint64(r.IntN(10))
		case 2:
			return r.Uint64()
		}
		return uint64(r.Uint32())
	}
	msgs := make([]byte, r.IntN(40))
	for i := range msgs {
		msgs[i] = byte(r.Uint32())
	}
	if r.IntN(2) == 0 {
		return appendUsersPacket(nil, varint(), msgs)
	}
	type field func(b []byte) []byte
	fields := []field{
		func(b []byte) []byte {
			return protowire.AppendVarint(protowire.AppendTag(b, 1, protowire.VarintType), varint())
		},
		func(b []byte) []byte {
			return protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), varint())
		},
		func(b []byte) []byte {
			return protowire.AppendBytes(protowire.AppendTag(b, 3, protowire.BytesType), msgs)
		},
	}
	odd := []field{
		func(b []byte) []byte {
			return protowire.AppendVarint(protowire.AppendTag(b, 4, protowire.VarintType), 1)
		},
		func(b []byte) []byte {
			return protowire.AppendBytes(protowire.AppendTag(b, 1, protowire.BytesType), msgs)
		},
		func(b []byte) []byte {
			return protowire.AppendVarint(protowire.AppendTag(b, 3, protowire.VarintType), 7)
		},
		func(b []byte) []byte {
			return protowire.AppendFixed32(protowire.AppendTag(b, 2, protowire.Fixed32Type), 7)
		},
		func(b []byte) []byte {
			return protowire.AppendBytes(protowire.AppendTag(b, 9, protowire.BytesType), msgs)
		},
	}
	var batch []byte
	for range r.IntN(5) {
		if r.IntN(4) == 0 {
			batch = odd[r.IntN(len(odd))](batch)
		} else {
			batch = fields[r.IntN(len(fields))](batch)
		}
	}
	var b []byte
	if r.IntN(6) == 0 {
		b = protowire.AppendBytes(protowire.AppendTag(b, 1, protowire.BytesType), nil) // an empty envelope
	}
	b = protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), batch)
	switch r.IntN(8) {
	case 0:
		b = protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), batch) // the batch twice: merged
	case 1:
		b = protowire.AppendBytes(protowire.AppendTag(b, 1, protowire.BytesType), nil)
	case 2:
		if len(b) > 0 {
			b = b[:r.IntN(len(b))]
		}
	case 3:
		b = append(b, byte(r.Uint32()))
	}
	return b
}

// checkUsersPacket fails t if the hand decoder reads b otherwise than the
// generated decoder does: whatever it takes, the generated decoder must
// read as a UserBatch with the same fields; and what appendUsersPacket
// writes it must take.
func checkUsersPacket(t *testing.T, b []byte) {
	t.Helper()
	u, ok := parseUsersPacket(b)
	pkt := &clusterpb.Packet{}
	err := proto.Unmarshal(b, pkt)
	if !ok {
		if err == nil && pkt.GetUsers() != nil {
			// The plain shape must be taken: re-encoded, it is.
			ub := pkt.GetUsers()
			again := appendUsersPacket(nil, ub.GetSession(), ub.GetMessages())
			if ub.GetVersion() == protocolVersion {
				if _, ok := parseUsersPacket(again); !ok {
					t.Fatalf("the plain packet %x not read by hand", again)
				}
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("read by hand, refused by proto (%v): %x", err, b)
	}
	ub := pkt.GetUsers()
	if ub == nil {
		t.Fatalf("read by hand as a batch, by proto as %v: %x", pkt, b)
	}
	if u.version != ub.GetVersion() || u.session != ub.GetSession() || !bytes.Equal(u.messages, ub.GetMessages()) {
		t.Fatalf("read by hand as version %d session %d messages %x, by proto as %v: %x", u.version, u.session, u.messages, ub, b)
	}
}

// TestUsersPacketDecodeMatchesGenerated: over random packets of the plain shape
// and of others, the hand decoder of UserBatch packets reads what the
// generated decoder reads, or leaves the packet to it.
func TestUsersPacketDecodeMatchesGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 17))
	took := 0
	for range 20000 {
		b := randomUsersPacket(r)
		checkUsersPacket(t, b)
		if _, ok := parseUsersPacket(b); ok {
			took++
		}
	}
	if took < 10000 {
		t.Errorf("the hand decoder took %d packets of 20000, want at least the 10000 of the plain shape", took)
	}
	for _, s := range fuzzSeeds() {
		checkUsersPacket(t, s)
	}
}

// FuzzUsersPacket: on arbitrary bytes, the hand decoder of UserBatch
// packets gives up or reads what the generated decoder reads.
func FuzzUsersPacket(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		f.Add(randomUsersPacket(r))
	}
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(checkUsersPacket)
}

// usersTransport returns a transport of a node with an open session 5 to
// a peer.
func usersTransport(tb testing.TB) (*transport, *peer) {
	tr := &transport{selfName: "self@127.0.0.1:1", peers: map[string]*peer{}, cfg: config{maxPending: DefaultMaxPending}, log: zerolog.Nop()}
	tr.node = actor.NewNode(actor.WithNodeName(tr.selfName), actor.WithLogger(zerolog.Nop()))
	tb.Cleanup(func() { _ = tr.node.Stop(context.Background()) })
	p := &peer{t: tr, name: "x@127.0.0.1:9"}
	p.state = peerUp
	p.open.Store(5)
	tr.peers[p.name] = p
	tr.sessions.Store(uint64(5), p)
	return tr, p
}

// TestUsersPacketCopiesNothing: handling a batch of user messages
// allocates nothing of its own (here its messages are for the processes
// of an earlier boot of this node, dropped unread). The generated decoder made a
// Packet, its oneof, the UserBatch and a copy of all the batch's bytes.
func TestUsersPacketCopiesNothing(t *testing.T) {
	tr, p := usersTransport(t)
	var users []byte
	for i := range 16 {
		rec, err := appendUserMessage(nil, rt.NewPID(tr.selfName, tr.node.Creation()+1, uint32(1000+i), 1), "", wrapperspb.Bytes(make([]byte, 80)), false)
		if err != nil {
			t.Fatal(err)
		}
		users = protowire.AppendBytes(users, rec)
	}
	pkt := usersPacket(5, users)
	handle := func() {
		if q, s := tr.handlePacket(pkt); q != p || s != 5 {
			t.Fatalf("batch handled as of %v, session %d", q, s)
		}
	}
	handle()
	if got := tr.received.Load(); got != 16 {
		t.Fatalf("%d messages received, want 16", got)
	}
	if allocs := testing.AllocsPerRun(100, handle); allocs != 0 {
		t.Errorf("%v allocations per batch, want none", allocs)
	}
}

// TestDeliveredMessagesOwnTheirBytes: a batch's messages alias the
// stream's packet buffer, which its reader reuses for the next packet;
// what is delivered must not: a message delivered from a packet whose
// buffer is overwritten afterwards keeps what it said.
func TestDeliveredMessagesOwnTheirBytes(t *testing.T) {
	tr, p, _ := openPeer(t, &discardConn{})
	n := actor.NewNode(actor.WithNodeName(tr.selfName), actor.WithLogger(zerolog.Nop()))
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	tr.node, tr.log = n, zerolog.Nop()
	p.open.Store(5)
	tr.sessions.Store(uint64(5), p)
	got := make(chan any, 4)
	to, err := n.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		got <- msg
		return nil
	}), actor.WithName("keeper"))
	if err != nil {
		t.Fatal(err)
	}
	want := []proto.Message{wrapperspb.Bytes([]byte("bytes of the payload")), wrapperspb.String("a string of the payload")}
	var users []byte
	for i, m := range want {
		toName := ""
		pid := to
		if i == 1 {
			toName, pid = "keeper", actor.PID{}
		}
		rec, err := appendUserMessage(nil, pid, toName, m, false)
		if err != nil {
			t.Fatal(err)
		}
		users = protowire.AppendBytes(users, rec)
	}
	// A frame as the stream's reader holds it: reused once handled.
	buf := usersPacket(5, users)
	if q, _ := tr.handlePacket(buf); q != p {
		t.Fatal("batch not taken")
	}
	for i := range buf {
		buf[i] = 0xff
	}
	for _, w := range want {
		select {
		case m := <-got:
			if !proto.Equal(m.(proto.Message), w) {
				t.Fatalf("delivered %v, want %v", m, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("nothing delivered")
		}
	}
}

// FuzzUnmarshalPID: on arbitrary bytes, UnmarshalPID decodes what the
// generated decoder decodes, or fails where it fails; it also refuses a
// node name the cluster would not accept, which the generated decoder
// takes.
func FuzzUnmarshalPID(f *testing.F) {
	f.Add(MarshalPID(rt.NewPID("x@127.0.0.1:9", 7, 3, 4)))
	f.Add(MarshalPID(rt.NewPID("y@[::1]:65535", 0, 0, 1)))
	f.Add([]byte{0x0a, 0x01, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		for range 2 { // again with the name checked last
			got, err := UnmarshalPID(b)
			var gen clusterpb.PID
			genErr := proto.Unmarshal(b, &gen)
			if genErr != nil {
				if err == nil {
					t.Fatalf("decoded as %v, refused by proto (%v): %x", got, genErr, b)
				}
				return
			}
			if err != nil {
				if _, _, nameErr := splitNodeName(gen.GetNode()); len(b) == 0 || nameErr == nil && utf8.ValidString(gen.GetNode()) {
					t.Fatalf("refused (%v), decoded by proto as %v: %x", err, &gen, b)
				}
				return
			}
			if want := decodePID(&gen); got != want {
				t.Fatalf("decoded as %v, by proto as %v: %x", got, want, b)
			}
		}
	})
}

// BenchmarkUsersPacket handles a batch of 64 user messages, as a
// receiver of replicated names gets them, to processes of an earlier
// boot (dropped unread: the batch's decoding alone).
func BenchmarkUsersPacket(b *testing.B) {
	tr, _ := usersTransport(b)
	var users []byte
	for i := range 64 {
		rec, err := appendUserMessage(nil, rt.NewPID(tr.selfName, tr.node.Creation()+1, uint32(1000+i), 1), "", wrapperspb.Bytes(make([]byte, 100)), false)
		if err != nil {
			b.Fatal(err)
		}
		users = protowire.AppendBytes(users, rec)
	}
	pkt := usersPacket(5, users)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		tr.handlePacket(pkt)
	}
}

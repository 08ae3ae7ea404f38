package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/seam"
)

func TestReasonRoundTrip(t *testing.T) {
	tests := []struct {
		in    error
		check func(error) bool
	}{
		{actor.Normal, func(e error) bool { return e == actor.Normal }},
		{nil, func(e error) bool { return e == actor.Normal }},
		{actor.Shutdown, func(e error) bool { return e == actor.Shutdown }},
		{actor.Kill, func(e error) bool { return e == actor.Kill }},
		{actor.Killed, func(e error) bool { return e == actor.Killed }},
		{actor.NoProc, func(e error) bool { return e == actor.NoProc }},
		{actor.NoConnection, func(e error) bool { return e == actor.NoConnection }},
		{&actor.ShutdownError{Reason: "bye"}, func(e error) bool {
			var se *actor.ShutdownError
			return errors.As(e, &se) && se.Reason == "bye" && errors.Is(e, actor.Shutdown)
		}},
		{&actor.PanicError{Value: "boom"}, func(e error) bool {
			var pe *actor.PanicError
			return errors.As(e, &pe) && pe.Value == "boom"
		}},
		{errors.New("custom"), func(e error) bool {
			var re *RemoteError
			return errors.As(e, &re) && re.Text == "custom"
		}},
		// A huge reason is cut (on a rune boundary), so that the signal
		// carrying it can always be sent.
		{errors.New(strings.Repeat("é", 100<<10)), func(e error) bool {
			var re *RemoteError
			return errors.As(e, &re) && len(re.Text) <= 64<<10 && utf8.ValidString(re.Text) &&
				strings.HasSuffix(re.Text, "[reason text cut at 64 KiB]")
		}},
	}
	for _, tt := range tests {
		b, err := proto.Marshal(encodeReason(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		var r clusterpb.Reason
		if err := proto.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if got := decodeReason(&r); !tt.check(got) {
			t.Errorf("%v came back as %#v", tt.in, got)
		}
	}
	if got := decodeReason(nil); actor.IsNormalExit(got) {
		t.Errorf("a missing reason decodes as %v, a clean exit", got)
	}
}

func TestPIDCodec(t *testing.T) {
	pid := rt.NewPID("x@127.0.0.1:9", 7, 3, 4)
	got, err := UnmarshalPID(MarshalPID(pid))
	if err != nil || got != pid {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if got, err := UnmarshalPID(nil); err != nil || !got.IsZero() {
		t.Fatalf("nil: %v %v", got, err)
	}
	if _, err := UnmarshalPID([]byte{0xff, 0xff}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
}

// TestPIDCodecMatchesGenerated: the hand-written PID codec writes what
// the generated code writes and reads whatever it reads.
func TestPIDCodecMatchesGenerated(t *testing.T) {
	for _, pid := range []actor.PID{
		rt.NewPID("x@127.0.0.1:9", 7, 3, 4),
		rt.NewPID("y@[::1]:65535", 0, 0, 1),
		rt.NewPID("z@host.example:80", 1<<32-1, 1<<32-1, 1<<32-1),
	} {
		want, err := proto.Marshal(encodePID(pid))
		if err != nil {
			t.Fatal(err)
		}
		if got := MarshalPID(pid); !bytes.Equal(got, want) {
			t.Errorf("%v: hand %x, generated %x", pid, got, want)
		}
	}
	// Fields out of order, an unknown field, a repeated field (the last
	// wins) and a field of the wrong wire type (unknown, skipped).
	var b []byte
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	b = protowire.AppendVarint(b, 9)
	b = protowire.AppendTag(b, 15, protowire.BytesType)
	b = protowire.AppendString(b, "ignored")
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "old@127.0.0.1:1")
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "x@127.0.0.1:9")
	b = protowire.AppendTag(b, 3, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 77)
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, 1<<33|5) // truncated to 32 bits, as generated code does
	var gen clusterpb.PID
	if err := proto.Unmarshal(b, &gen); err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalPID(b)
	if err != nil || got != decodePID(&gen) || got != rt.NewPID("x@127.0.0.1:9", 5, 0, 9) {
		t.Fatalf("unusual encoding: %v %v, generated %v", got, err, decodePID(&gen))
	}
	for name, bad := range map[string][]byte{
		"truncated":     MarshalPID(rt.NewPID("x@127.0.0.1:9", 7, 3, 4))[:5],
		"bad utf-8":     protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "x\xff@127.0.0.1:9"),
		"no node":       protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 3),
		"bad node name": protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "x@0.0.0.0:9"),
	} {
		if _, err := UnmarshalPID(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestUserMessageCodec(t *testing.T) {
	tr := &transport{}
	to := rt.NewPID("x@127.0.0.1:9", 7, 3, 4)
	rec, err := appendUserMessage(nil, to, "name", wrapperspb.String("x"), false)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseUserMessage(rec)
	if err != nil || f.toCreation != 7 || f.toIndex != 3 || f.toSerial != 4 || string(f.toName) != "name" ||
		string(f.typ) != "google.protobuf.StringValue" || f.cast {
		t.Fatalf("parse: %+v %v", f, err)
	}
	// A cast carries its flag, and the generated code reads the same
	// bytes (the flag is field cast of UserMessage).
	crec, err := appendUserMessage(nil, to, "", wrapperspb.String("x"), true)
	if err != nil {
		t.Fatal(err)
	}
	if cf, err := parseUserMessage(crec); err != nil || !cf.cast || cf.toIndex != 3 {
		t.Fatalf("parse cast: %+v %v", cf, err)
	}
	var um clusterpb.UserMessage
	if err := proto.Unmarshal(crec, &um); err != nil || !um.GetCast() || um.GetType() != "google.protobuf.StringValue" {
		t.Fatalf("generated decode of a cast: %v %v", &um, err)
	}
	if err := proto.Unmarshal(rec, &um); err != nil || um.GetCast() {
		t.Fatalf("generated decode of a send: %v %v", &um, err)
	}
	// The flag costs a cast two bytes and a plain send none.
	if srec, _ := appendUserMessage(nil, to, "", wrapperspb.String("x"), false); len(crec) != len(srec)+2 {
		t.Errorf("cast record is %d bytes, send record %d", len(crec), len(srec))
	}
	mt, err := tr.messageType(f.typ)
	if err != nil {
		t.Fatal(err)
	}
	m := mt.New().Interface()
	if err := proto.Unmarshal(f.payload, m); err != nil || m.(*wrapperspb.StringValue).Value != "x" {
		t.Fatalf("payload: %v %v", m, err)
	}
	if _, err := tr.messageType(f.typ); err != nil { // cached
		t.Fatal(err)
	}
	if _, err := tr.messageType([]byte("no.such.Type")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown type: %v", err)
	}
	if _, err := parseUserMessage([]byte{0xff}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestSplitNodeName(t *testing.T) {
	for _, bad := range []string{"", "a", "@h:1", "a@", "a@h", "a@h:0", "a@:1", "a@h:x", "a@h:70000"} {
		if _, _, err := splitNodeName(bad); !errors.Is(err, ErrBadNodeName) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if n, a, err := splitNodeName("a@b@127.0.0.1:80"); err != nil || n != "a@b" || a != "127.0.0.1:80" {
		t.Errorf("got %q %q %v", n, a, err)
	}
}

// fuzzSeeds are packets of every kind, as a peer sends them.
func fuzzSeeds() [][]byte {
	from := &clusterpb.NodeID{Name: "peer@127.0.0.1:1", Creation: 5}
	pid := &clusterpb.PID{Node: "peer@127.0.0.1:1", Creation: 5, Index: 1, Serial: 1}
	payload, _ := encodePayload(wrapperspb.String("x"))
	envs := []*clusterpb.Envelope{
		{Body: &clusterpb.Envelope_Hello{Hello: &clusterpb.Hello{Epoch: 1, Session: 9, To: "self@127.0.0.1:2", HeartbeatIntervalMs: 2000}}},
		{Body: &clusterpb.Envelope_Hello{Hello: &clusterpb.Hello{Epoch: 1, Session: 9, To: "other@127.0.0.1:2"}}},
		{Body: &clusterpb.Envelope_HelloRefused{HelloRefused: &clusterpb.HelloRefused{Answers: 9, To: "peer@127.0.0.1:1"}}},
		{Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}},
		{Body: &clusterpb.Envelope_Message{Message: &clusterpb.Message{From: pid, To: pid, Payload: payload}}},
		{Body: &clusterpb.Envelope_Message{Message: &clusterpb.Message{From: pid, ToName: "x", Payload: payload, Cast: true}}},
		{Body: &clusterpb.Envelope_Signal{Signal: &clusterpb.Signal{Kind: clusterpb.SignalKind_SIGNAL_KIND_LINK, From: pid, To: pid}}},
		{Body: &clusterpb.Envelope_CallRequest{CallRequest: &clusterpb.CallRequest{CallId: 1, From: pid, ToName: "x", Payload: payload}}},
		{Body: &clusterpb.Envelope_CallReply{CallReply: &clusterpb.CallReply{CallId: 1, Result: &clusterpb.CallReply_Payload{Payload: payload}}}},
		{Body: &clusterpb.Envelope_Goodbye{Goodbye: &clusterpb.Goodbye{}}},
		{Body: &clusterpb.Envelope_SessionClosed{SessionClosed: &clusterpb.SessionClosed{Session: 1}}},
	}
	var out [][]byte
	rec, _ := appendUserMessage(nil, actor.PID{}, "x", wrapperspb.String("x"), false)
	rec2, _ := appendUserMessage(nil, rt.NewPID("self@127.0.0.1:2", 1, 2, 3), "", wrapperspb.Int64(7), false)
	cast, _ := appendUserMessage(nil, actor.PID{}, "x", wrapperspb.String("x"), true)
	cast2, _ := appendUserMessage(nil, rt.NewPID("self@127.0.0.1:2", 1, 2, 3), "", wrapperspb.Int64(7), true)
	ub := usersPacket(1, protowire.AppendBytes(protowire.AppendBytes(nil, rec), rec2))
	// Casts, and a send beside a cast in one batch.
	cb := usersPacket(1, protowire.AppendBytes(protowire.AppendBytes(protowire.AppendBytes(nil, cast), rec), cast2))
	out = append(out, ub, cb)
	for _, e := range envs {
		e.Version, e.From, e.Session = protocolVersion, from, 1
		b, _ := envelopePacket(e)
		out = append(out, b)
	}
	return out
}

// FuzzDecodePacket feeds arbitrary bytes to what a node does with a packet
// from a peer's stream: decode, validate, and handle it on a live node.
// Nothing may panic.
func FuzzDecodePacket(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x02})
	n := actor.NewNode(actor.WithNodeName("self@127.0.0.1:2"), actor.WithLogger(zerolog.New(io.Discard)))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	}()
	if _, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }), actor.WithName("x")); err != nil {
		f.Fatal(err)
	}
	t := newTransport(n, defaultConfig(), zerolog.New(io.Discard))
	// Answers to a Hello go nowhere: the dial fails at once.
	t.dialer = func(string) (*peerConn, error) { return nil, errors.New("no network in this test") }
	defer t.stop()
	f.Fuzz(func(_ *testing.T, b []byte) {
		if _, err := decodePacket(b); err != nil && !errors.Is(err, ErrMalformed) {
			panic("unexpected error class: " + err.Error())
		}
		t.handlePacket(b) // must drop, never panic
	})
}

// TestSignalKindsMatchTheWire checks that the wire numbers every signal
// kind that crosses nodes as seam.SignalKind does, so encoding a kind needs
// no table, and that no other kind is written or read.
func TestSignalKindsMatchTheWire(t *testing.T) {
	for k := range seam.SignalKind(255) {
		w := encodeSignalKind(k)
		back, ok := decodeSignalKind(clusterpb.SignalKind(k))
		if !k.Remote() {
			if w != clusterpb.SignalKind_SIGNAL_KIND_UNSPECIFIED || ok {
				t.Errorf("%v does not cross nodes, but encodes as %v (decodes: %v)", k, w, ok)
			}
			continue
		}
		if want := "SIGNAL_KIND_" + strings.ToUpper(k.String()); w.String() != want {
			t.Errorf("%v encodes as %v, want %s", k, w, want)
		}
		if !ok || back != k {
			t.Errorf("%v decodes as %v, %v", w, back, ok)
		}
	}
	if _, ok := decodeSignalKind(-1); ok {
		t.Error("a negative wire kind decodes")
	}
}

// TestUsersPacketMatchesGenerated: usersPacket writes what proto.Marshal
// writes for the Packet.
func TestUsersPacketMatchesGenerated(t *testing.T) {
	rec := protowire.AppendBytes(nil, []byte("a user message"))
	for _, session := range []uint64{0, 1, 1 << 63} {
		for _, users := range [][]byte{nil, rec, bytes.Repeat(rec, 1000)} {
			want, err := proto.Marshal(&clusterpb.Packet{Body: &clusterpb.Packet_Users{Users: &clusterpb.UserBatch{
				Version: protocolVersion, Session: session, Messages: users}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := usersPacket(session, users); !bytes.Equal(got, want) {
				t.Fatalf("session %d, %d bytes of users: %x; want %x", session, len(users), got, want)
			}
			if n := usersPacketSize(session, len(users)); n != len(want) {
				t.Fatalf("session %d, %d bytes of users: sized as %d, want %d", session, len(users), n, len(want))
			}
			prefix := []byte("frame")
			if got := appendUsersPacket(prefix, session, users); !bytes.Equal(got[len(prefix):], want) || string(got[:len(prefix)]) != "frame" {
				t.Fatalf("session %d, %d bytes of users: appended %x; want %x", session, len(users), got, want)
			}
		}
	}
}

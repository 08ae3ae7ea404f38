package cluster

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// hotFlat is what a hot envelope says, in comparable form: from the hand
// decoder's fields (flatHot) or from the generated tree's getters
// (flatEnvelope), which must agree.
type hotFlat struct {
	version                  uint32
	fromName                 string
	fromCreation             uint32
	session                  uint64
	body                     int
	callID                   uint64
	fromSet, toSet           bool
	from, to                 [3]uint32
	fromNode, toNode, toName string
	payloadSet               bool
	url, value               string
	timeoutMs                int64
	traceParent, traceState  string
	defaultTimeout           bool
	result                   int
	reasonKind               int32
	reasonText               string
}

func flatHot(f *hotFields) hotFlat {
	return hotFlat{
		version: f.version, fromName: string(f.fromName), fromCreation: f.fromCreation, session: f.session,
		body: int(f.body), callID: f.callID,
		fromSet: f.from.set, toSet: f.to.set,
		from: [3]uint32{f.from.creation, f.from.index, f.from.serial}, to: [3]uint32{f.to.creation, f.to.index, f.to.serial},
		fromNode: string(f.from.node), toNode: string(f.to.node), toName: string(f.toName),
		payloadSet: f.payload.set, url: string(f.payload.url), value: string(f.payload.value),
		timeoutMs: f.timeoutMs, traceParent: string(f.traceParent), traceState: string(f.traceState),
		defaultTimeout: f.defaultTimeout, result: int(f.result), reasonKind: f.reasonKind, reasonText: string(f.reasonText),
	}
}

// flatEnvelope reports false for an envelope that is not a hot one.
func flatEnvelope(env *clusterpb.Envelope) (hotFlat, bool) {
	h := hotFlat{version: env.GetVersion(), fromName: env.GetFrom().GetName(), fromCreation: env.GetFrom().GetCreation(), session: env.GetSession()}
	setAny := func(a *anypb.Any) {
		h.payloadSet, h.url, h.value = a != nil, a.GetTypeUrl(), string(a.GetValue())
	}
	switch b := env.GetBody().(type) {
	case *clusterpb.Envelope_CallRequest:
		c := b.CallRequest
		h.body, h.callID = fieldEnvCallRequest, c.GetCallId()
		h.fromSet, h.toSet = c.GetFrom() != nil, c.GetTo() != nil
		h.from = [3]uint32{c.GetFrom().GetCreation(), c.GetFrom().GetIndex(), c.GetFrom().GetSerial()}
		h.to = [3]uint32{c.GetTo().GetCreation(), c.GetTo().GetIndex(), c.GetTo().GetSerial()}
		h.fromNode, h.toNode, h.toName = c.GetFrom().GetNode(), c.GetTo().GetNode(), c.GetToName()
		setAny(c.GetPayload())
		h.timeoutMs, h.traceParent, h.traceState, h.defaultTimeout = c.GetTimeoutMs(), c.GetTraceParent(), c.GetTraceState(), c.GetDefaultTimeout()
	case *clusterpb.Envelope_CallReply:
		r := b.CallReply
		h.body, h.callID = fieldEnvCallReply, r.GetCallId()
		switch x := r.GetResult().(type) {
		case *clusterpb.CallReply_Payload:
			h.result = fieldReplyPayload
			setAny(x.Payload)
		case *clusterpb.CallReply_Error:
			h.result = fieldReplyError
			h.reasonKind, h.reasonText = int32(x.Error.GetKind()), x.Error.GetText()
		}
	default:
		return h, false
	}
	return h, true
}

// randomHotEnvelope makes a CallRequest or CallReply envelope with every
// field set or left out at random, of every size class of varint.
func randomHotEnvelope(r *rand.Rand) *clusterpb.Envelope {
	str := func() string {
		switch r.IntN(4) {
		case 0:
			return ""
		case 1:
			return "n@127.0.0.1:7000"
		case 2:
			return strings.Repeat("é", r.IntN(100))
		}
		return strings.Repeat("x", r.IntN(300))
	}
	u64 := func() uint64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return uint64(r.IntN(200))
		}
		return r.Uint64() >> r.IntN(64)
	}
	u32 := func() uint32 { return uint32(u64()) }
	pid := func() *clusterpb.PID {
		if r.IntN(4) == 0 {
			return nil
		}
		return &clusterpb.PID{Node: str(), Creation: u32(), Index: u32(), Serial: u32()}
	}
	payload := func() *anypb.Any {
		if r.IntN(5) == 0 {
			return nil
		}
		return &anypb.Any{TypeUrl: str(), Value: bytes.Repeat([]byte{byte(r.IntN(256))}, r.IntN(3)*r.IntN(200))}
	}
	env := &clusterpb.Envelope{Version: u32(), Session: u64()}
	if r.IntN(5) > 0 {
		env.From = &clusterpb.NodeID{Name: str(), Creation: u32()}
	}
	if r.IntN(2) == 0 {
		env.Body = &clusterpb.Envelope_CallRequest{CallRequest: &clusterpb.CallRequest{
			CallId: u64(), From: pid(), To: pid(), ToName: str(), Payload: payload(),
			TimeoutMs: int64(u64()) * int64(1-2*r.IntN(2)), TraceParent: str(), TraceState: str(), DefaultTimeout: r.IntN(2) == 0,
		}}
		return env
	}
	reply := &clusterpb.CallReply{CallId: u64()}
	switch r.IntN(3) {
	case 0:
		reply.Result = &clusterpb.CallReply_Payload{Payload: &anypb.Any{TypeUrl: str(), Value: []byte(str())}}
	case 1:
		reply.Result = &clusterpb.CallReply_Error{Error: &clusterpb.Reason{Kind: clusterpb.ReasonKind(r.IntN(12) - 1), Text: str()}}
	}
	env.Body = &clusterpb.Envelope_CallReply{CallReply: reply}
	return env
}

// TestHotEnvelopeMatchesGenerated: the hand encoder writes, byte for byte,
// what proto.Marshal writes for the Packet of a call's request or reply,
// of the size it found first; the hand decoder reads that back as the
// generated decoder does, field for field.
func TestHotEnvelopeMatchesGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 1))
	for i := range 5000 {
		env := randomHotEnvelope(r)
		want, err := proto.Marshal(&clusterpb.Packet{Body: &clusterpb.Packet_Envelope{Envelope: env}})
		if err != nil {
			t.Fatal(err)
		}
		n, sizes, ok := sizeHotEnvelope(env)
		if !ok {
			t.Fatalf("envelope %d: not taken by the hand encoder: %v", i, env)
		}
		got := appendHotEnvelope([]byte("prefix"), env, sizes)
		if !bytes.Equal(got[6:], want) || n != len(want) {
			t.Fatalf("envelope %d: %v\nhand  %x (sized %d)\nproto %x", i, env, got[6:], n, want)
		}
		var f hotFields
		if !parseHotPacket(want, &f) {
			t.Fatalf("envelope %d: not read by the hand decoder: %v", i, env)
		}
		if wantFlat, _ := flatEnvelope(env); flatHot(&f) != wantFlat {
			t.Fatalf("envelope %d: decoded as %+v, want %+v", i, flatHot(&f), wantFlat)
		}
	}
}

// TestHotEnvelopeLeavesTheRest: what the hand codec does not take (other
// bodies, strings that are not UTF-8, which proto.Marshal refuses; packets
// the generated decoder reads some other way) goes to the generated code.
func TestHotEnvelopeLeavesTheRest(t *testing.T) {
	from := &clusterpb.NodeID{Name: "a@127.0.0.1:1", Creation: 1}
	for _, env := range []*clusterpb.Envelope{
		{Version: protocolVersion, From: from, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}},
		{Version: protocolVersion, From: &clusterpb.NodeID{Name: "bad \xff"}, Body: &clusterpb.Envelope_CallReply{CallReply: &clusterpb.CallReply{}}},
		{Version: protocolVersion, From: from, Body: &clusterpb.Envelope_CallRequest{CallRequest: &clusterpb.CallRequest{ToName: "bad \xff"}}},
		{Version: protocolVersion, From: from, Body: &clusterpb.Envelope_CallReply{CallReply: &clusterpb.CallReply{Result: &clusterpb.CallReply_Error{Error: &clusterpb.Reason{Text: "\xff"}}}}},
		{Version: protocolVersion, From: from, Body: &clusterpb.Envelope_CallReply{CallReply: &clusterpb.CallReply{Result: &clusterpb.CallReply_Payload{}}}},
		{Version: protocolVersion, From: from},
	} {
		if _, _, ok := sizeHotEnvelope(env); ok {
			t.Errorf("hand encoder took %v", env)
		}
	}
	req, _ := proto.Marshal(&clusterpb.Packet{Body: &clusterpb.Packet_Envelope{Envelope: &clusterpb.Envelope{
		Version: protocolVersion, From: from, Body: &clusterpb.Envelope_CallRequest{CallRequest: &clusterpb.CallRequest{CallId: 3}}}}})
	var f hotFields
	if !parseHotPacket(req, &f) {
		t.Fatal("a plain request is not read by hand")
	}
	for name, b := range map[string][]byte{
		"twice":         append(append([]byte{}, req...), req...), // the Packet's envelope twice: merged
		"unknown field": append(append([]byte{}, req...), 0x18, 1),
		"cut":           req[:len(req)-1],
		"heartbeat":     mustPacket(t, &clusterpb.Envelope{Version: protocolVersion, From: from, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}),
		"users":         usersPacket(1, nil),
	} {
		if parseHotPacket(b, &f) {
			t.Errorf("%s: read by hand", name)
		}
	}
}

func mustPacket(t *testing.T, env *clusterpb.Envelope) []byte {
	t.Helper()
	b, err := envelopePacket(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzHotPacket: on arbitrary bytes, the hand decoder either gives up or
// reads what the generated decoder reads; whatever hot envelope the
// generated decoder reads, once re-encoded, the hand decoder reads as well
// and the hand encoder writes the same bytes.
func FuzzHotPacket(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		b, _ := proto.Marshal(&clusterpb.Packet{Body: &clusterpb.Packet_Envelope{Envelope: randomHotEnvelope(r)}})
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var hf hotFields
		hot := parseHotPacket(b, &hf)
		pkt := &clusterpb.Packet{}
		if err := proto.Unmarshal(b, pkt); err != nil {
			if hot {
				t.Fatalf("read by hand, refused by proto (%v): %x", err, b)
			}
			return
		}
		want, isHot := flatEnvelope(pkt.GetEnvelope())
		if hot {
			if !isHot || flatHot(&hf) != want {
				t.Fatalf("read by hand as %+v, by proto as %v", flatHot(&hf), pkt)
			}
		}
		if !isHot {
			return
		}
		again, err := proto.Marshal(&clusterpb.Packet{Body: &clusterpb.Packet_Envelope{Envelope: pkt.GetEnvelope()}})
		if err != nil {
			t.Fatal(err)
		}
		if !parseHotPacket(again, &hf) {
			return // unknown fields, kept by proto and re-encoded
		}
		if flatHot(&hf) != want {
			t.Fatalf("re-encoded, read by hand as %+v, by proto as %v", flatHot(&hf), pkt)
		}
		n, sizes, ok := sizeHotEnvelope(pkt.GetEnvelope())
		if !ok {
			t.Fatalf("not taken by the hand encoder: %v", pkt)
		}
		if got := appendHotEnvelope(nil, pkt.GetEnvelope(), sizes); !bytes.Equal(got, again) || n != len(again) {
			t.Fatalf("hand %x (sized %d), proto %x", got, n, again)
		}
	})
}

// signalConn is a connection that takes every write and says so.
type signalConn struct {
	net.Conn
	wrote chan struct{}
}

func (c *signalConn) Write(b []byte) (int, error) {
	select {
	case c.wrote <- struct{}{}:
	default:
	}
	return len(b), nil
}

// TestRemoteCallAllocations: the callee's handling of a call request, from
// its packet to its reply's frame, and the caller's handling of the reply
// packet, allocate only what a call needs: the request and its answer,
// the messages, the reply's envelope and payload. They allocated a tree of
// generated structs for each envelope decoded, its strings, and a timer
// per call (66 allocations per round trip in BenchmarkRemoteCall, against
// 32 with the hand codec and no timer).
func TestRemoteCallAllocations(t *testing.T) {
	const self, other = "self@127.0.0.1:1", "x@127.0.0.1:9"
	n := actor.NewNode(actor.WithNodeName(self), actor.WithLogger(zerolog.Nop()))
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	echo, err := n.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(r.Message())
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	w := &signalConn{wrote: make(chan struct{}, 1)}
	tr, p, c := openPeer(t, w)
	// The test's connection is no socket: inline writes leave everything
	// to the writer.
	tr.conns.Add(1)
	go p.writeLoop(c)
	t.Cleanup(func() { c.close(); tr.conns.Wait() })
	tr.node, tr.selfName, tr.log = n, self, zerolog.Nop()
	tr.self = &clusterpb.NodeID{Name: self, Creation: n.Creation()}
	p.name = other
	p.open.Store(5)
	p.out = 9
	tr.sessions.Store(uint64(5), p)

	i, s := echo.ID()
	payload, _ := anypb.New(wrapperspb.String("ping"))
	for _, def := range []bool{true, false} {
		req := mustPacket(t, &clusterpb.Envelope{Version: protocolVersion, From: &clusterpb.NodeID{Name: other, Creation: 3}, Session: 5,
			Body: &clusterpb.Envelope_CallRequest{CallRequest: &clusterpb.CallRequest{
				CallId: 1, From: &clusterpb.PID{Node: other, Creation: 3, Index: 1, Serial: 1},
				To: &clusterpb.PID{Node: self, Creation: n.Creation(), Index: i, Serial: s}, Payload: payload,
				TimeoutMs: 5000, DefaultTimeout: def,
			}}})
		serve := func() {
			if q, _ := tr.handlePacket(req); q != p {
				t.Fatal("request not taken")
			}
			<-w.wrote // the reply's frame
		}
		serve()
		// The request, its answer, the message (2), the reply's envelope
		// and payload bytes; up to two more where the process is woken.
		allocs := testing.AllocsPerRun(200, serve)
		t.Logf("callee (default timeout %v): %v allocations per call", def, allocs)
		if allocs > 8 {
			t.Errorf("callee (default timeout %v): %v allocations per call, want at most 8", def, allocs)
		}
	}

	rep := mustPacket(t, &clusterpb.Envelope{Version: protocolVersion, From: &clusterpb.NodeID{Name: other, Creation: 3}, Session: 5,
		Body: &clusterpb.Envelope_CallReply{CallReply: &clusterpb.CallReply{CallId: 7, Result: &clusterpb.CallReply_Payload{Payload: payload}}}})
	ch := make(chan callResult, 1)
	p.calls = map[uint64]chan callResult{}
	answer := func() {
		p.mu.Lock()
		p.calls[7] = ch
		p.mu.Unlock()
		if q, _ := tr.handlePacket(rep); q != p {
			t.Fatal("reply not taken")
		}
		if res := <-ch; res.err != nil || res.value.(*wrapperspb.StringValue).GetValue() != "ping" {
			t.Fatalf("reply %v, %v", res.value, res.err)
		}
	}
	answer()
	// The message and its string.
	allocs := testing.AllocsPerRun(200, answer)
	t.Logf("caller: %v allocations per reply", allocs)
	if allocs > 2 {
		t.Errorf("caller: %v allocations per reply, want at most 2", allocs)
	}
}

// TestInlineWriteAllocatesNothing: a write that a call or its reply makes
// inline, on a real socket, allocates nothing (it took the socket's raw
// connection and a callback, five allocations, per write).
func TestInlineWriteAllocatesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if c := <-accepted; c != nil {
		defer c.Close()
	}
	s := &tcpStream{conn: conn}
	write := func() {
		s.appendFrame([]byte("a frame"))
		if all, err := s.tryFlush(); err != nil || !all {
			t.Fatalf("written all: %v, %v", all, err)
		}
	}
	write()
	// 100 frames of 11 bytes fit the socket's buffers unread.
	if allocs := testing.AllocsPerRun(100, write); allocs != 0 {
		t.Errorf("%v allocations per inline write, want 0", allocs)
	}
}

// BenchmarkCallEnvelopeCodec compares the hand codec of a call's request
// and reply with the generated one, on the envelopes of benchall's remote
// call (an Int64Value each way).
func BenchmarkCallEnvelopeCodec(b *testing.B) {
	from := &clusterpb.NodeID{Name: "caller@127.0.0.1:7001", Creation: 12345}
	payload, _ := anypb.New(wrapperspb.Int64(42))
	envs := map[string]*clusterpb.Envelope{
		"request": {Version: protocolVersion, From: from, Session: 1 << 60, Body: &clusterpb.Envelope_CallRequest{CallRequest: &clusterpb.CallRequest{
			CallId: 123456, From: &clusterpb.PID{Node: from.Name, Creation: 12345, Index: 17, Serial: 3},
			To: &clusterpb.PID{Node: "callee@127.0.0.1:7002", Creation: 777, Index: 5, Serial: 1}, Payload: payload,
			TimeoutMs: 5000, DefaultTimeout: true,
		}}},
		"reply": {Version: protocolVersion, From: from, Session: 1 << 60, Body: &clusterpb.Envelope_CallReply{CallReply: &clusterpb.CallReply{
			CallId: 123456, Result: &clusterpb.CallReply_Payload{Payload: payload},
		}}},
	}
	for _, kind := range []string{"request", "reply"} {
		env := envs[kind]
		pkt := &clusterpb.Packet{Body: &clusterpb.Packet_Envelope{Envelope: env}}
		wire, _ := proto.Marshal(pkt)
		buf := make([]byte, 0, 512)
		b.Run(kind+"/encode/proto", func(b *testing.B) {
			for range b.N {
				n := proto.Size(pkt)
				buf = buf[:0]
				buf, _ = proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, pkt)
				_ = n
			}
		})
		b.Run(kind+"/encode/hand", func(b *testing.B) {
			for range b.N {
				_, sizes, _ := sizeHotEnvelope(env)
				buf = appendHotEnvelope(buf[:0], env, sizes)
			}
		})
		b.Run(kind+"/decode/proto", func(b *testing.B) {
			for range b.N {
				p, err := decodePacket(wire)
				if err != nil {
					b.Fatal(err)
				}
				a := p.GetEnvelope().GetCallRequest().GetPayload()
				if a == nil {
					a = p.GetEnvelope().GetCallReply().GetPayload()
				}
				if _, err := decodePayload(a); err != nil {
					b.Fatal(err)
				}
			}
		})
		tr := &transport{}
		b.Run(kind+"/decode/hand", func(b *testing.B) {
			var f hotFields
			for range b.N {
				if !parseHotPacket(wire, &f) {
					b.Fatal("not hot")
				}
				if _, err := tr.decodeHotPayload(&f.payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

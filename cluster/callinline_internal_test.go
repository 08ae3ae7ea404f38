package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// A pooled request that reaches its fence on its call connection's
// goroutine runs an idle callee's activation there (ADR 0011's
// amendment). These tests drive b's end of call connections from a fake
// peer c, in one process, and check what the callee sees.

// onCallConnection reports whether the calling goroutine is a call
// connection's, lent to a process (poolServer.lend).
func onCallConnection() bool {
	buf := make([]byte, 64<<10)
	return bytes.Contains(buf[:runtime.Stack(buf, false)], []byte("(*poolServer).lend"))
}

// callee is b's node with a session from c on a TCP stream, and what c
// wrote on that stream.
type callee struct {
	t       *testing.T
	b       *transport
	q       *wireQueue // b's stream to c
	stream  net.Conn
	from    *clusterpb.NodeID
	session uint64
	packets uint64 // written on the stream (the Hello is 1)
}

const calleeStream = 78

func newCallee(t *testing.T) *callee {
	t.Helper()
	const bName, cName = "b@127.0.0.1:1", "c@127.0.0.1:2"
	b, q := handshakeTransportWith(t, bName, cName, defaultConfig())
	pb := b.lookupPeer(cName)
	stream, accepted := tcpPair(t)
	b.acceptTCP(accepted, calleeStream)
	h := &callee{t: t, b: b, q: q, stream: stream, from: &clusterpb.NodeID{Name: cName, Creation: 7}}
	h.write(&clusterpb.Envelope{Body: &clusterpb.Envelope_Hello{Hello: &clusterpb.Hello{Session: 55, To: bName}}})
	testkit.Eventually(t, 10*time.Second, func() error {
		pb.mu.Lock()
		defer pb.mu.Unlock()
		if pb.state != peerUp {
			return errors.New("no session yet")
		}
		h.session = pb.in
		return nil
	})
	return h
}

// write puts a packet on the stream.
func (h *callee) write(env *clusterpb.Envelope) {
	h.t.Helper()
	env.Version, env.From = protocolVersion, h.from
	pkt, err := envelopePacket(env)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.stream.Write(frame(pkt)); err != nil {
		h.t.Fatal(err)
	}
	h.packets++
}

// send sends v to the process named to, on the stream.
func (h *callee) send(to string, v proto.Message) {
	h.t.Helper()
	a, err := anypb.New(v)
	if err != nil {
		h.t.Fatal(err)
	}
	h.write(&clusterpb.Envelope{Session: h.session, Body: &clusterpb.Envelope_Message{Message: &clusterpb.Message{ToName: to, Payload: a}}})
}

// settle waits until b's reader handled everything written on the stream:
// a request fenced behind it is then at its fence when it arrives.
func (h *callee) settle() {
	h.t.Helper()
	testkit.Eventually(h.t, 10*time.Second, func() error {
		if h.b.fenceOf(calleeStream).handled.Load() < h.packets {
			return errors.New("the stream is not handled yet")
		}
		return nil
	})
}

// spawn starts a process of b's named name.
func (h *callee) spawn(name string, f actor.ReceiverFunc) {
	h.t.Helper()
	if _, err := h.b.node.Spawn(f, actor.WithName(name)); err != nil {
		h.t.Fatal(err)
	}
}

// callConn is c's end of a call connection to b.
type callConn struct {
	h    *callee
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
	id   uint64
}

func (h *callee) dial() *callConn {
	h.t.Helper()
	conn, accepted := tcpPair(h.t)
	h.b.acceptPool(accepted)
	return &callConn{h: h, conn: conn, r: bufio.NewReader(conn)}
}

// request writes a request to the process named to, fenced behind what
// was written on the stream so far.
func (cc *callConn) request(to string, v proto.Message) {
	cc.h.t.Helper()
	a, err := anypb.New(v)
	if err != nil {
		cc.h.t.Fatal(err)
	}
	cc.id++
	env := &clusterpb.Envelope{Version: protocolVersion, From: cc.h.from, Session: cc.h.session, Body: &clusterpb.Envelope_CallRequest{
		CallRequest: &clusterpb.CallRequest{CallId: cc.id, ToName: to, Payload: a, TimeoutMs: 30000},
	}}
	if _, err := cc.conn.Write(poolFrame(cc.h.t, calleeStream, cc.h.packets, env)); err != nil {
		cc.h.t.Fatal(err)
	}
}

// reply reads the reply to the last request, waiting at most 30 s.
func (cc *callConn) reply() callResult {
	cc.h.t.Helper()
	_ = cc.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	f, err := readPoolFrame(cc.r, &cc.buf, poolFrameHead+maxPacketBytes)
	if err != nil {
		cc.h.t.Fatal(err)
	}
	_, _, pkt, err := parsePoolFrame(f)
	if err != nil {
		cc.h.t.Fatal(err)
	}
	r := pkt.GetEnvelope().GetCallReply()
	if r.GetCallId() != cc.id {
		cc.h.t.Fatalf("a reply to call %d, want %d", r.GetCallId(), cc.id)
	}
	return replyResult(r)
}

// call makes a request and returns its reply's value.
func (cc *callConn) call(to string, v proto.Message) proto.Message {
	cc.h.t.Helper()
	cc.request(to, v)
	res := cc.reply()
	if res.err != nil {
		cc.h.t.Fatal(res.err)
	}
	return res.value.(proto.Message)
}

// counted is a counter's answer: the messages seen, negated when the
// call ran on its call connection's goroutine.
func counted(n int64) *wrapperspb.Int64Value {
	if onCallConnection() {
		return wrapperspb.Int64(-n)
	}
	return wrapperspb.Int64(n)
}

// TestPooledRequestRunsAnIdleCalleeInline: a request at its fence to an
// idle process runs on its call connection's goroutine, and sees every
// message sent before it on the stream, whether it waited for its fence
// (and was posted) or found it reached.
func TestPooledRequestRunsAnIdleCalleeInline(t *testing.T) {
	h := newCallee(t)
	var n int64
	h.spawn("counter", func(_ *actor.Context, msg any) error {
		switch x := msg.(type) {
		case *wrapperspb.Int64Value:
			n++
		case *actor.Request:
			x.Reply(counted(n))
		}
		return nil
	})
	cc := h.dial()
	var sent, inline int64
	for round := range 60 {
		for range round % 4 {
			sent++
			h.send("counter", wrapperspb.Int64(sent))
		}
		if round%2 == 0 {
			h.settle() // at its fence on arrival
		}
		got := cc.call("counter", wrapperspb.Int64(0)).(*wrapperspb.Int64Value).Value
		if got < 0 {
			inline++
			got = -got
		}
		if got != sent {
			t.Fatalf("round %d: the call saw %d messages, want the %d sent before it", round, got, sent)
		}
	}
	if inline == 0 {
		t.Fatal("no request ran on its call connection")
	}
}

// TestPooledRequestToABusyCallee: a request for a process busy with other
// mail is posted behind it, and a worker handles it; meanwhile another
// call connection is served as usual.
func TestPooledRequestToABusyCallee(t *testing.T) {
	h := newCallee(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var n int64
	h.spawn("busy", func(_ *actor.Context, msg any) error {
		switch x := msg.(type) {
		case *wrapperspb.StringValue:
			close(entered)
			<-release
			n++
		case *wrapperspb.Int64Value:
			n++
		case *actor.Request:
			x.Reply(counted(n))
		}
		return nil
	})
	h.spawn("echo", func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(r.Message())
		}
		return nil
	})
	h.send("busy", wrapperspb.String("block"))
	<-entered
	h.send("busy", wrapperspb.Int64(1))
	h.settle()
	cc := h.dial()
	cc.request("busy", wrapperspb.Int64(0))
	pid, _ := h.b.node.WhereIs("busy")
	testkit.Eventually(t, 10*time.Second, func() error {
		if pk, _ := h.b.node.Peek(pid); pk.QueueLen < 2 {
			return errors.New("the request is not queued yet")
		}
		return nil
	})
	if v := h.dial().call("echo", wrapperspb.String("x")); v.(*wrapperspb.StringValue).Value != "x" {
		t.Fatalf("echo answered %v", v)
	}
	close(release)
	res := cc.reply()
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := res.value.(*wrapperspb.Int64Value).Value; got != 2 {
		t.Fatalf("the request answered %d, want 2: the messages before it, on a worker", got)
	}
}

// TestPooledRequestDeferredReply: a handler that runs on the call
// connection and answers later, from another goroutine, has its reply
// written on the connection then; the connection carries the next call.
func TestPooledRequestDeferredReply(t *testing.T) {
	h := newCallee(t)
	held := make(chan *actor.Request, 1)
	h.spawn("later", func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			if !onCallConnection() {
				r.Reply(wrapperspb.String("not inline"))
				return nil
			}
			held <- r
		}
		return nil
	})
	cc := h.dial()
	for round := range 3 {
		h.settle()
		cc.request("later", wrapperspb.Int64(int64(round)))
		var r *actor.Request
		select {
		case r = <-held:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: the handler did not run on the call connection", round)
		}
		go r.Reply(wrapperspb.String("later"))
		res := cc.reply()
		if res.err != nil || res.value.(*wrapperspb.StringValue).Value != "later" {
			t.Fatalf("round %d: %v, %v; want the deferred reply", round, res.value, res.err)
		}
	}
}

// TestPooledRequestPanics: a handler that panics on the call connection
// ends its process as on a worker (the caller gets the panic, a later
// call NoProc), and the connection carries the next call.
func TestPooledRequestPanics(t *testing.T) {
	h := newCallee(t)
	h.spawn("boom", func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			if !onCallConnection() {
				r.Reply(wrapperspb.String("not inline"))
				return nil
			}
			panic("boom")
		}
		return nil
	})
	pid, _ := h.b.node.WhereIs("boom")
	ib, err := h.b.node.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := ib.Monitor(ctx, pid); err != nil {
		t.Fatal(err)
	}
	h.settle()
	cc := h.dial()
	cc.request("boom", wrapperspb.Int64(0))
	if res := cc.reply(); res.err == nil {
		t.Fatalf("the call of a handler that panicked answered %v", res.value)
	}
	m, err := ib.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pe *actor.PanicError
	if d, ok := m.(actor.Down); !ok || !errors.As(d.Reason, &pe) {
		t.Fatalf("the monitor got %#v, want a Down with the panic", m)
	}
	cc.request("boom", wrapperspb.Int64(1))
	if res := cc.reply(); !errors.Is(res.err, actor.NoProc) {
		t.Fatalf("a call after the panic: %v, want NoProc", res.err)
	}
}

// TestTransportStopDoesNotWaitForAHandler: the transport's stop does not
// wait for a handler running on a call connection's goroutine (the
// handler's process is the node's to stop, as it would be on a worker).
// Without lend, stop waits for the connection's goroutine, and so for the
// handler.
func TestTransportStopDoesNotWaitForAHandler(t *testing.T) {
	h := newCallee(t)
	entered, release := make(chan bool, 1), make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	h.spawn("stuck", func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			entered <- onCallConnection()
			<-release
			r.Reply(nil)
		}
		return nil
	})
	h.settle()
	h.dial().request("stuck", wrapperspb.Int64(0))
	if !<-entered {
		t.Fatal("the handler did not run on the call connection")
	}
	stopped := make(chan struct{})
	h.q.once.Do(func() { close(h.q.closed) }) // c's end of b's stream to it
	go func() {
		h.b.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the transport's stop waited for a handler")
	}
	once.Do(func() { close(release) })
}

// TestPooledCallAllocations: the callee serves a pooled call with the
// hand codec (hotwire.go) on its call connection: reading the request,
// running the handler inline and writing the reply take at most
// maxPooledCalleeAllocs allocations (11 when written; the generated codec
// took 23).
func TestPooledCallAllocations(t *testing.T) {
	h := newCallee(t)
	h.spawn("echo", func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(r.Message())
		}
		return nil
	})
	h.settle()
	cc := h.dial()
	cc.call("echo", wrapperspb.String("bind")) // the first request binds the connection
	a, err := anypb.New(wrapperspb.String("ping"))
	if err != nil {
		t.Fatal(err)
	}
	req := poolFrame(t, calleeStream, h.packets, &clusterpb.Envelope{Version: protocolVersion, From: h.from, Session: h.session,
		Body: &clusterpb.Envelope_CallRequest{CallRequest: &clusterpb.CallRequest{CallId: 7, ToName: "echo", Payload: a, TimeoutMs: 30000}}})
	_ = cc.conn.SetReadDeadline(time.Now().Add(time.Minute))
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := cc.conn.Write(req); err != nil {
			t.Fatal(err)
		}
		if _, err := readPoolFrame(cc.r, &cc.buf, poolFrameHead+maxPacketBytes); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations per pooled call on the callee", allocs)
	if allocs > maxPooledCalleeAllocs {
		t.Fatalf("%.1f allocations per pooled call on the callee, want at most %d", allocs, maxPooledCalleeAllocs)
	}
}

const maxPooledCalleeAllocs = 14

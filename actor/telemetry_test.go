package actor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// relay answers a request by calling next with the same message (when next
// is set) and replying with its answer; the last one replies at once.
type relay struct{ next actor.PID }

func (r relay) Receive(ctx *actor.Context, msg any) error {
	req, ok := msg.(*actor.Request)
	if !ok {
		return nil
	}
	if r.next.IsZero() {
		req.Reply(trace.SpanFromContext(ctx).SpanContext().TraceID().String())
		return nil
	}
	v, err := actor.Call(ctx, r.next, req.Message())
	if err != nil {
		return err
	}
	req.Reply(v)
	return nil
}

func telemetryNode(t *testing.T, opts ...actor.NodeOption) (*actor.Node, *tracetest.SpanRecorder, *sdkmetric.ManualReader) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return actortest.NewNode(t, append([]actor.NodeOption{actor.WithTracerProvider(tp), actor.WithMeterProvider(mp)}, opts...)...), rec, reader
}

// A call through two relays on one node is one trace: each call's client
// span is the child of the handler span it was made from, and each handler
// span the child of the call that reached it.
func TestTelemetryTraceLinksLocalCalls(t *testing.T) {
	n, rec, _ := telemetryNode(t, actor.WithRootSpans())
	c, _ := n.Spawn(relay{})
	b, _ := n.Spawn(relay{next: c})
	a, _ := n.Spawn(relay{next: b})
	got, err := n.Call(ctxT(t), a, "hop")
	if err != nil {
		t.Fatal(err)
	}
	handled(t, n, a, b, c)
	spans := rec.Ended()
	if len(spans) != 6 {
		t.Fatalf("%d spans, want 6 (3 calls, 3 handlers)", len(spans))
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var root sdktrace.ReadOnlySpan
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		if !s.Parent().IsValid() {
			root = s
		}
	}
	if root == nil || root.Name() != "arbor.call" {
		t.Fatalf("no root call span: %v", spans)
	}
	if got != root.SpanContext().TraceID().String() {
		t.Fatalf("the last handler saw trace %v, the root is %v", got, root.SpanContext().TraceID())
	}
	// Walk each span up to the root: the chain alternates call and handle.
	for _, s := range spans {
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Fatalf("span %s in trace %v, want %v", s.Name(), s.SpanContext().TraceID(), root.SpanContext().TraceID())
		}
		if !s.Parent().IsValid() {
			continue
		}
		p, ok := byID[s.Parent().SpanID()]
		if !ok {
			t.Fatalf("span %s has a parent that is not recorded", s.Name())
		}
		want := map[string]string{"arbor.handle": "arbor.call", "arbor.call": "arbor.handle"}[s.Name()]
		if p.Name() != want {
			t.Fatalf("span %s has parent %s, want %s", s.Name(), p.Name(), want)
		}
	}
}

// A send or cast made while a traced request is handled gets a producer
// span in the same trace; one made outside any trace starts none.
func TestTelemetrySendSpansOnlyWithinTrace(t *testing.T) {
	n, rec, _ := telemetryNode(t, actor.WithRootSpans())
	sink := newInbox(t, n)
	if err := actor.Cast(context.Background(), sink.PID(), "untraced"); err != nil {
		t.Fatal(err)
	}
	recv(t, sink)
	if s := rec.Ended(); len(s) != 0 {
		t.Fatalf("a cast outside any trace made %d spans", len(s))
	}
	fwd, _ := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			_ = actor.Cast(ctx, sink.PID(), "traced")
			_ = ctx.Send(sink.PID(), "traced")
			r.Reply("ok")
		}
		return nil
	}))
	if _, err := n.Call(ctxT(t), fwd, "go"); err != nil {
		t.Fatal(err)
	}
	recv(t, sink)
	recv(t, sink)
	handled(t, n, fwd)
	names := map[string]int{}
	var tid trace.TraceID
	for _, s := range rec.Ended() {
		names[s.Name()]++
		if tid.IsValid() && s.SpanContext().TraceID() != tid {
			t.Fatalf("spans of two traces: %v", rec.Ended())
		}
		tid = s.SpanContext().TraceID()
	}
	if names["arbor.cast"] != 1 || names["arbor.send"] != 1 || names["arbor.call"] != 1 || names["arbor.handle"] != 1 {
		t.Fatalf("spans %v, want one each of call, handle, cast, send", names)
	}
}

// Without WithRootSpans a call made outside any trace starts no span (its
// duration is still recorded), and one made within a span of the user's
// is traced: its client span is that span's child.
func TestTelemetryCallOutsideTraceHasNoSpan(t *testing.T) {
	n, rec, reader := telemetryNode(t)
	c, _ := n.Spawn(relay{})
	b, _ := n.Spawn(relay{next: c})
	if _, err := n.Call(ctxT(t), b, "bare"); err != nil {
		t.Fatal(err)
	}
	handled(t, n, b, c)
	if s := rec.Ended(); len(s) != 0 {
		t.Fatalf("a call outside any trace made %d spans", len(s))
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var calls uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "arbor.call.duration" {
				for _, dp := range h.DataPoints {
					calls += dp.Count
				}
			}
		}
	}
	if calls != 2 {
		t.Fatalf("%d call durations recorded, want 2", calls)
	}
	ctx, user := n.TracerProvider().Tracer("test").Start(ctxT(t), "user")
	if _, err := n.Call(ctx, b, "traced"); err != nil {
		t.Fatal(err)
	}
	user.End()
	handled(t, n, b, c)
	names := map[string]int{}
	for _, s := range rec.Ended() {
		names[s.Name()]++
		if s.SpanContext().TraceID() != user.SpanContext().TraceID() {
			t.Fatalf("span %s outside the user's trace", s.Name())
		}
		if s.Name() == "arbor.call" && s.Parent().SpanID() == user.SpanContext().SpanID() {
			names["child of user"]++
		}
	}
	if names["arbor.call"] != 2 || names["arbor.handle"] != 2 || names["child of user"] != 1 {
		t.Fatalf("spans %v, want 2 calls (one the user's child) and 2 handlers", names)
	}
}

// The node's metrics: messages handled, call duration, mailbox and
// process gauges.
func TestTelemetryMetrics(t *testing.T) {
	n, _, reader := telemetryNode(t)
	c, _ := n.Spawn(relay{})
	for range 3 {
		if _, err := n.Call(ctxT(t), c, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Call(ctxT(t), actor.PID{}, "x"); err == nil {
		t.Fatal("a call to the zero PID succeeded")
	}
	// A process counts the messages of a batch once it has handled them
	// all, after its handler replied: the count of the last call may come
	// a moment after that call returned (1 run in 30 under load saw 2).
	var got map[string]metricdata.Aggregation
	testkit.Eventually(t, 10*time.Second, func() error {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		got = map[string]metricdata.Aggregation{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				got[m.Name] = m.Data
			}
		}
		if s, ok := got["arbor.process.messages"].(metricdata.Sum[int64]); !ok || sumInt(s.DataPoints) < 3 {
			return fmt.Errorf("arbor.process.messages = %#v, want at least 3", got["arbor.process.messages"])
		}
		return nil
	})
	h, ok := got["arbor.call.duration"].(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("no arbor.call.duration: %v", got)
	}
	outcomes := map[string]uint64{}
	for _, dp := range h.DataPoints {
		v, _ := dp.Attributes.Value("outcome")
		outcomes[v.AsString()] += dp.Count
	}
	if outcomes["ok"] != 3 || outcomes["error"] != 1 {
		t.Fatalf("call durations by outcome %v, want ok 3 and error 1", outcomes)
	}
	if g, ok := got["arbor.processes"].(metricdata.Gauge[int64]); !ok || len(g.DataPoints) != 1 || g.DataPoints[0].Value < 1 {
		t.Fatalf("arbor.processes = %#v", got["arbor.processes"])
	}
	for _, name := range []string{"arbor.mailbox.length", "arbor.mailbox.max_length"} {
		if _, ok := got[name].(metricdata.Gauge[int64]); !ok {
			t.Fatalf("no %s: %v", name, got)
		}
	}
}

// handled returns once each process has finished the message it was
// handling (its handler span has then ended): a process_info request runs
// between two messages.
func handled(t *testing.T, n *actor.Node, pids ...actor.PID) {
	t.Helper()
	for _, p := range pids {
		if _, err := n.ProcessInfo(ctxT(t), p); err != nil {
			t.Fatal(err)
		}
	}
}

func sumInt(dps []metricdata.DataPoint[int64]) int64 {
	var s int64
	for _, dp := range dps {
		s += dp.Value
	}
	return s
}

// Without telemetry options a node reports no providers.
func TestTelemetryOffByDefault(t *testing.T) {
	n := newNode(t)
	if n.TracerProvider() != nil || n.MeterProvider() != nil {
		t.Fatal("a node without telemetry options has providers")
	}
}

// A traced call with a deadline is handled with a view that keeps its
// handler's span: read from another goroutine after the request ended,
// while the process handles a second traced call, trace.SpanFromContext
// gives the first handler's span (before, the process's ctx read the
// request being handled, on the process goroutine only).
func TestTelemetryViewKeepsItsSpan(t *testing.T) {
	n, _, _ := telemetryNode(t, actor.WithRootSpans())
	type answer struct {
		ctx  *actor.Context
		span trace.SpanContext
	}
	p, _ := n.Spawn(actor.ReceiverFunc(func(ctx *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(answer{ctx, trace.SpanFromContext(ctx).SpanContext()})
		}
		return nil
	}))
	var first answer
	for i := range 2 {
		v, err := n.Call(ctxT(t), p, "span")
		if err != nil {
			t.Fatal(err)
		}
		a := v.(answer)
		if !a.span.IsValid() {
			t.Fatalf("call %d: the handler had no span", i)
		}
		if i == 0 {
			first = a
			continue
		}
		if a.span.SpanID() == first.span.SpanID() {
			t.Fatal("two calls, one handler span")
		}
	}
	if got := trace.SpanFromContext(first.ctx).SpanContext(); !got.Equal(first.span) {
		t.Fatalf("the first call's ctx, after the request, has span %v, want %v", got.SpanID(), first.span.SpanID())
	}
}

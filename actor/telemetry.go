package actor

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/arbor-otp/arbor/internal/seam"
)

// InstrumentationName names the tracer and meter Arbor's packages take from
// the node's providers.
const InstrumentationName = "github.com/arbor-otp/arbor"

// WithTracerProvider turns on OpenTelemetry for the node and takes its
// spans from tp (the global provider if tp is nil). A node without any of
// WithTracerProvider, WithMeterProvider and WithTelemetry has no telemetry
// at all: its message path pays one nil check (ADR 0010).
func WithTracerProvider(tp trace.TracerProvider) NodeOption {
	return func(c *nodeConfig) { c.telemetry, c.tp = true, tp }
}

// WithMeterProvider turns on OpenTelemetry for the node and records its
// metrics with mp (the global provider if mp is nil).
func WithMeterProvider(mp metric.MeterProvider) NodeOption {
	return func(c *nodeConfig) { c.telemetry, c.mp = true, mp }
}

// WithTelemetry turns on OpenTelemetry for the node with the global
// providers (otel.GetTracerProvider, otel.GetMeterProvider) for those not
// set with WithTracerProvider or WithMeterProvider.
func WithTelemetry() NodeOption { return func(c *nodeConfig) { c.telemetry = true } }

// WithRootSpans makes a Call made outside any trace (its ctx carries no
// valid span) start one: its arbor.call span is then a root span. Without
// it such a call is not traced (its duration is still recorded), as a
// send outside a trace is not: a trace per call a background loop makes
// would flood a backend, and the call of a traced request, an HTTP
// handler's with its span in ctx for one, is traced either way (ADR 0010,
// 2026-12-01). It has effect only on a node with telemetry on.
func WithRootSpans() NodeOption { return func(c *nodeConfig) { c.rootSpans = true } }

// TracerProvider returns the node's tracer provider, or nil when the node
// has no telemetry. Arbor's other packages (cluster, supervision,
// registry) take their spans from it.
func (n *Node) TracerProvider() trace.TracerProvider {
	if n.tel == nil {
		return nil
	}
	return n.tel.tp
}

// MeterProvider returns the node's meter provider, or nil when the node has
// no telemetry. Arbor's other packages record their metrics with it.
func (n *Node) MeterProvider() metric.MeterProvider {
	if n.tel == nil {
		return nil
	}
	return n.tel.mp
}

// telemetry is a node's OpenTelemetry instruments, built once by NewNode.
// A node without telemetry has none (Node.tel is nil) and every hook is
// behind that nil check.
type telemetry struct {
	tp     trace.TracerProvider
	mp     metric.MeterProvider
	tracer trace.Tracer

	received metric.Int64Counter     // arbor.process.messages
	callDur  metric.Float64Histogram // arbor.call.duration
	callOK   []metric.RecordOption
	callErr  []metric.RecordOption
	reg      metric.Registration // the mailbox gauges' callback

	// rootSpans: a call outside any trace starts one (WithRootSpans).
	rootSpans bool

	clientSpan, serverSpan, producerSpan, consumerSpan []trace.SpanStartOption
}

func newTelemetry(n *Node, tp trace.TracerProvider, mp metric.MeterProvider) *telemetry {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	t := &telemetry{
		tp:           tp,
		mp:           mp,
		tracer:       tp.Tracer(InstrumentationName),
		clientSpan:   []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)},
		serverSpan:   []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)},
		producerSpan: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer)},
		consumerSpan: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)},
		callOK:       []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "ok")))},
		callErr:      []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "error")))},
	}
	m := mp.Meter(InstrumentationName)
	// An instrument the provider refuses is replaced by a no-op one (the
	// API returns one beside the error), so telemetry never fails a node.
	t.received, _ = m.Int64Counter("arbor.process.messages",
		metric.WithDescription("Messages handled by the node's processes (signals not included)."),
		metric.WithUnit("{message}"))
	t.callDur, _ = m.Float64Histogram("arbor.call.duration",
		metric.WithDescription("Time from a Call's start to its reply or error, on the calling node."),
		metric.WithUnit("s"))
	queued, _ := m.Int64ObservableGauge("arbor.mailbox.length",
		metric.WithDescription("Messages waiting in the node's mailboxes, in all of them."),
		metric.WithUnit("{message}"))
	longest, _ := m.Int64ObservableGauge("arbor.mailbox.max_length",
		metric.WithDescription("The longest mailbox of the node."),
		metric.WithUnit("{message}"))
	procs, _ := m.Int64ObservableGauge("arbor.processes",
		metric.WithDescription("Live processes of the node."),
		metric.WithUnit("{process}"))
	t.reg, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		var sum, top, count int64
		n.table.each(func(c *Context) {
			q, _ := c.queueLen()
			sum += int64(q)
			top = max(top, int64(q))
			count++
		})
		o.ObserveInt64(queued, sum)
		o.ObserveInt64(longest, top)
		o.ObserveInt64(procs, count)
		return nil
	}, queued, longest, procs)
	return t
}

// stop unregisters the node's observable instruments.
func (t *telemetry) stop() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}

// call is Node.call with the call's duration and, within a trace (or for
// every call with WithRootSpans), a client span.
func (t *telemetry) call(ctx context.Context, n *Node, from, to PID, msg any) (any, error) {
	// The clock is read only for a histogram that records (a no-op
	// provider's does not): on some machines time.Now is the dearest part.
	var start time.Time
	timed := t.callDur.Enabled(ctx)
	if timed {
		start = time.Now()
	}
	if !t.rootSpans && !trace.SpanContextFromContext(ctx).IsValid() {
		// Outside any trace: no span (and none of the context otel's
		// Start would allocate for a root span), the duration only.
		v, err := n.callTraced(ctx, from, to, msg, nil)
		if timed {
			t.recordCall(ctx, start, err)
		}
		return v, err
	}
	ctx, span := t.tracer.Start(ctx, "arbor.call", t.clientSpan...)
	var tr *reqExt
	if sc := span.SpanContext(); sc.IsValid() {
		tr = &reqExt{parent: sc}
		if span.IsRecording() {
			span.SetAttributes(attribute.String("arbor.to", to.String()),
				attribute.String("arbor.message.type", fmt.Sprintf("%T", msg)))
		}
	}
	v, err := n.callTraced(ctx, from, to, msg, tr)
	if timed {
		t.recordCall(ctx, start, err)
	}
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	return v, err
}

// recordCall records a call's duration, by outcome.
func (t *telemetry) recordCall(ctx context.Context, start time.Time, err error) {
	opts := t.callOK
	if err != nil {
		opts = t.callErr
	}
	t.callDur.Record(ctx, time.Since(start).Seconds(), opts...)
}

// handle runs the Receiver on a traced request, inside a server span that
// is the child of the caller's.
func (t *telemetry) handle(c *Context, req *Request) error {
	if !req.ext.parent.IsValid() {
		return c.recv.Receive(c.viewFor(req, nil), req)
	}
	parent := trace.ContextWithRemoteSpanContext(context.Background(), req.ext.parent)
	ctx, span := t.tracer.Start(parent, "arbor.handle", t.serverSpan...)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("arbor.pid", c.self.String()),
			attribute.String("arbor.message.type", fmt.Sprintf("%T", req.msg)))
	}
	req.ext.ctx = ctx
	reason := c.recv.Receive(c.viewFor(req, ctx), req)
	req.ext.ctx = nil
	if reason != nil {
		span.SetStatus(codes.Error, reason.Error())
	}
	span.End()
	return reason
}

// send opens a producer span for a send or cast made within a recorded
// span (ctx carries one); a message sent outside any trace starts none, so
// a stream of fire-and-forget messages does not make a trace each. It
// returns nil when there is no span to end. (IsRecording is the cheap
// test: SpanContextFromContext copies the span context on every message.)
func (t *telemetry) send(ctx context.Context, to PID, cast bool) trace.Span {
	if ctx == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return nil
	}
	name := "arbor.send"
	if cast {
		name = "arbor.cast"
	}
	_, span := t.tracer.Start(ctx, name, t.producerSpan...)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("arbor.to", to.String()))
	}
	return span
}

// sendEnv is Node.sendEnv within a producer span when ctx carries a
// recorded span; the span crosses to another node with the message when
// the transport carries it (seam.TracedSender), and the receiving node's
// delivery is its child.
func (t *telemetry) sendEnv(ctx context.Context, n *Node, from, to PID, e envelope) error {
	span := t.send(ctx, to, e.cast)
	if span == nil {
		return n.sendEnv(from, to, e)
	}
	defer span.End()
	if to.node != n.ident && to.node != nil {
		if tr := n.remote.Load(); tr != nil {
			if ts, ok := (*tr).(seam.TracedSender[PID]); ok {
				parent, state := w3c(span.SpanContext())
				return ts.SendTraced(from, to, e.msg, e.cast, parent, state)
			}
		}
	}
	return n.sendEnv(from, to, e)
}

// w3c returns the traceparent and tracestate headers of sc.
func w3c(sc trace.SpanContext) (parent, state string) {
	var h headers
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), &h)
	return h.parent, h.state
}

// deliverTraced is deliverLocal for a message that came from another node
// with its sender's span: on a node with telemetry the delivery is an
// "arbor.receive" consumer span, the child of the sender's producer span.
// A malformed traceparent is ignored (the message is delivered untraced).
func deliverTraced(n *Node, to PID, msg any, cast bool, parent, state string) error {
	t := n.tel
	if t == nil {
		return n.deliverLocal(to, msg, cast)
	}
	h := headers{parent: parent, state: state}
	pctx := propagation.TraceContext{}.Extract(context.Background(), &h)
	if !trace.SpanContextFromContext(pctx).IsValid() {
		return n.deliverLocal(to, msg, cast)
	}
	_, span := t.tracer.Start(pctx, "arbor.receive", t.consumerSpan...)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("arbor.to", to.String()),
			attribute.String("arbor.message.type", fmt.Sprintf("%T", msg)))
	}
	err := n.deliverLocal(to, msg, cast)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	return err
}

// traceValue is Context.Value for keys other than Arbor's own: the context
// of the span of the request being handled, if it is traced.
func (c *Context) traceValue(key any) any {
	if r := c.current.Load(); r != nil && r.ext != nil && r.ext.ctx != nil {
		return r.ext.ctx.Value(key)
	}
	return nil
}

// traceParent returns the W3C traceparent and tracestate of ctx's span,
// for the cluster transport to carry with a call; empty when n has no
// telemetry or ctx no valid span.
func traceParent(n *Node, ctx context.Context) (parent, state string) {
	if n.tel == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return "", ""
	}
	var h headers
	propagation.TraceContext{}.Inject(ctx, &h)
	return h.parent, h.state
}

// setRequestTrace gives a request that came from another node the span its
// caller sent (a W3C traceparent and tracestate). A malformed traceparent
// is ignored: the request then starts no span of its own.
func setRequestTrace(n *Node, r *Request, parent, state string) {
	if n.tel == nil || parent == "" {
		return
	}
	h := headers{parent: parent, state: state}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), &h))
	if sc.IsValid() {
		r.ext = &reqExt{parent: sc}
	}
}

// headers is a propagation.TextMapCarrier of the two W3C headers.
type headers struct{ parent, state string }

func (h *headers) Get(key string) string {
	switch key {
	case "traceparent":
		return h.parent
	case "tracestate":
		return h.state
	}
	return ""
}

func (h *headers) Set(key, value string) {
	switch key {
	case "traceparent":
		h.parent = value
	case "tracestate":
		h.state = value
	}
}

func (h *headers) Keys() []string { return []string{"traceparent", "tracestate"} }

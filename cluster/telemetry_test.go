package cluster_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// A child started with CHILD_TRACE=1 has telemetry: an SDK tracer
// provider recording its spans in memory and a meter provider with a
// manual reader, and a "hop" process (see hop).
var (
	childSpans  *tracetest.SpanRecorder
	childReader *sdkmetric.ManualReader
)

// traceChildOptions gives a CHILD_TRACE child its providers.
func traceChildOptions() []cluster.Option {
	if os.Getenv("CHILD_TRACE") == "" {
		return nil
	}
	childSpans = tracetest.NewSpanRecorder()
	childReader = sdkmetric.NewManualReader()
	return []cluster.Option{cluster.WithNodeOptions(
		actor.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(childSpans))),
		actor.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(childReader))),
	)}
}

// startHop registers "hop" and "deadlines" on a CHILD_TRACE child.
func startHop(c *cluster.Cluster) error {
	if childSpans == nil {
		return nil
	}
	if _, err := behaviour.Start(c.Node(), deadlineServer{}, behaviour.WithName("deadlines")); err != nil {
		return err
	}
	_, err := c.Node().Spawn(hop{}, actor.WithName("hop"))
	return err
}

// deadlineServer is a GenServer that answers any call with its handler's
// ctx.Deadline(), as deadlineAnswer.
type deadlineServer struct{}

func (deadlineServer) Init(*actor.Context) (struct{}, error) { return struct{}{}, nil }

func (deadlineServer) HandleCall(ctx *actor.Context, _ behaviour.From, _ any, s struct{}) behaviour.Result[struct{}] {
	return behaviour.Reply(deadlineAnswer(ctx), s)
}

// deadlineAnswer is ctx's deadline as Unix nanoseconds, or "none".
func deadlineAnswer(ctx *actor.Context) *wrapperspb.StringValue {
	d, ok := ctx.Deadline()
	if !ok {
		return wrapperspb.String("none")
	}
	return wrapperspb.String(strconv.FormatInt(d.UnixNano(), 10))
}

// hop answers calls of StringValues:
//   - "pid": its PID (BytesValue, MarshalPID); "deadlines": the PID of
//     the node's deadlineServer;
//   - "root P...": opens a span "test.root", calls the first PID P with
//     "hop" and the rest, and replies with that answer;
//   - "hop P...": calls the first PID with the rest; with none left it
//     replies with the trace ID of its handler's span;
//   - "cast P", "send P": casts (sends) a StringValue to P within a span
//     "test.root";
//   - "deadline [P]": its handler's ctx.Deadline() (Unix nanoseconds or
//     "none"), or what P says when called with "deadline" and its ctx;
//   - "spans": one line "name trace span parent" per ended span;
//   - "metrics": one line "name value" per metric (a sum's total, a
//     histogram's count, a gauge's value).
type hop struct{}

func (hop) Receive(ctx *actor.Context, msg any) error {
	req, ok := msg.(*actor.Request)
	if !ok {
		return nil
	}
	s, _ := req.Message().(*wrapperspb.StringValue)
	f := strings.Fields(s.GetValue())
	if len(f) == 0 {
		req.Reply(wrapperspb.String("bad request"))
		return nil
	}
	switch f[0] {
	case "pid":
		req.Reply(wrapperspb.Bytes(cluster.MarshalPID(ctx.Self())))
	case "deadlines":
		pid, _ := ctx.Node().WhereIs("deadlines")
		req.Reply(wrapperspb.Bytes(cluster.MarshalPID(pid)))
	case "root", "hop":
		var call context.Context = ctx
		if f[0] == "root" {
			sctx, span := ctx.Node().TracerProvider().Tracer("test").Start(ctx, "test.root")
			defer span.End()
			call = sctx
		}
		if len(f) == 1 {
			req.Reply(wrapperspb.String(trace.SpanFromContext(ctx).SpanContext().TraceID().String()))
			return nil
		}
		next, err := decodePIDArg(f[1])
		if err != nil {
			return err
		}
		v, err := actor.Call(call, next, wrapperspb.String(strings.Join(append([]string{"hop"}, f[2:]...), " ")))
		if err != nil {
			req.Reply(wrapperspb.String("error: " + err.Error()))
			return nil
		}
		req.Reply(v)
	case "cast", "send":
		// "cast P" / "send P": within a span "test.root", casts (or
		// sends) a StringValue to P and replies "ok".
		next, err := decodePIDArg(f[1])
		if err != nil {
			return err
		}
		sctx, span := ctx.Node().TracerProvider().Tracer("test").Start(ctx, "test.root")
		if f[0] == "cast" {
			err = actor.Cast(sctx, next, wrapperspb.String("noted"))
		} else {
			err = actor.Send(sctx, next, wrapperspb.String("noted"))
		}
		span.End()
		if err != nil {
			req.Reply(wrapperspb.String("error: " + err.Error()))
			return nil
		}
		req.Reply(wrapperspb.String("ok"))
	case "deadline":
		// "deadline": the handler's deadline as Unix nanoseconds, or
		// "none"; "deadline P": what P says when called with this ctx.
		if len(f) > 1 {
			next, err := decodePIDArg(f[1])
			if err != nil {
				return err
			}
			v, err := actor.Call(ctx, next, wrapperspb.String("deadline"))
			if err != nil {
				req.Reply(wrapperspb.String("error: " + err.Error()))
				return nil
			}
			req.Reply(v)
			return nil
		}
		req.Reply(deadlineAnswer(ctx))
	case "spans":
		var b strings.Builder
		for _, sp := range childSpans.Ended() {
			fmt.Fprintf(&b, "%s %s %s %s\n", sp.Name(), sp.SpanContext().TraceID(), sp.SpanContext().SpanID(), sp.Parent().SpanID())
		}
		req.Reply(wrapperspb.String(b.String()))
	case "metrics":
		var rm metricdata.ResourceMetrics
		if err := childReader.Collect(context.Background(), &rm); err != nil {
			req.Reply(wrapperspb.String("error: " + err.Error()))
			return nil
		}
		var b strings.Builder
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				var v float64
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					for _, dp := range d.DataPoints {
						v += float64(dp.Value)
					}
				case metricdata.Gauge[int64]:
					for _, dp := range d.DataPoints {
						v += float64(dp.Value)
					}
				case metricdata.Histogram[float64]:
					for _, dp := range d.DataPoints {
						v += float64(dp.Count)
					}
				}
				fmt.Fprintf(&b, "%s %g\n", m.Name, v)
			}
		}
		req.Reply(wrapperspb.String(b.String()))
	default:
		req.Reply(wrapperspb.String("unknown request"))
	}
	return nil
}

type spanLine struct{ node, name, trace, span, parent string }

// A call from node A to B to C, three OS processes, is one trace: A's
// client span is the parent of B's handler span, whose call is the parent
// of C's handler span, the W3C trace context crossing on the wire each
// time. Each node records its own metrics.
func TestTelemetryThreeHopTrace(t *testing.T) {
	nodes := []*child{
		startChild(t, "tra", "CHILD_TRACE=1"),
		startChild(t, "trb", "CHILD_TRACE=1"),
		startChild(t, "trc", "CHILD_TRACE=1"),
	}
	ask := func(c *child, req string) string {
		t.Helper()
		v, err := shared.CallNamed(ctxT(t), c.name, "hop", wrapperspb.String(req))
		if err != nil {
			t.Fatalf("%s on %s: %v", req, c.name, err)
		}
		return v.(*wrapperspb.StringValue).GetValue()
	}
	var hops []string
	for _, c := range nodes[1:] {
		v, err := shared.CallNamed(ctxT(t), c.name, "hop", wrapperspb.String("pid"))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).GetValue())
		if err != nil {
			t.Fatal(err)
		}
		hops = append(hops, pidArg(pid))
	}
	last := ask(nodes[0], "root "+strings.Join(hops, " "))
	var spans []spanLine
	byID := map[string]spanLine{}
	for i, c := range nodes {
		for _, l := range strings.Split(strings.TrimSpace(ask(c, "spans")), "\n") {
			f := strings.Fields(l)
			if len(f) != 4 {
				t.Fatalf("span line %q of %s", l, c.name)
			}
			s := spanLine{node: "ABC"[i : i+1], name: f[0], trace: f[1], span: f[2], parent: f[3]}
			spans = append(spans, s)
			byID[s.span] = s
		}
	}
	if len(spans) != 5 {
		t.Fatalf("spans %v, want 5: A root and call, B handle and call, C handle", spans)
	}
	for _, s := range spans {
		if s.trace != last {
			t.Fatalf("span %+v is not in the trace C saw (%s)", s, last)
		}
	}
	// The chain from C's handler up to A's root, one parent at a time.
	want := []string{"C arbor.handle", "B arbor.call", "B arbor.handle", "A arbor.call", "A test.root"}
	var at spanLine
	for _, s := range spans {
		if s.node == "C" {
			at = s
		}
	}
	for i, w := range want {
		if got := at.node + " " + at.name; got != w {
			t.Fatalf("step %d up the chain is %s, want %s (spans %v)", i, got, w, spans)
		}
		if i < len(want)-1 {
			p, ok := byID[at.parent]
			if !ok {
				t.Fatalf("the parent %s of %s %s is not recorded", at.parent, at.node, at.name)
			}
			at = p
		}
	}
	if at.parent != (trace.SpanID{}).String() {
		t.Fatalf("A's root has a parent %s", at.parent)
	}
	// B handled the call and made one: its metrics say so.
	got := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(ask(nodes[1], "metrics")), "\n") {
		var name string
		var v float64
		if _, err := fmt.Sscanf(l, "%s %g", &name, &v); err == nil {
			got[name] = v
		}
	}
	for name, atLeast := range map[string]float64{
		"arbor.process.messages":           1,
		"arbor.call.duration":              1,
		"arbor.processes":                  1,
		"arbor.cluster.sessions":           1,
		"arbor.cluster.envelopes.received": 1,
		"arbor.cluster.bytes.sent":         1,
		"arbor.cluster.bytes.received":     1,
	} {
		if got[name] < atLeast {
			t.Errorf("B's %s = %v, want at least %v (all: %v)", name, got[name], atLeast, got)
		}
	}
	if _, ok := got["arbor.cluster.envelopes.dropped"]; !ok {
		t.Errorf("B has no arbor.cluster.envelopes.dropped (all: %v)", got)
	}
}

// A caller's deadline reaches the handler on another node as
// ctx.Deadline() (the wire carries the remaining time), for a plain
// process and a GenServer, and from there one more node on: the test
// calls a child, whose handler calls a process of a second child with its
// ctx. A caller without a deadline leaves the handler without.
func TestCallDeadlineAcrossNodes(t *testing.T) {
	a := startChild(t, "dla", "CHILD_TRACE=1")
	b := startChild(t, "dlb", "CHILD_TRACE=1")
	pidOf := func(c *child, req string) actor.PID {
		t.Helper()
		v, err := shared.CallNamed(ctxT(t), c.name, "hop", wrapperspb.String(req))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).GetValue())
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	pb, gsb := pidOf(b, "pid"), pidOf(b, "deadlines")
	want := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), want)
	defer cancel()
	for _, call := range []struct{ name, req string }{
		{"hop", "deadline"},
		{"deadlines", "deadline"},
		{"hop", "deadline " + pidArg(pb)},
		{"hop", "deadline " + pidArg(gsb)},
	} {
		v, err := shared.CallNamed(ctx, a.name, call.name, wrapperspb.String(call.req))
		if err != nil {
			t.Fatal(err)
		}
		s := v.(*wrapperspb.StringValue).GetValue()
		ns, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s %s: the handler answered %q", call.name, call.req, s)
		}
		// The wire carries the remaining time in whole milliseconds,
		// counted again from the request's arrival (one machine, one
		// clock here): the handler's deadline is the caller's, less up to
		// a millisecond per hop, plus the time in transit (generous
		// bounds: a loaded machine).
		got := time.Unix(0, ns)
		if got.Before(want.Add(-time.Second)) || got.After(want.Add(time.Minute)) {
			t.Fatalf("%s %s: the handler saw deadline %v, want about %v", call.name, call.req, got, want)
		}
	}
	for _, call := range []struct{ name, req string }{
		{"deadlines", "deadline"},
		{"hop", "deadline " + pidArg(gsb)},
	} {
		v, err := shared.CallNamed(context.Background(), a.name, call.name, wrapperspb.String(call.req))
		if err != nil {
			t.Fatal(err)
		}
		if s := v.(*wrapperspb.StringValue).GetValue(); s != "none" {
			t.Fatalf("%s %s: a call without a deadline gave the handler %q", call.name, call.req, s)
		}
	}
}

// A cast and a send made within a trace carry the trace to the node of
// their target: there the delivery is an arbor.receive span whose parent
// is the sender's producer span (two OS processes).
func TestTelemetrySendTraceAcrossNodes(t *testing.T) {
	a := startChild(t, "tsa", "CHILD_TRACE=1")
	b := startChild(t, "tsb", "CHILD_TRACE=1")
	ask := func(c *child, req string) string {
		t.Helper()
		v, err := shared.CallNamed(ctxT(t), c.name, "hop", wrapperspb.String(req))
		if err != nil {
			t.Fatalf("%s on %s: %v", req, c.name, err)
		}
		return v.(*wrapperspb.StringValue).GetValue()
	}
	v, err := shared.CallNamed(ctxT(t), b.name, "hop", wrapperspb.String("pid"))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).GetValue())
	if err != nil {
		t.Fatal(err)
	}
	spans := func(c *child) []spanLine {
		var out []spanLine
		for _, l := range strings.Split(strings.TrimSpace(ask(c, "spans")), "\n") {
			if f := strings.Fields(l); len(f) == 4 {
				out = append(out, spanLine{name: f[0], trace: f[1], span: f[2], parent: f[3]})
			}
		}
		return out
	}
	for _, kind := range []string{"cast", "send"} {
		if got := ask(a, kind+" "+pidArg(pb)); got != "ok" {
			t.Fatalf("%s: %s", kind, got)
		}
	}
	producers := map[string]spanLine{}
	for _, s := range spans(a) {
		if s.name == "arbor.cast" || s.name == "arbor.send" {
			producers[s.span] = s
		}
	}
	if len(producers) != 2 {
		t.Fatalf("A's spans %v, want an arbor.cast and an arbor.send", spans(a))
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		var linked int
		for _, s := range spans(b) {
			if s.name != "arbor.receive" {
				continue
			}
			p, ok := producers[s.parent]
			if !ok || p.trace != s.trace {
				return fmt.Errorf("B's arbor.receive %+v is not the child of a producer span of A (%v)", s, producers)
			}
			linked++
		}
		if linked != 2 {
			return fmt.Errorf("B has %d arbor.receive spans, want 2", linked)
		}
		return nil
	})
}

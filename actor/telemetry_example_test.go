package actor_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/rs/zerolog"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/arbor-otp/arbor/actor"
)

// lineSpans is an OpenTelemetry span exporter that keeps one line per
// span, its name and whether it has a parent, for the example to print in
// a fixed order; a real program would use an OTLP or stdout exporter.
type lineSpans struct {
	mu    sync.Mutex
	lines []string
}

func (e *lineSpans) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		kind := "root"
		if s.Parent().IsValid() {
			kind = "child"
		}
		e.lines = append(e.lines, fmt.Sprintf("span %s (%s)", s.Name(), kind))
	}
	return nil
}

func (e *lineSpans) Shutdown(context.Context) error { return nil }

func (e *lineSpans) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := slices.Clone(e.lines)
	slices.Sort(out)
	return out
}

// A node with OpenTelemetry: a call made within a span is a client span
// below it, its handling a server span below that, and the node's metrics are read from the meter
// provider's reader.
func Example_telemetry() {
	ctx := context.Background()
	spans := &lineSpans{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	n := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)),
		actor.WithTracerProvider(tp), actor.WithMeterProvider(mp))
	defer func() { _ = n.Stop(ctx) }()

	echo, _ := n.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if r, ok := msg.(*actor.Request); ok {
			r.Reply(r.Message())
		}
		return nil
	}))
	// A call within a span (an HTTP handler's, say) is traced; one
	// outside any trace is not, unless the node has WithRootSpans.
	tctx, request := tp.Tracer("example").Start(ctx, "request")
	reply, err := n.Call(tctx, echo, "hello")
	request.End()
	fmt.Println(reply, err)
	// The handler's span ends when the handler returns, which may be just
	// after the caller got its reply: a process_info request runs once
	// the process is between two messages.
	_, _ = n.ProcessInfo(ctx, echo)
	for _, s := range spans.take() {
		fmt.Println(s)
	}

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
			fmt.Println(m.Name, "count", h.DataPoints[0].Count)
		}
	}
	// Output:
	// hello <nil>
	// span arbor.call (child)
	// span arbor.handle (child)
	// span request (root)
	// arbor.call.duration count 1
}

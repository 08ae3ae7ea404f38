package supervision

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/arbor-otp/arbor/actor"
)

// metrics are a supervisor's OpenTelemetry counters, taken from the node's
// meter provider (actor.WithMeterProvider) when it has one; without one
// the reporter holds nil and records nothing. They are recorded where the
// reports are logged, off the message path:
//
//	arbor.supervisor.child_exits     children that exited by themselves, by reason class
//	arbor.supervisor.restarts        child restarts
//	arbor.supervisor.intensity_hits  supervisors that gave up: restart intensity or plan exceeded
//
// Each carries the supervisor's name (or PID) as arbor.supervisor; exits
// carry arbor.reason: normal, shutdown, killed, noproc, noconnection,
// panic or error.
type metrics struct {
	exits, restarts, intensity metric.Int64Counter
	sup                        attribute.KeyValue
}

func newMetrics(n *actor.Node, sup string) *metrics {
	mp := n.MeterProvider()
	if mp == nil {
		return nil
	}
	m := mp.Meter(actor.InstrumentationName)
	ms := &metrics{sup: attribute.String("arbor.supervisor", sup)}
	ms.exits, _ = m.Int64Counter("arbor.supervisor.child_exits",
		metric.WithDescription("Children that exited by themselves, by reason class."), metric.WithUnit("{exit}"))
	ms.restarts, _ = m.Int64Counter("arbor.supervisor.restarts",
		metric.WithDescription("Child restarts."), metric.WithUnit("{restart}"))
	ms.intensity, _ = m.Int64Counter("arbor.supervisor.intensity_hits",
		metric.WithDescription("Supervisors that shut down because restarts exceeded their intensity or plan."),
		metric.WithUnit("{shutdown}"))
	return ms
}

func (m *metrics) record(kind ReportKind, reason error) {
	if m == nil {
		return
	}
	ctx := context.Background()
	switch kind {
	case ReportTerminated:
		m.exits.Add(ctx, 1, metric.WithAttributes(m.sup, attribute.String("arbor.reason", reasonClass(reason))))
	case ReportRestarting:
		m.restarts.Add(ctx, 1, metric.WithAttributes(m.sup))
	case ReportIntensity, ReportMaxRestartPlan:
		m.intensity.Add(ctx, 1, metric.WithAttributes(m.sup, attribute.String("arbor.event", kind.String())))
	}
}

// reasonClass names an exit reason's class, a metric attribute with few
// values (the reason's text would make one series per message).
func reasonClass(reason error) string {
	var pe *actor.PanicError
	switch {
	case reason == nil || errors.Is(reason, actor.Normal):
		return "normal"
	case errors.Is(reason, actor.Shutdown):
		return "shutdown"
	case errors.Is(reason, actor.Killed), errors.Is(reason, actor.Kill):
		return "killed"
	case errors.Is(reason, actor.NoConnection):
		return "noconnection"
	case errors.Is(reason, actor.NoProc):
		return "noproc"
	case errors.As(reason, &pe):
		return "panic"
	}
	return "error"
}

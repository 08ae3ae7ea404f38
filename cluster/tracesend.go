package cluster

import "github.com/arbor-otp/arbor/actor"

// SendTraced implements seam.TracedSender: actor calls it for a send or
// cast made within a traced span, and the span (W3C traceparent and
// tracestate) travels in the UserMessage to the receiving node, where the
// delivery is its child (docs/observability.md). Its errors are Send's.
func (t *transport) SendTraced(_, to actor.PID, msg any, cast bool, parent, state string) error {
	return t.sendUser(to, "", to.NodeName(), msg, cast, parent, state)
}

package actor

import (
	"context"

	"github.com/arbor-otp/arbor/internal/seam"
)

// The cluster transport reaches a node through package seam, which only
// Arbor's own packages can import; none of this is part of actor's API.
func init() {
	seam.Install(&seam.Runtime[*Node, PID, Ref, *Request]{
		NewPID: newRemotePID,
		NewRef: makeRef,
		RefID:  refID,
		SetTransport: func(n *Node, t seam.Transport[PID, Ref]) {
			if t == nil {
				n.remote.Store(nil)
				return
			}
			n.remote.Store(&t)
		},
		DeliverLocal:  (*Node).deliverLocal,
		DeliverTraced: deliverTraced,
		DeliverSignal: (*Node).deliverRemoteSignal,
		NewRequest:    newRequest,
		CancelRequest: (*Request).cancel,
		Post:          (*Node).post,
		PostRun:       (*Node).postRun,
		KillAll:       func(ctx context.Context, n *Node) error { return n.killAll(ctx) },

		TraceParent:     traceParent,
		SetRequestTrace: setRequestTrace,

		SetRequestDeadline: setRequestDeadline,
	})
}

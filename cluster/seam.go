package cluster

import (
	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/seam"
)

// rt is what package actor gives the transport: PIDs and Refs from their
// wire form, delivery of what arrives from the wire, remote calls, and the
// node's transport slot. No user of Arbor can reach it.
var rt = seam.Installed[*actor.Node, actor.PID, actor.Ref, *actor.Request]()

// signal is a signal between processes of different nodes.
type signal = seam.Signal[actor.PID, actor.Ref]

var _ seam.Transport[actor.PID, actor.Ref] = (*transport)(nil)

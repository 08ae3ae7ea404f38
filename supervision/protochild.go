package supervision

import (
	"fmt"

	pa "github.com/asynkron/protoactor-go/actor"

	"github.com/arbor-otp/arbor/actor"
)

// ProtoChild returns the spec of a worker child that runs a protoactor
// actor spawned from props on the node's ActorSystem, with the default
// restart (Permanent) and shutdown (5 s); set the spec's fields to change
// them. The child's PID is the process that owns the actor
// (actor.Context.SpawnProtoLink): messages, casts and calls to it reach
// the actor, and actor.Node.ProxyTarget gives the actor's protoactor PID.
//
// The supervisor, not protoactor, decides about a failure: the actor is
// never restarted in place. A panic ends the child with an
// *actor.PanicError; the actor stopping itself (or being stopped by
// protoactor code) ends it with actor.Normal, so a Transient child is not
// restarted then. A restart spawns a new actor with a new protoactor PID
// under a new child PID; what was queued in the old actor is dropped with
// it, never replayed.
//
// Shutdown: the supervisor's actor.Shutdown Poisons the actor (it handles
// the messages already queued, then Stopping and Stopped) and the child
// exits once it has stopped; past the Shutdown limit, or at once with
// BrutalKill, the child is killed, which Stops the actor: its queue is
// dropped and it stops as soon as the handler it is running returns (a
// running Go handler cannot be interrupted, in protoactor as in Arbor).
//
// The child's start returns once the actor has handled Started; a panic
// there fails the start. Start returns an ErrInvalidSpec error for nil
// props.
//
// opts are the owning process's spawn options, such as actor.WithName.
func ProtoChild(id string, props *pa.Props, opts ...actor.SpawnOption) ChildSpec {
	return ChildSpec{
		ID: id,
		Start: func(ctx *actor.Context) (actor.PID, error) {
			if props == nil {
				return actor.PID{}, fmt.Errorf("%w: child %q has nil protoactor Props", ErrInvalidSpec, id)
			}
			return ctx.SpawnProtoLink(props, opts...)
		},
	}
}

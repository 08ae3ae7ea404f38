package registry

import (
	"context"

	"github.com/arbor-otp/arbor/actor"
)

// Sync exposes Scope.sync to the tests.
func Sync(ctx context.Context, s *Scope) error { return s.sync(ctx) }

// RegisterRequest builds the request Scope.Register sends to the scope
// process, so a test can queue one at a chosen point.
func RegisterRequest(name string, pid actor.PID, meta any, done func(any, error)) *actor.Request {
	return actor.NewRequest(actor.PID{}, registerReq{name: name, pid: pid, meta: meta}, done)
}

// CheckMeta exposes checkMeta to the tests.
func CheckMeta(meta any) error { return checkMeta(meta) }

// Reask makes s's scope process ask node again, as after a gap.
func Reask(n *actor.Node, s *Scope, node string) error { return n.Send(s.PID(), reaskMsg{node}) }

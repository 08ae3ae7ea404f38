package registry

import (
	"context"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/seam"
)

// Sync exposes Scope.sync to the tests.
func Sync(ctx context.Context, s *Scope) error { return s.sync(ctx) }

// RegisterRequest builds the request Scope.Register sends to the scope
// process, so a test can queue one at a chosen point.
func RegisterRequest(name string, pid actor.PID, meta any, done func(any, error)) *actor.Request {
	return rt.NewRequest(actor.PID{}, newRegisterReq(name, pid, meta, false), done)
}

// rt is the seam the cluster transport uses, for PIDs of other nodes.
var rt = seam.Installed[*actor.Node, actor.PID, actor.Ref, *actor.Request]()

// RemotePID builds the PID of a process of another node, as the cluster
// transport decodes one from the wire.
func RemotePID(node string, creation, index, serial uint32) actor.PID {
	return rt.NewPID(node, creation, index, serial)
}

// CheckMeta exposes checkMeta to the tests.
func CheckMeta(meta any) error { return checkMeta(meta) }

// Reask makes s's scope process ask node again, as after a gap.
func Reask(n *actor.Node, s *Scope, node string) error { return n.Send(s.PID(), reaskMsg{node}) }

// PostRequest delivers a request built with RegisterRequest to the scope
// process, as Scope.Register's call does.
func PostRequest(n *actor.Node, s *Scope, r *actor.Request) error { return rt.Post(n, s.PID(), r) }

// SetBulkPurgeMin sets the number of a lost node's names from which the
// purge takes them out of the table in one pass, until the test ends.
func SetBulkPurgeMin(t interface{ Cleanup(func()) }, n int) {
	old := bulkPurgeMin
	bulkPurgeMin = n
	t.Cleanup(func() { bulkPurgeMin = old })
}

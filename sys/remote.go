package sys

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/sys/internal/syspb"
)

// ServerName is the name a node's sys server is registered under (Serve).
const ServerName = "arbor.sys"

// served maps a node to its cluster, for the nodes that called Serve.
var served sync.Map // *actor.Node -> *serving

// serving is what a node serves: its cluster, and the registry whose
// scopes it lists (ServeRegistry), if any.
type serving struct {
	c   *cluster.Cluster
	reg *registry.Registry
}

// ServeOption configures Serve.
type ServeOption func(*serving)

// ServeRegistry lets other nodes list the scopes of r (ScopesOn); r must
// be the registry of the served node.
func ServeRegistry(r *registry.Registry) ServeOption { return func(s *serving) { s.reg = r } }

// Serve opens the node of c to remote sys and lets it use sys on the
// processes of other nodes: it starts the node's sys server, registered as
// ServerName, which answers the sys requests of other nodes over the
// cluster. Call it on every node whose processes are to be reached, and on
// every node that reaches them; until then a PID of another node gets
// ErrNotLocal here, and ErrNotServed from a node that does not serve.
//
// What crosses: every operation, for any process. A state crosses when it
// is a protobuf message (a GenServer whose S is a proto message type);
// another state does not: Status.State is nil for it, GetState returns
// ErrNotEncodable, and ReplaceState's new state must be a protobuf
// message. ReplaceState of a remote process reads the state, runs fn on
// the calling node, and replaces the state only if it did not change in
// between (proto.Equal), trying again up to three times before
// ErrStateChanged. A remote trace is logged by the process's own node
// (TraceTo cannot cross: ErrNotEncodable); its bounds cross.
//
// Any member of the cluster can then read and change the node's processes:
// the cluster's members are trusted (docs/clustering.md). Serve returns an
// error if the server cannot start (a second Serve finds the name taken).
//
// The node's listings are served too: its processes (ProcessesOn), its
// application trees (ApplicationTreesOn) and, with ServeRegistry, its
// registry's scopes (ScopesOn).
func Serve(c *cluster.Cluster, opts ...ServeOption) error {
	n := c.Node()
	sv := &serving{c: c}
	for _, o := range opts {
		if o != nil {
			o(sv)
		}
	}
	if sv.reg != nil && sv.reg.Node() != n {
		return fmt.Errorf("sys: serve on %s: %w: the registry is of node %s", n.Name(), ErrBadArgument, sv.reg.Node().Name())
	}
	pid, err := n.Spawn(server{n: n, reg: sv.reg}, actor.WithName(ServerName))
	if err != nil {
		return fmt.Errorf("sys: serve on %s: %w", n.Name(), err)
	}
	served.Store(n, sv)
	exited := n.WatchExit(pid)
	go func() {
		<-exited
		served.CompareAndDelete(n, sv)
	}()
	return nil
}

// server answers remote sys requests. Each runs on its own goroutine, so a
// slow or suspended target holds up no other request; each is bounded by
// DefaultTimeout.
type server struct {
	n   *actor.Node
	reg *registry.Registry // ServeRegistry, or nil
}

func (s server) Receive(_ *actor.Context, msg any) error {
	req, ok := msg.(*actor.Request)
	if !ok {
		return nil
	}
	r, ok := req.Message().(*syspb.Request)
	if !ok {
		req.Reply(encodeError(fmt.Errorf("%w: a %T", errBadRequest, req.Message())))
		return nil
	}
	go func() { req.Reply(s.serve(r)) }()
	return nil
}

// serve carries out one request.
func (s server) serve(r *syspb.Request) *syspb.Reply {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	if rep, ok := s.serveNode(ctx, r); ok {
		return rep
	}
	pid, err := cluster.UnmarshalPID(r.GetPid())
	if err != nil {
		return encodeError(fmt.Errorf("%w: pid: %v", errBadRequest, err))
	}
	if !s.n.IsLocal(pid) {
		return encodeError(fmt.Errorf("sys: %v: %w", pid, actor.NoProc))
	}
	done := &syspb.Reply{Result: &syspb.Reply_Done{Done: &syspb.Done{}}}
	switch op := r.GetOp().(type) {
	case *syspb.Request_GetStatus:
		st, err := GetStatus(ctx, s.n, pid)
		if err != nil {
			return encodeError(err)
		}
		return &syspb.Reply{Result: &syspb.Reply_Status{Status: encodeStatus(st)}}
	case *syspb.Request_GetState:
		v, err := GetState(ctx, s.n, pid)
		if err != nil {
			return encodeError(err)
		}
		return &syspb.Reply{Result: &syspb.Reply_State{State: encodeState(v)}}
	case *syspb.Request_ReplaceState:
		return s.replace(ctx, pid, op.ReplaceState)
	case *syspb.Request_Suspend:
		err = Suspend(ctx, s.n, pid)
	case *syspb.Request_Resume:
		err = Resume(ctx, s.n, pid)
	case *syspb.Request_Trace:
		t := op.Trace
		if t.GetPerSecond() < 0 || t.GetLimit() < 0 {
			return encodeError(fmt.Errorf("%w: negative trace bound", errBadRequest))
		}
		err = Trace(ctx, s.n, pid, t.GetOn(), TracePerSecond(int(t.GetPerSecond())), TraceLimit(int(t.GetLimit())))
	case *syspb.Request_SetStatistics:
		err = SetStatistics(ctx, s.n, pid, op.SetStatistics.GetOn())
	case *syspb.Request_Statistics:
		st, err := Statistics(ctx, s.n, pid)
		if err != nil {
			return encodeError(err)
		}
		return &syspb.Reply{Result: &syspb.Reply_Stats{Stats: encodeStats(&st)}}
	default:
		return encodeError(fmt.Errorf("%w: no operation", errBadRequest))
	}
	if err != nil {
		return encodeError(err)
	}
	return done
}

// replace replaces the state with op's if it still equals op's expected
// one.
func (s server) replace(ctx context.Context, pid actor.PID, op *syspb.ReplaceState) *syspb.Reply {
	if op.GetExpect() == nil || op.GetState() == nil {
		return encodeError(fmt.Errorf("%w: replace state without both states", errBadRequest))
	}
	expect, err := op.GetExpect().UnmarshalNew()
	if err != nil {
		return encodeError(fmt.Errorf("%w: expected state: %v", errBadRequest, err))
	}
	next, err := op.GetState().UnmarshalNew()
	if err != nil {
		return encodeError(fmt.Errorf("%w: new state: %v", errBadRequest, err))
	}
	changed := false
	v, err := ReplaceState(ctx, s.n, pid, func(cur any) any {
		if m, ok := cur.(proto.Message); !ok || !proto.Equal(m, expect) {
			changed = true
			return cur
		}
		return next
	})
	switch {
	case err != nil:
		return encodeError(err)
	case changed:
		return encodeError(ErrStateChanged)
	}
	return &syspb.Reply{Result: &syspb.Reply_State{State: encodeState(v)}}
}

// remote sends a request about the process pid of another node to that
// node's sys server.
func remote(ctx context.Context, n *actor.Node, pid actor.PID, what string, req *syspb.Request) (*syspb.Reply, error) {
	v, ok := served.Load(n)
	if !ok {
		return nil, fmt.Errorf("sys: %s of %v: %w", what, pid, ErrNotLocal)
	}
	c := v.(*serving).c
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	req.Pid = cluster.MarshalPID(pid)
	got, err := c.CallNamed(ctx, pid.NodeName(), ServerName, req)
	if err != nil {
		if errors.Is(err, actor.NoProc) {
			// The target's own NoProc comes back in a Reply: this one is
			// the server's name.
			err = fmt.Errorf("%w (%s): %w", ErrNotServed, pid.NodeName(), err)
		}
		return nil, fmt.Errorf("sys: %s of %v: %w", what, pid, err)
	}
	rep, ok := got.(*syspb.Reply)
	if !ok {
		return nil, fmt.Errorf("sys: %s of %v: the server answered a %T", what, pid, got)
	}
	if e := rep.GetError(); e != nil {
		return nil, fmt.Errorf("sys: %s of %v: %w", what, pid, decodeError(e))
	}
	return rep, nil
}

// isRemote reports whether pid is a process of another node than n's.
func isRemote(n *actor.Node, pid actor.PID) bool { return n != nil && !pid.IsZero() && !n.IsLocal(pid) }

func remoteStatus(ctx context.Context, n *actor.Node, pid actor.PID) (Status, error) {
	rep, err := remote(ctx, n, pid, "get status", &syspb.Request{Op: &syspb.Request_GetStatus{GetStatus: &syspb.GetStatus{}}})
	if err != nil {
		return Status{}, err
	}
	if rep.GetStatus() == nil {
		return Status{}, fmt.Errorf("sys: get status of %v: the reply holds no status", pid)
	}
	st, err := decodeStatus(rep.GetStatus())
	if err != nil {
		return Status{}, fmt.Errorf("sys: get status of %v: decode: %w", pid, err)
	}
	return st, nil
}

func remoteState(ctx context.Context, n *actor.Node, pid actor.PID) (any, error) {
	rep, err := remote(ctx, n, pid, "get state", &syspb.Request{Op: &syspb.Request_GetState{GetState: &syspb.GetState{}}})
	if err != nil {
		return nil, err
	}
	return stateOf(pid, "get state", rep)
}

// stateOf returns the state a reply carries, ErrNotEncodable for one that
// could not cross.
func stateOf(pid actor.PID, what string, rep *syspb.Reply) (any, error) {
	v, ok, err := decodeState(rep.GetState())
	switch {
	case err != nil:
		return nil, fmt.Errorf("sys: %s of %v: %w", what, pid, err)
	case !ok:
		return nil, fmt.Errorf("sys: %s of %v: %w", what, pid, ErrNotEncodable)
	}
	return v, nil
}

// remoteReplace is ReplaceState of a remote process (see Serve).
func remoteReplace[S any](ctx context.Context, n *actor.Node, pid actor.PID, fn func(S) S) (S, error) {
	var zero S
	for range 3 {
		cur, err := remoteState(ctx, n, pid)
		if err != nil {
			return zero, err
		}
		s, ok := cur.(S)
		if !ok {
			return zero, fmt.Errorf("sys: replace state of %v: got %T, want %T: %w", pid, cur, zero, ErrStateType)
		}
		next, err := safeApply(fn, s)
		if err != nil {
			return zero, fmt.Errorf("sys: replace state of %v: %w", pid, err)
		}
		nm, ok := any(next).(proto.Message)
		if !ok {
			return zero, fmt.Errorf("sys: replace state of %v: a %T: %w", pid, next, ErrNotEncodable)
		}
		expect, state := encodeState(cur), encodeState(nm)
		if !expect.GetEncodable() || !state.GetEncodable() {
			return zero, fmt.Errorf("sys: replace state of %v: %w", pid, ErrNotEncodable)
		}
		rep, err := remote(ctx, n, pid, "replace state", &syspb.Request{Op: &syspb.Request_ReplaceState{
			ReplaceState: &syspb.ReplaceState{Expect: expect.GetValue(), State: state.GetValue()},
		}})
		if errors.Is(err, ErrStateChanged) {
			continue
		}
		if err != nil {
			return zero, err
		}
		v, err := stateOf(pid, "replace state", rep)
		if err != nil {
			return zero, err
		}
		out, _ := v.(S)
		return out, nil
	}
	return zero, fmt.Errorf("sys: replace state of %v: %w", pid, ErrStateChanged)
}

// safeApply runs fn, turning a panic into an *actor.PanicError.
func safeApply[S any](fn func(S) S, s S) (out S, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &actor.PanicError{Value: r}
		}
	}()
	return fn(s), nil
}

func remoteDo(ctx context.Context, n *actor.Node, pid actor.PID, what string, req *syspb.Request) error {
	_, err := remote(ctx, n, pid, what, req)
	return err
}

func remoteStatistics(ctx context.Context, n *actor.Node, pid actor.PID) (actor.SysStats, error) {
	rep, err := remote(ctx, n, pid, "statistics", &syspb.Request{Op: &syspb.Request_Statistics{Statistics: &syspb.Statistics{}}})
	if err != nil {
		return actor.SysStats{}, err
	}
	st := decodeStats(rep.GetStats())
	if st == nil {
		return actor.SysStats{}, fmt.Errorf("sys: statistics of %v: the reply holds none", pid)
	}
	return *st, nil
}

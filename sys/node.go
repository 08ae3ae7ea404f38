package sys

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/arbor-otp/arbor/sys/internal/syspb"
)

// The listings of a whole node, this one or another of the cluster: its
// processes, its application trees, its registry's scopes (observer's
// "pick any node").

// Order is the order of a process listing (ProcessesOn).
type Order int

const (
	// ByPID lists processes in PID order.
	ByPID Order = iota
	// ByQueue lists the longest queues first.
	ByQueue
	// ByMemory lists the largest memory estimates first.
	ByMemory
	// ByName lists processes by registered name (unnamed ones first).
	ByName
)

// MaxListLimit bounds the limit of ProcessesOn and ScopesOn, so that a
// listing stays well under cluster.MaxMessageBytes.
const MaxListLimit = 10_000

// ProcessList is a listing of a node's processes: Total processes, of
// which List holds the first in the order asked for.
type ProcessList struct {
	Total int
	List  []ProcessInfo
}

// ProcessesOn lists the processes of the node named node (Processes), in
// the order by, at most limit of them (1 to MaxListLimit). The node is n
// itself (node empty or n's name), or another node of the cluster that
// serves remote sys (Serve), reached from n, which must serve too.
func ProcessesOn(ctx context.Context, n *actor.Node, node string, by Order, limit int) (ProcessList, error) {
	if by < ByPID || by > ByName {
		return ProcessList{}, fmt.Errorf("%w: order %d", ErrBadArgument, by)
	}
	if limit < 1 || limit > MaxListLimit {
		return ProcessList{}, fmt.Errorf("%w: limit %d, want 1 to %d", ErrBadArgument, limit, MaxListLimit)
	}
	if node == "" || node == n.Name() {
		return listProcesses(ctx, n, by, limit), nil
	}
	rep, err := remoteNode(ctx, n, node, "list processes", &syspb.Request{Op: &syspb.Request_ListProcesses{
		ListProcesses: &syspb.ListProcesses{Order: syspb.Order(by), Limit: int32(limit)},
	}})
	if err != nil {
		return ProcessList{}, err
	}
	pl := rep.GetProcesses()
	if pl == nil {
		return ProcessList{}, fmt.Errorf("sys: list processes of %s: the reply holds no list", node)
	}
	out, err := decodeProcessList(pl)
	if err != nil {
		return ProcessList{}, fmt.Errorf("sys: list processes of %s: decode: %w", node, err)
	}
	return out, nil
}

// listProcesses lists n's processes in the order by, the first limit.
func listProcesses(ctx context.Context, n *actor.Node, by Order, limit int) ProcessList {
	all := Processes(ctx, n)
	var order func(a, b ProcessInfo) int
	switch by {
	case ByQueue:
		order = func(a, b ProcessInfo) int { return cmp.Compare(b.QueueLen, a.QueueLen) }
	case ByMemory:
		order = func(a, b ProcessInfo) int { return cmp.Compare(b.Memory, a.Memory) }
	case ByName:
		order = func(a, b ProcessInfo) int { return strings.Compare(a.Name, b.Name) }
	}
	if order != nil {
		slices.SortStableFunc(all, order) // stable: PID order among equals
	}
	return ProcessList{Total: len(all), List: all[:min(len(all), limit)]}
}

// ApplicationTreesOn returns the supervision tree of every running
// application of the node named node (ApplicationTrees): n itself (node
// empty or n's name), or another node of the cluster that serves remote
// sys, reached from n, which must serve too. A remote tree's errors come
// back as *RemoteError.
func ApplicationTreesOn(ctx context.Context, n *actor.Node, node string) ([]AppTree, error) {
	if node == "" || node == n.Name() {
		return ApplicationTrees(ctx, n)
	}
	rep, err := remoteNode(ctx, n, node, "application trees", &syspb.Request{Op: &syspb.Request_ApplicationTrees{ApplicationTrees: &syspb.ApplicationTrees{}}})
	if err != nil {
		return nil, err
	}
	if rep.GetTrees() == nil {
		return nil, fmt.Errorf("sys: application trees of %s: the reply holds none", node)
	}
	out, err := decodeAppTrees(rep.GetTrees())
	if err != nil {
		return nil, fmt.Errorf("sys: application trees of %s: decode: %w", node, err)
	}
	return out, nil
}

// ScopesOn lists the registry scopes of the node named node (Scopes), at
// most limit (1 to MaxListLimit) names, groups and members of each: the
// registry given to Serve with ServeRegistry, on n itself (node empty or
// n's name) or on another node of the cluster, reached from n. It returns
// ErrNoRegistry if that node serves no registry.
func ScopesOn(ctx context.Context, n *actor.Node, node string, limit int) ([]ScopeInfo, error) {
	if limit < 1 || limit > MaxListLimit {
		return nil, fmt.Errorf("%w: limit %d, want 1 to %d", ErrBadArgument, limit, MaxListLimit)
	}
	if node == "" || node == n.Name() {
		v, ok := served.Load(n)
		if !ok || v.(*serving).reg == nil {
			return nil, fmt.Errorf("sys: scopes of %s: %w", n.Name(), ErrNoRegistry)
		}
		return Scopes(v.(*serving).reg, limit), nil
	}
	rep, err := remoteNode(ctx, n, node, "list scopes", &syspb.Request{Op: &syspb.Request_ListScopes{ListScopes: &syspb.ListScopes{Limit: int32(limit)}}})
	if err != nil {
		return nil, err
	}
	if rep.GetScopes() == nil {
		return nil, fmt.Errorf("sys: list scopes of %s: the reply holds none", node)
	}
	out, err := decodeScopes(rep.GetScopes())
	if err != nil {
		return nil, fmt.Errorf("sys: list scopes of %s: decode: %w", node, err)
	}
	return out, nil
}

// remoteNode sends a listing request to the sys server of the node named
// node, through the cluster n serves on.
func remoteNode(ctx context.Context, n *actor.Node, node, what string, req *syspb.Request) (*syspb.Reply, error) {
	v, ok := served.Load(n)
	if !ok {
		return nil, fmt.Errorf("sys: %s of %s: %w", what, node, ErrNotLocal)
	}
	c := v.(*serving).c
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	got, err := c.CallNamed(ctx, node, ServerName, req)
	if err != nil {
		if errors.Is(err, actor.NoProc) {
			err = fmt.Errorf("%w (%s): %w", ErrNotServed, node, err)
		}
		return nil, fmt.Errorf("sys: %s of %s: %w", what, node, err)
	}
	rep, ok := got.(*syspb.Reply)
	if !ok {
		return nil, fmt.Errorf("sys: %s of %s: the server answered a %T", what, node, got)
	}
	if e := rep.GetError(); e != nil {
		return nil, fmt.Errorf("sys: %s of %s: %w", what, node, decodeError(e))
	}
	return rep, nil
}

// serveNode answers a listing request; ok is false for a request about
// one process.
func (s server) serveNode(ctx context.Context, r *syspb.Request) (rep *syspb.Reply, ok bool) {
	switch op := r.GetOp().(type) {
	case *syspb.Request_ListProcesses:
		by, limit := Order(op.ListProcesses.GetOrder()), int(op.ListProcesses.GetLimit())
		if by < ByPID || by > ByName || limit < 1 || limit > MaxListLimit {
			return encodeError(fmt.Errorf("%w: list processes: order %d, limit %d", errBadRequest, by, limit)), true
		}
		return &syspb.Reply{Result: &syspb.Reply_Processes{Processes: encodeProcessList(listProcesses(ctx, s.n, by, limit))}}, true
	case *syspb.Request_ApplicationTrees:
		trees, err := ApplicationTrees(ctx, s.n)
		if err != nil {
			return encodeError(err), true
		}
		return &syspb.Reply{Result: &syspb.Reply_Trees{Trees: encodeAppTrees(trees)}}, true
	case *syspb.Request_ListScopes:
		limit := int(op.ListScopes.GetLimit())
		if limit < 1 || limit > MaxListLimit {
			return encodeError(fmt.Errorf("%w: list scopes: limit %d", errBadRequest, limit)), true
		}
		if s.reg == nil {
			return encodeError(fmt.Errorf("sys: scopes of %s: %w", s.n.Name(), ErrNoRegistry)), true
		}
		return &syspb.Reply{Result: &syspb.Reply_Scopes{Scopes: encodeScopes(Scopes(s.reg, limit))}}, true
	}
	return nil, false
}

func encodeProcessList(pl ProcessList) *syspb.ProcessList {
	out := &syspb.ProcessList{Total: int64(pl.Total), List: make([]*syspb.ProcessInfo, len(pl.List))}
	for i, p := range pl.List {
		out.List[i] = &syspb.ProcessInfo{
			Pid: cluster.MarshalPID(p.PID), Name: p.Name, Behaviour: p.Behaviour, Suspended: p.Mode == Suspended,
			QueueLen: int64(p.QueueLen), Links: encodePIDs(p.Links), Monitors: encodePIDs(p.Monitors),
			MonitoredBy: encodePIDs(p.MonitoredBy), Memory: int64(p.Memory), Answered: p.Answered,
		}
	}
	return out
}

func decodeProcessList(pl *syspb.ProcessList) (ProcessList, error) {
	if pl.GetTotal() < int64(len(pl.GetList())) {
		return ProcessList{}, fmt.Errorf("total %d below the %d listed", pl.GetTotal(), len(pl.GetList()))
	}
	out := ProcessList{Total: int(pl.GetTotal()), List: make([]ProcessInfo, len(pl.GetList()))}
	for i, p := range pl.GetList() {
		var (
			pi  ProcessInfo
			err error
		)
		if pi.PID, err = cluster.UnmarshalPID(p.GetPid()); err != nil || pi.PID.IsZero() {
			return ProcessList{}, fmt.Errorf("process %d: pid: %w", i, errors.Join(err, errors.New("want one")))
		}
		if pi.Links, err = decodePIDs(p.GetLinks()); err != nil {
			return ProcessList{}, fmt.Errorf("process %d: links: %w", i, err)
		}
		if pi.Monitors, err = decodePIDs(p.GetMonitors()); err != nil {
			return ProcessList{}, fmt.Errorf("process %d: monitors: %w", i, err)
		}
		if pi.MonitoredBy, err = decodePIDs(p.GetMonitoredBy()); err != nil {
			return ProcessList{}, fmt.Errorf("process %d: monitored by: %w", i, err)
		}
		if p.GetQueueLen() < 0 || p.GetMemory() < 0 {
			return ProcessList{}, fmt.Errorf("process %d: negative queue length or memory", i)
		}
		pi.Name, pi.Behaviour, pi.Answered = p.GetName(), p.GetBehaviour(), p.GetAnswered()
		pi.QueueLen, pi.Memory = int(p.GetQueueLen()), int(p.GetMemory())
		if p.GetSuspended() {
			pi.Mode = Suspended
		}
		out.List[i] = pi
	}
	return out, nil
}

func encodeAppTrees(trees []AppTree) *syspb.AppTrees {
	out := &syspb.AppTrees{Apps: make([]*syspb.AppTree, len(trees))}
	for i, a := range trees {
		at := &syspb.AppTree{Name: a.Name}
		if a.Err != nil {
			at.Error = a.Err.Error()
		} else {
			at.Tree = encodeTree(&a.Tree)
		}
		out.Apps[i] = at
	}
	return out
}

func encodeTree(t *TreeNode) *syspb.TreeNode {
	out := &syspb.TreeNode{Pid: cluster.MarshalPID(t.PID), Id: t.ID, Behaviour: t.Behaviour, Type: uint32(t.Type), State: uint32(t.State)}
	if t.Err != nil {
		out.Error = t.Err.Error()
	}
	for i := range t.Children {
		out.Children = append(out.Children, encodeTree(&t.Children[i]))
	}
	return out
}

func decodeAppTrees(at *syspb.AppTrees) ([]AppTree, error) {
	out := make([]AppTree, len(at.GetApps()))
	for i, a := range at.GetApps() {
		out[i].Name = a.GetName()
		switch {
		case a.GetError() != "":
			out[i].Err = &RemoteError{Text: a.GetError()}
		case a.GetTree() == nil:
			return nil, fmt.Errorf("application %q: neither a tree nor an error", a.GetName())
		default:
			t, err := decodeTree(a.GetTree())
			if err != nil {
				return nil, fmt.Errorf("application %q: %w", a.GetName(), err)
			}
			out[i].Tree = t
		}
	}
	return out, nil
}

// decodeTree decodes a tree; protobuf bounds its depth when unmarshalling.
func decodeTree(t *syspb.TreeNode) (TreeNode, error) {
	pid, err := decodePID(t.GetPid())
	if err != nil {
		return TreeNode{}, fmt.Errorf("child %q: pid: %w", t.GetId(), err)
	}
	if t.GetType() > uint32(supervision.Supervisor) || t.GetState() > uint32(supervision.Waiting) {
		return TreeNode{}, fmt.Errorf("child %q: type %d or state %d out of range", t.GetId(), t.GetType(), t.GetState())
	}
	out := TreeNode{PID: pid, ID: t.GetId(), Behaviour: t.GetBehaviour(), Type: supervision.ChildType(t.GetType()), State: supervision.ChildState(t.GetState())}
	if t.GetError() != "" {
		out.Err = &RemoteError{Text: t.GetError()}
	}
	if len(t.GetChildren()) > 0 {
		out.Children = make([]TreeNode, len(t.GetChildren()))
		for i, c := range t.GetChildren() {
			if out.Children[i], err = decodeTree(c); err != nil {
				return TreeNode{}, err
			}
		}
	}
	return out, nil
}

func encodeScopes(scopes []ScopeInfo) *syspb.ScopeList {
	out := &syspb.ScopeList{Scopes: make([]*syspb.Scope, len(scopes))}
	for i, s := range scopes {
		sc := &syspb.Scope{Name: s.Name, NameCount: int64(s.NameCount), GroupCount: int64(s.GroupCount)}
		for _, nm := range s.Names {
			sc.Names = append(sc.Names, &syspb.Name{Name: nm.Name, Pid: cluster.MarshalPID(nm.PID)})
		}
		for _, g := range s.Groups {
			sc.Groups = append(sc.Groups, &syspb.Group{Name: g.Name, Members: encodePIDs(g.Members)})
		}
		out.Scopes[i] = sc
	}
	return out
}

func decodeScopes(sl *syspb.ScopeList) ([]ScopeInfo, error) {
	out := make([]ScopeInfo, len(sl.GetScopes()))
	for i, s := range sl.GetScopes() {
		if s.GetNameCount() < 0 || s.GetGroupCount() < 0 {
			return nil, fmt.Errorf("scope %q: negative count", s.GetName())
		}
		si := ScopeInfo{Name: s.GetName(), NameCount: int(s.GetNameCount()), GroupCount: int(s.GetGroupCount())}
		for _, nm := range s.GetNames() {
			pid, err := decodePID(nm.GetPid())
			if err != nil {
				return nil, fmt.Errorf("scope %q: name %q: %w", s.GetName(), nm.GetName(), err)
			}
			si.Names = append(si.Names, NameInfo{Name: nm.GetName(), PID: pid})
		}
		for _, g := range s.GetGroups() {
			members, err := decodePIDs(g.GetMembers())
			if err != nil {
				return nil, fmt.Errorf("scope %q: group %q: %w", s.GetName(), g.GetName(), err)
			}
			si.Groups = append(si.Groups, GroupInfo{Name: g.GetName(), Members: members})
		}
		out[i] = si
	}
	return out, nil
}

package sys

import (
	"context"
	"fmt"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/supervision"
)

// TreeNode is one process of a supervision tree (observer's application
// tab): a supervisor with its children, or a worker.
type TreeNode struct {
	PID       actor.PID // zero for a child that is not running
	ID        string    // the child's ID in its supervisor (empty for the root and a DynamicSupervisor's children)
	Behaviour string    // as Status.Behaviour; empty for a child that is not running
	Type      supervision.ChildType
	State     supervision.ChildState
	Children  []TreeNode // in start order, for a supervisor
	// Err is set when the node's children could not be listed (the
	// supervisor was busy past ctx, or exited meanwhile).
	Err error
}

// Tree returns the supervision tree under root, a supervisor of node n
// (Supervisor, DynamicSupervisor or Director): its children and, for
// every child that is a running supervisor, its children, down to the
// workers (supervision.WhichChildren, recursively). A subtree that cannot
// be listed has its Err set and the walk goes on. ctx bounds the whole
// walk (DefaultTimeout without a deadline). It returns an error wrapping
// supervision.ErrNotSupervisor if root is not a supervisor, and
// GetStatus's errors for root.
func Tree(ctx context.Context, n *actor.Node, root actor.PID) (TreeNode, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	b, err := behaviourName(ctx, n, root)
	if err != nil {
		return TreeNode{}, err
	}
	if !isSupervisor(b) {
		return TreeNode{}, fmt.Errorf("sys: tree of %v: %w", root, supervision.ErrNotSupervisor)
	}
	t := TreeNode{PID: root, Behaviour: b, Type: supervision.Supervisor, State: supervision.Running}
	walk(ctx, n, &t)
	return t, nil
}

func walk(ctx context.Context, n *actor.Node, t *TreeNode) {
	kids, err := supervision.WhichChildren(ctx, t.PID)
	if err != nil {
		t.Err = err
		return
	}
	t.Children = make([]TreeNode, len(kids))
	for i, k := range kids {
		c := TreeNode{PID: k.PID, ID: k.ID, Type: k.Type, State: k.State}
		if k.State == supervision.Running && !k.PID.IsZero() && n.IsLocal(k.PID) {
			b, err := behaviourName(ctx, n, k.PID)
			switch {
			case err != nil:
				c.Err = err
			case k.Type == supervision.Supervisor && isSupervisor(b):
				c.Behaviour = b
				walk(ctx, n, &c)
			default:
				c.Behaviour = b
			}
		}
		t.Children[i] = c
	}
}

func behaviourName(ctx context.Context, n *actor.Node, pid actor.PID) (string, error) {
	var b string
	err := run(ctx, n, pid, "get behaviour", func(p *actor.SysProcess) { b = behaviourOf(p.Receiver()) })
	return b, err
}

func isSupervisor(behaviour string) bool {
	switch behaviour {
	case "supervisor", "dynamic_supervisor", "director":
		return true
	}
	return false
}

// AppTree is one running application and its supervision tree.
type AppTree struct {
	Name string
	Tree TreeNode
	Err  error // the tree could not be walked
}

// ApplicationTrees returns the supervision tree of every running
// application of node n (observer's application tab), in the order the
// controller lists them. It returns an error wrapping
// application.ErrNoController if n has no application controller, or the
// controller's call error.
func ApplicationTrees(ctx context.Context, n *actor.Node) ([]AppTree, error) {
	if n == nil {
		return nil, fmt.Errorf("sys: application trees: %w", actor.ErrNilNode)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	c, err := application.ControllerOf(n)
	if err != nil {
		return nil, fmt.Errorf("sys: application trees: %w", err)
	}
	apps, err := c.WhichApplications(ctx)
	if err != nil {
		return nil, fmt.Errorf("sys: application trees: %w", err)
	}
	out := make([]AppTree, 0, len(apps))
	for _, a := range apps {
		at := AppTree{Name: a.Name}
		if a.Top.IsZero() {
			at.Err = fmt.Errorf("sys: tree of application %s: %w", a.Name, ErrNoTopSupervisor)
		} else {
			at.Tree, at.Err = Tree(ctx, n, a.Top)
		}
		out = append(out, at)
	}
	return out, nil
}

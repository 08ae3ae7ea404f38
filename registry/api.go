package registry

import (
	"context"
	"iter"

	"github.com/arbor-otp/arbor/actor"
)

// The Registry methods below are the Syn-style API: each takes the scope by
// name and does what the Scope method of the same name does, after
// returning ErrUnknownScope if the node has not added the scope. Hold a
// *Scope (Registry.Scope) to skip the scope lookup on a hot path.

// Register is Scope.Register in scope.
func (r *Registry) Register(ctx context.Context, scope, name string, pid actor.PID, meta any) error {
	s, err := r.scopeFor("register", scope, name, "", pid)
	if err != nil {
		return err
	}
	return s.Register(ctx, name, pid, meta)
}

// Unregister is Scope.Unregister in scope.
func (r *Registry) Unregister(ctx context.Context, scope, name string, pid actor.PID) error {
	s, err := r.scopeFor("unregister", scope, name, "", pid)
	if err != nil {
		return err
	}
	return s.Unregister(ctx, name, pid)
}

// Update is Scope.Update in scope.
func (r *Registry) Update(ctx context.Context, scope, name string, fn func(pid actor.PID, meta any) any) (actor.PID, any, error) {
	s, err := r.scopeFor("update", scope, name, "", actor.PID{})
	if err != nil {
		return actor.PID{}, nil, err
	}
	return s.Update(ctx, name, fn)
}

// Lookup is Scope.Lookup in scope.
func (r *Registry) Lookup(scope, name string) (actor.PID, any, error) {
	s, err := r.scopeFor("lookup", scope, name, "", actor.PID{})
	if err != nil {
		return actor.PID{}, nil, err
	}
	return s.Lookup(name)
}

// Count is Scope.Count in scope.
func (r *Registry) Count(scope string) (int, error) {
	s, err := r.scopeFor("count", scope, "", "", actor.PID{})
	if err != nil {
		return 0, err
	}
	return s.Count(), nil
}

// LocalCount is Scope.LocalCount in scope.
func (r *Registry) LocalCount(scope string) (int, error) {
	s, err := r.scopeFor("count local", scope, "", "", actor.PID{})
	if err != nil {
		return 0, err
	}
	return s.LocalCount(), nil
}

// Join is Scope.Join in scope.
func (r *Registry) Join(ctx context.Context, scope, group string, pid actor.PID, meta any) error {
	s, err := r.scopeFor("join", scope, "", group, pid)
	if err != nil {
		return err
	}
	return s.Join(ctx, group, pid, meta)
}

// Leave is Scope.Leave in scope.
func (r *Registry) Leave(ctx context.Context, scope, group string, pid actor.PID) error {
	s, err := r.scopeFor("leave", scope, "", group, pid)
	if err != nil {
		return err
	}
	return s.Leave(ctx, group, pid)
}

// UpdateMember is Scope.UpdateMember in scope.
func (r *Registry) UpdateMember(ctx context.Context, scope, group string, pid actor.PID, fn func(meta any) any) (any, error) {
	s, err := r.scopeFor("update member", scope, "", group, pid)
	if err != nil {
		return nil, err
	}
	return s.UpdateMember(ctx, group, pid, fn)
}

// Members is Scope.Members in scope.
func (r *Registry) Members(scope, group string) ([]Member, error) {
	s, err := r.scopeFor("list members of", scope, "", group, actor.PID{})
	if err != nil {
		return nil, err
	}
	return s.Members(group), nil
}

// MembersSeq is Scope.MembersSeq in scope.
func (r *Registry) MembersSeq(scope, group string) (iter.Seq[Member], error) {
	s, err := r.scopeFor("list members of", scope, "", group, actor.PID{})
	if err != nil {
		return nil, err
	}
	return s.MembersSeq(group), nil
}

// LocalMembers is Scope.LocalMembers in scope.
func (r *Registry) LocalMembers(scope, group string) ([]Member, error) {
	s, err := r.scopeFor("list local members of", scope, "", group, actor.PID{})
	if err != nil {
		return nil, err
	}
	return s.LocalMembers(group), nil
}

// IsMember is Scope.IsMember in scope.
func (r *Registry) IsMember(scope, group string, pid actor.PID) (bool, error) {
	s, err := r.scopeFor("check member of", scope, "", group, pid)
	if err != nil {
		return false, err
	}
	return s.IsMember(group, pid), nil
}

// IsLocalMember is Scope.IsLocalMember in scope.
func (r *Registry) IsLocalMember(scope, group string, pid actor.PID) (bool, error) {
	s, err := r.scopeFor("check local member of", scope, "", group, pid)
	if err != nil {
		return false, err
	}
	return s.IsLocalMember(group, pid), nil
}

// MemberCount is Scope.MemberCount in scope.
func (r *Registry) MemberCount(scope, group string) (int, error) {
	s, err := r.scopeFor("count members of", scope, "", group, actor.PID{})
	if err != nil {
		return 0, err
	}
	return s.MemberCount(group), nil
}

// LocalMemberCount is Scope.LocalMemberCount in scope.
func (r *Registry) LocalMemberCount(scope, group string) (int, error) {
	s, err := r.scopeFor("count local members of", scope, "", group, actor.PID{})
	if err != nil {
		return 0, err
	}
	return s.LocalMemberCount(group), nil
}

// GroupNames is Scope.GroupNames in scope.
func (r *Registry) GroupNames(scope string) ([]string, error) {
	s, err := r.scopeFor("list groups", scope, "", "", actor.PID{})
	if err != nil {
		return nil, err
	}
	return s.GroupNames(), nil
}

// LocalGroupNames is Scope.LocalGroupNames in scope.
func (r *Registry) LocalGroupNames(scope string) ([]string, error) {
	s, err := r.scopeFor("list local groups", scope, "", "", actor.PID{})
	if err != nil {
		return nil, err
	}
	return s.LocalGroupNames(), nil
}

// GroupCount is Scope.GroupCount in scope.
func (r *Registry) GroupCount(scope string) (int, error) {
	s, err := r.scopeFor("count groups", scope, "", "", actor.PID{})
	if err != nil {
		return 0, err
	}
	return s.GroupCount(), nil
}

// Publish is Scope.Publish in scope. It also says when msg could not
// reach some members because it cannot cross nodes: the count is then
// short of them, and the error (an *OpError) wraps the send's
// cluster.ErrNotProtoMessage or cluster.ErrTooLarge. A member that exited
// meanwhile is not an error.
func (r *Registry) Publish(ctx context.Context, scope, group string, msg any) (int, error) {
	s, err := r.scopeFor("publish to", scope, "", group, actor.PID{})
	if err != nil {
		return 0, err
	}
	n, err := s.publish(ctx, group, msg, false)
	if err != nil {
		return n, &OpError{Op: "publish to", Scope: scope, Group: group, Err: err}
	}
	return n, nil
}

// LocalPublish is Scope.LocalPublish in scope.
func (r *Registry) LocalPublish(ctx context.Context, scope, group string, msg any) (int, error) {
	s, err := r.scopeFor("publish locally to", scope, "", group, actor.PID{})
	if err != nil {
		return 0, err
	}
	return s.LocalPublish(ctx, group, msg), nil
}

// MultiCall is Scope.MultiCall in scope.
func (r *Registry) MultiCall(ctx context.Context, scope, group string, req any) ([]Reply, []actor.PID, error) {
	s, err := r.scopeFor("multi-call", scope, "", group, actor.PID{})
	if err != nil {
		return nil, nil, err
	}
	replies, bad := s.MultiCall(ctx, group, req)
	return replies, bad, nil
}

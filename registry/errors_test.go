package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/registry"
)

// Every error of a registry operation names the scope and the name or
// group it was about, and still matches its sentinel with errors.Is.
func TestErrorsNameScopeAndName(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	pid := spawn(t, n)
	dead := spawn(t, n)
	kill(t, n, dead, errors.New("gone"))
	if err := s.Join(ctx, "room", pid, nil); err != nil {
		t.Fatal(err)
	}
	stopped, cancel := context.WithCancel(ctx)
	cancel()

	tests := []struct {
		name string
		err  error
		want error
		says []string
	}{
		{"lookup", func() error { _, _, err := s.Lookup("user/1"); return err }(),
			registry.ErrNotRegistered, []string{`"s"`, `"user/1"`, "lookup"}},
		{"registry lookup", func() error { _, _, err := r.Lookup("s", "user/1"); return err }(),
			registry.ErrNotRegistered, []string{`"s"`, `"user/1"`}},
		{"unknown scope", func() error { _, _, err := r.Lookup("nope", "user/1"); return err }(),
			registry.ErrUnknownScope, []string{`"nope"`, `"user/1"`}},
		{"unknown scope register", r.Register(ctx, "nope", "user/1", pid, nil),
			registry.ErrUnknownScope, []string{`"nope"`, `"user/1"`, pid.String()}},
		{"find scope", func() error { _, err := r.Scope("nope"); return err }(),
			registry.ErrUnknownScope, []string{`"nope"`}},
		{"add again", r.AddScope("s"), registry.ErrScopeExists, []string{`"s"`}},
		{"register dead", s.Register(ctx, "user/2", dead, nil),
			registry.ErrNotAlive, []string{`"s"`, `"user/2"`, dead.String()}},
		{"register empty", s.Register(ctx, "", pid, nil), registry.ErrBadName, []string{`"s"`}},
		{"register remote", s.Register(ctx, "user/3", registry.RemotePID("other@host:1", 7, 1, 1), nil),
			registry.ErrNotLocal, []string{`"s"`, `"user/3"`}},
		{"register zero", s.Register(ctx, "user/3", actor.PID{}, nil),
			registry.ErrNotAlive, []string{`"s"`, `"user/3"`}},
		{"register cancelled", s.Register(stopped, "user/4", pid, nil),
			context.Canceled, []string{`"s"`, `"user/4"`}},
		{"unregister", s.Unregister(ctx, "user/5", pid),
			registry.ErrNotRegistered, []string{`"s"`, `"user/5"`, pid.String()}},
		{"update", func() error {
			_, _, err := s.Update(ctx, "user/6", func(actor.PID, any) any { return nil })
			return err
		}(), registry.ErrNotRegistered, []string{`"s"`, `"user/6"`}},
		{"join dead", s.Join(ctx, "room/1", dead, nil),
			registry.ErrNotAlive, []string{`"s"`, `"room/1"`, dead.String()}},
		{"leave", s.Leave(ctx, "room/2", pid),
			registry.ErrNotInGroup, []string{`"s"`, `"room/2"`, pid.String()}},
		{"update member", func() error {
			_, err := s.UpdateMember(ctx, "room/3", pid, func(any) any { return nil })
			return err
		}(), registry.ErrNotInGroup, []string{`"s"`, `"room/3"`}},
		{"update member panics", func() error {
			_, err := s.UpdateMember(ctx, "room", pid, func(any) any { panic("boom") })
			return err
		}(), registry.ErrUpdatePanicked, []string{`"s"`, `"room"`, "boom"}},
		{"call unknown scope", func() error {
			_, err := registry.Call(actor.WithNode(ctx, n), "nope", "svc", "hi")
			return err
		}(), registry.ErrUnknownScope, []string{`"nope"`, `"svc"`}},
		{"call no node", func() error { _, err := registry.Call(ctx, "s", "svc", "hi"); return err }(),
			registry.ErrNoNode, []string{`"s"`, `"svc"`}},
		{"call unregistered", func() error {
			_, err := registry.Call(actor.WithNode(ctx, n), "s", "svc", "hi")
			return err
		}(), registry.ErrNotRegistered, []string{`"s"`, `"svc"`}},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.want)
			continue
		}
		var oe *registry.OpError
		if !errors.As(tt.err, &oe) {
			t.Errorf("%s: %T is not an *OpError", tt.name, tt.err)
		}
		for _, w := range tt.says {
			if !strings.Contains(tt.err.Error(), w) {
				t.Errorf("%s: %q does not say %s", tt.name, tt.err, w)
			}
		}
	}
}

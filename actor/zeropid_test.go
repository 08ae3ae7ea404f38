package actor_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/arbor-otp/arbor/actor"
)

// TestZeroPID checks that a call, send or cast to the zero PID says that
// it names no process, from outside any process and from inside one,
// instead of reporting an unreachable remote node.
func TestZeroPID(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, actor.ErrZeroPID) || !errors.Is(err, actor.NoProc) || errors.Is(err, actor.ErrRemote) {
			t.Errorf("%s: %v, want ErrZeroPID (and NoProc), not ErrRemote", what, err)
		}
		if err != nil && !strings.Contains(err.Error(), "zero PID") {
			t.Errorf("%s: %q does not say it is about the zero PID", what, err)
		}
	}
	var zero actor.PID
	_, err := actor.Call(ctx, zero, "ping")
	check("actor.Call", err)
	if ce := (*actor.CallError)(nil); !errors.As(err, &ce) {
		t.Errorf("actor.Call: %T, want a *CallError", err)
	}
	_, err = actor.Call(actor.WithNode(context.Background(), n), zero, "ping")
	check("actor.Call with a node", err)
	_, err = n.Call(ctx, zero, "ping")
	check("Node.Call", err)
	check("actor.Send", actor.Send(ctx, zero, "hi"))
	check("actor.Cast", actor.Cast(ctx, zero, "hi"))
	check("Node.Send", n.Send(zero, "hi"))

	ib := newInbox(t, n)
	if err := ib.Do(ctx, func(c *actor.Context) error {
		_, err := actor.Call(c, zero, "ping")
		check("actor.Call from a process", err)
		check("Context.Send", c.Send(zero, "hi"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCallErrorNamesTheTarget(t *testing.T) {
	n := newNode(t)
	pid, err := n.Spawn(dieOn{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		err  *actor.CallError
		want string
	}{
		{&actor.CallError{PID: pid, Reason: actor.NoProc}, "actor: call " + pid.String() + ": noproc"},
		{&actor.CallError{Name: "ctl", Reason: actor.NoProc}, "actor: call ctl: noproc"},
		{&actor.CallError{Name: "ctl", Node: "b@127.0.0.1:7201", Reason: actor.NoProc}, "actor: call ctl on b@127.0.0.1:7201: noproc"},
		{&actor.CallError{Reason: actor.ErrZeroPID}, "actor: call to the zero PID, which names no process"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

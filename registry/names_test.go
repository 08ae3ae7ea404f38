package registry_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/registry"
)

func TestNames(t *testing.T) {
	n, r, s := newScope(t)
	ctx := ctxT(t)
	if got := s.Names(); len(got) != 0 {
		t.Fatalf("Names of an empty scope = %q, want none", got)
	}
	pids := make([]actor.PID, 40)
	for i := range pids {
		pid, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		pids[i] = pid
		name := "p/" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if err := s.Register(ctx, name, pid, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := s.Names()
	if len(got) != len(pids) || !slices.IsSorted(got) {
		t.Fatalf("Names = %d names %q, want %d sorted", len(got), got, len(pids))
	}
	if err := s.Unregister(ctx, got[0], pids[0]); err != nil {
		t.Fatal(err)
	}
	got2 := s.Names()
	if len(got2) != len(pids)-1 || slices.Contains(got2, got[0]) {
		t.Errorf("Names after unregistering %q = %q", got[0], got2)
	}
	if rn, err := r.Names("s"); err != nil || len(rn) != len(got2) {
		t.Errorf("Registry.Names = %d names, %v; want %d", len(rn), err, len(got2))
	}
	if _, err := r.Names("nope"); !errors.Is(err, registry.ErrUnknownScope) {
		t.Errorf("Names of an unknown scope: %v, want ErrUnknownScope", err)
	}
}

package supervision_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/supervision"
)

// TestBackToBackRestarts kills the one child of a one_for_one supervisor
// 100k times in a row (2k with -short), each time as soon as its
// replacement has answered a call. It takes about 0.6 s, 4.5 s under -race
// (2-core machine). Every restart must
// happen: the start function reports each new process, which must answer,
// and the supervisor must end with one running child, the last one.
func TestBackToBackRestarts(t *testing.T) {
	rounds := 100_000
	if testing.Short() {
		rounds = 2_000
	}
	n := newNode(t)
	started := make(chan actor.PID, 1)
	sup, err := supervision.Start(n, []supervision.ChildSpec{{
		ID: "w",
		Start: func(ctx *actor.Context) (actor.PID, error) {
			pid, err := ctx.SpawnLink(&worker{id: "w"})
			if err == nil {
				started <- pid
			}
			return pid, err
		},
	}}, supervision.WithIntensity(rounds+1, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	var pid actor.PID
	for i := 0; i <= rounds; i++ {
		select {
		case pid = <-started:
		case <-ctx.Done():
			t.Fatalf("restart %d of %d never happened", i, rounds)
		}
		if v, err := actor.Call(ctx, pid, "ping"); err != nil || v != "pong" {
			t.Fatalf("replacement %d (%v) answered %v, %v", i, pid, v, err)
		}
		if i < rounds {
			_ = n.Kill(pid)
		}
	}
	elapsed := time.Since(begin)
	t.Logf("%d restarts in %v (%v each)", rounds, elapsed, elapsed/time.Duration(rounds))
	kids := children(t, sup)
	if c := kids["w"]; c.State != supervision.Running || c.PID != pid {
		t.Fatalf("child = %+v, want running as %v", c, pid)
	}
	select {
	case extra := <-started:
		t.Fatalf("an extra start: %v", extra)
	default:
	}
}

package supervision

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

func TestDecide(t *testing.T) {
	errBoom := errors.New("boom")
	now := time.Unix(100, 0)
	kid := func(id string, r Restart, st ChildState) child {
		return child{spec: ChildSpec{ID: id, Restart: r}, proc: proc{state: st}}
	}
	three := func(b Restart) []child {
		return []child{kid("a", Permanent, Running), kid("b", b, Running), kid("c", Temporary, Running)}
	}
	type step struct {
		kind actionKind
		id   string
	}
	tests := []struct {
		name   string
		pol    policy
		kids   []child
		ev     event
		full   bool // intensity window already full
		expect []step
	}{
		{"one_for_one crash", policy{}, three(Permanent), event{kind: evExit, id: "b", reason: errBoom}, false,
			[]step{{actReport, "b"}, {actClear, "b"}, {actStart, "b"}}},
		{"one_for_all crash", policy{strategy: OneForAll}, three(Permanent), event{kind: evExit, id: "b", reason: errBoom}, false,
			[]step{{actReport, "b"}, {actClear, "b"}, {actTerminate, "c"}, {actForget, "c"}, {actTerminate, "a"}, {actStart, "a"}, {actStart, "b"}}},
		{"rest_for_one crash", policy{strategy: RestForOne}, three(Permanent), event{kind: evExit, id: "b", reason: errBoom}, false,
			[]step{{actReport, "b"}, {actClear, "b"}, {actTerminate, "c"}, {actForget, "c"}, {actStart, "b"}}},
		{"transient normal", policy{}, three(Transient), event{kind: evExit, id: "b", reason: actor.Normal}, false,
			[]step{{actClear, "b"}}},
		{"transient shutdown tuple", policy{}, three(Transient), event{kind: evExit, id: "b", reason: &actor.ShutdownError{Reason: 1}}, false,
			[]step{{actClear, "b"}}},
		{"transient killed", policy{}, three(Transient), event{kind: evExit, id: "b", reason: actor.Killed}, false,
			[]step{{actReport, "b"}, {actClear, "b"}, {actStart, "b"}}},
		{"temporary crash", policy{}, three(Temporary), event{kind: evExit, id: "b", reason: errBoom}, false,
			[]step{{actReport, "b"}, {actForget, "b"}}},
		{"permanent normal is reported and restarted", policy{}, three(Permanent), event{kind: evExit, id: "b", reason: actor.Normal}, false,
			[]step{{actReport, "b"}, {actClear, "b"}, {actStart, "b"}}},
		{"intensity", policy{}, three(Permanent), event{kind: evExit, id: "b", reason: errBoom}, true,
			[]step{{actReport, "b"}, {actClear, "b"}, {actShutdown, ""}}},
		{"retry of restarting child", policy{}, []child{kid("b", Permanent, Restarting)}, event{kind: evRetry, id: "b"}, false,
			[]step{{actStart, "b"}}},
		{"retry after terminate", policy{}, []child{kid("b", Permanent, Stopped)}, event{kind: evRetry, id: "b"}, false, nil},
		{"unknown child", policy{}, three(Permanent), event{kind: evExit, id: "zz", reason: errBoom}, false, nil},
		{"any significant", policy{autoShutdown: AnySignificant},
			[]child{{spec: ChildSpec{ID: "s", Restart: Transient, Significant: true}, proc: proc{state: Running}}},
			event{kind: evExit, id: "s", reason: actor.Normal}, false, []step{{actClear, "s"}, {actShutdown, ""}}},
		{"all significant, one left", policy{autoShutdown: AllSignificant},
			[]child{{spec: ChildSpec{ID: "s", Restart: Transient, Significant: true}, proc: proc{state: Running}},
				{spec: ChildSpec{ID: "t", Restart: Temporary, Significant: true}, proc: proc{state: Running}}},
			event{kind: evExit, id: "s", reason: actor.Normal}, false, []step{{actClear, "s"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(1, 5*time.Second)
			if tt.full {
				w, _ = w.record(now.Add(-time.Second))
			}
			in := slices.Clone(tt.kids)
			_, acts := decide(tt.pol, tt.kids, w, tt.ev, now)
			var got []step
			for _, a := range acts {
				got = append(got, step{a.kind, a.id})
			}
			if !slices.Equal(got, tt.expect) {
				t.Fatalf("actions %v, want %v", got, tt.expect)
			}
			if !slices.EqualFunc(in, tt.kids, func(a, b child) bool { return a.spec.ID == b.spec.ID && a.state == b.state }) {
				t.Fatal("decide changed its input")
			}
		})
	}
}

func TestWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	w := newWindow(3, 5*time.Second)
	var ok bool
	for i := 0; i < 3; i++ {
		if w, ok = w.record(t0.Add(time.Duration(i) * time.Second)); !ok {
			t.Fatalf("restart %d refused", i+1)
		}
	}
	if _, ok = w.record(t0.Add(3 * time.Second)); ok {
		t.Fatal("fourth restart within 5s allowed")
	}
	// 5s after the first one, it has left the window.
	if w, ok = w.record(t0.Add(5 * time.Second)); !ok {
		t.Fatal("restart after the first left the window refused")
	}
	if c := w.count(t0.Add(5 * time.Second)); c != 3 {
		t.Fatalf("count %d", c)
	}
	for i := 0; i < 1000; i++ {
		if w, ok = w.record(t0.Add(time.Duration(10+6*i) * time.Second)); !ok {
			t.Fatal("spaced restart refused")
		}
	}
	if len(w.stamps) != 1 {
		t.Fatalf("window keeps %d stamps", len(w.stamps))
	}
}

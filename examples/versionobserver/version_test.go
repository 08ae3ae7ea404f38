package main

import (
	"errors"
	"testing"

	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
)

func TestParseVersion(t *testing.T) {
	for _, s := range []string{"0.1.0", "1.0.0", "10.20.30"} {
		v, err := ParseVersion(s)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", s, err)
		}
		if v.String() != s {
			t.Errorf("ParseVersion(%q).String() = %q", s, v)
		}
	}
	for _, s := range []string{"", "1", "1.0", "1.0.0.0", "1.x.0", "-1.0.0", "+1.0.0", "1..0", " 1.0.0", "v1.0.0", "99999999999999999999.0.0"} {
		if _, err := ParseVersion(s); !errors.Is(err, ErrBadVersion) {
			t.Errorf("ParseVersion(%q) = %v, want ErrBadVersion", s, err)
		}
	}
}

func TestIncompatible(t *testing.T) {
	a, b, c := Version{0, 1, 0}, Version{0, 9, 3}, Version{1, 0, 0}
	if a.Incompatible(b) || !a.Incompatible(c) || !c.Incompatible(a) {
		t.Errorf("Incompatible: %v/%v %v, %v/%v %v", a, b, a.Incompatible(b), a, c, a.Incompatible(c))
	}
}

func info(node, v, cluster string, epoch uint64) *versionpb.VersionInfo {
	return &versionpb.VersionInfo{Node: node, Version: v, ClusterVersion: cluster, Epoch: epoch}
}

// The runner's verdicts: a node that does not answer, or answers nonsense,
// is pending; two versions are out of sync; one is agreed. The record
// with the highest epoch is the one a monitor taking over starts from.
func TestJudge(t *testing.T) {
	cases := []struct {
		name    string
		replies map[string]any
		bad     []string
		expect  int
		verdict string
		version string
		record  string
	}{
		{"none", nil, nil, 0, VerdictPending, "", ""},
		{"one bad", map[string]any{"a": info("a", "0.1.0", "", 0)}, []string{"b"}, 0, VerdictPending, "", ""},
		{"not a reply", map[string]any{"a": info("a", "0.1.0", "", 0), "b": errors.New("x")}, nil, 0, VerdictPending, "", ""},
		{"bad version", map[string]any{"a": info("a", "0.1.0", "", 0), "b": info("b", "1.x", "", 0)}, nil, 0, VerdictPending, "", ""},
		{"mixed", map[string]any{"a": info("a", "0.1.0", "0.1.0", 3), "b": info("b", "1.0.0", "", 0)}, nil, 3, VerdictOutOfSync, "", "0.1.0"},
		{"agreed", map[string]any{"a": info("a", "1.0.0", "0.1.0", 3), "b": info("b", "1.0.0", "1.0.0", 4)}, nil, 2, VerdictAgreed, "1.0.0", "1.0.0"},
		{"too few", map[string]any{"a": info("a", "1.0.0", "0.1.0", 3), "b": info("b", "1.0.0", "1.0.0", 4)}, nil, 3, VerdictIncomplete, "", "1.0.0"},
	}
	for _, c := range cases {
		j := judge(c.replies, c.bad, c.expect)
		if j.verdict != c.verdict {
			t.Errorf("%s: verdict %q, want %q", c.name, j.verdict, c.verdict)
		}
		if c.version != "" && j.version.String() != c.version {
			t.Errorf("%s: version %v, want %s", c.name, j.version, c.version)
		}
		if got := j.record.GetVersion(); got != c.record {
			t.Errorf("%s: record %q, want %q", c.name, got, c.record)
		}
	}
}

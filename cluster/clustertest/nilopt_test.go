package clustertest_test

import (
	"testing"

	"github.com/arbor-otp/arbor/cluster/clustertest"
	"github.com/arbor-otp/arbor/cluster/consul"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/supervision"
)

// TestNilOptionsSkipped: a nil functional option is skipped by
// clustertest.Start, cluster.Start (through WithClusterOptions), consul.New, consul.NewLocker and
// singleton.Spec, as in every other package (they panicked).
func TestNilOptionsSkipped(t *testing.T) {
	c := clustertest.Start(t, 1, nil, clustertest.WithClusterOptions(nil))
	if len(c.Nodes()) != 1 {
		t.Fatalf("nodes %v", c.Nodes())
	}
	if p := consul.New(nil); p == nil {
		t.Error("consul.New with a nil option returned nil")
	}
	if _, err := consul.NewLocker(nil); err != nil {
		t.Errorf("consul.NewLocker with a nil option: %v", err)
	}
	spec := singleton.Spec(supervision.ChildSpec{ID: "x"}, nil)
	if spec.ID != "x" {
		t.Errorf("singleton.Spec with a nil option: %+v", spec)
	}
}

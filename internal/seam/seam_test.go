package seam_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/arbor-otp/arbor/internal/seam"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSignalKind(t *testing.T) {
	tests := []struct {
		k      seam.SignalKind
		name   string
		remote bool
	}{
		{0, "signal(0)", false},
		{seam.SignalExit, "exit", true},
		{seam.SignalLinkExit, "link_exit", true},
		{seam.SignalLink, "link", true},
		{seam.SignalUnlink, "unlink", true},
		{seam.SignalMonitor, "monitor", true},
		{seam.SignalDemonitor, "demonitor", true},
		{seam.SignalDown, "down", true},
		{seam.SignalInfo, "info", false},
		{seam.SignalWatch, "watch", false},
		{200, "signal(200)", false},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.name {
			t.Errorf("SignalKind(%d).String() = %q, want %q", uint8(tt.k), got, tt.name)
		}
		if got := tt.k.Remote(); got != tt.remote {
			t.Errorf("%v.Remote() = %v, want %v", tt.k, got, tt.remote)
		}
	}
}

type (
	node    struct{}
	pid     struct{ n int }
	ref     struct{}
	request struct{}
)

func TestInstalled(t *testing.T) {
	rt := &seam.Runtime[*node, pid, ref, *request]{NewPID: func(string, uint32, uint32, uint32) pid { return pid{7} }}
	seam.Install(rt)
	if got := seam.Installed[*node, pid, ref, *request](); got != rt || got.NewPID("", 0, 0, 0).n != 7 {
		t.Fatalf("Installed returned %p, want %p", got, rt)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Installed with other type arguments did not panic")
		}
	}()
	seam.Installed[*node, pid, ref, int]()
}

package observer

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePID(t *testing.T) {
	tests := []struct {
		in       string
		node     string
		idx, ser uint32
		err      bool
	}{
		{in: "<kv@localhost.12.3>", node: "kv@localhost", idx: 12, ser: 3},
		{in: "<a.b@10.0.0.1:7000.0.1>", node: "a.b@10.0.0.1:7000", idx: 0, ser: 1},
		{in: "12.3", idx: 12, ser: 3},
		{in: "<12.3>", idx: 12, ser: 3},
		{in: "", err: true},
		{in: "12", err: true},
		{in: "<kv.1.2", err: true},
		{in: "<kv.x.2>", err: true},
		{in: "<kv.1.-2>", err: true},
		{in: "<kv.1.4294967296>", err: true},
		{in: "<>", err: true},
		{in: "<" + strings.Repeat("a", maxPIDLen) + ".1.1>", err: true},
	}
	for _, tt := range tests {
		node, idx, ser, err := parsePID(tt.in)
		if tt.err {
			if !errors.Is(err, ErrBadPID) {
				t.Errorf("parsePID(%.30q) = %q %d %d %v, want ErrBadPID", tt.in, node, idx, ser, err)
			}
			if err != nil && len(err.Error()) > 120 {
				t.Errorf("parsePID error of %d bytes quotes too much: %.60s...", len(err.Error()), err)
			}
			continue
		}
		if err != nil || node != tt.node || idx != tt.idx || ser != tt.ser {
			t.Errorf("parsePID(%q) = %q %d %d %v, want %q %d %d", tt.in, node, idx, ser, err, tt.node, tt.idx, tt.ser)
		}
	}
}

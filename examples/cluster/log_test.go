package main

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestLogHasNoColourOffTerminal checks that the program's log, written to
// a pipe (as when stderr is redirected), holds no ANSI escape codes.
func TestLogHasNoColourOffTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	log := consoleLog(w, zerolog.DebugLevel)
	log.Warn().Err(errors.New("boom")).Str("peer", "b@127.0.0.1:7201").Msg("lost peer")
	_ = w.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "lost peer") {
		t.Fatalf("the line was not written: %q", out)
	}
	if strings.Contains(string(out), "\x1b[") {
		t.Errorf("the log on a pipe holds ANSI colour codes: %q", out)
	}
}

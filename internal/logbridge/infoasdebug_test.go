package logbridge_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/internal/logbridge"
)

// TestInfoAsDebug checks that the option lowers info records to debug, in
// handlers derived with WithAttrs and WithGroup too, and leaves warnings
// and errors alone.
func TestInfoAsDebug(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(logbridge.Handler(zerolog.New(&buf).Level(zerolog.DebugLevel), logbridge.InfoAsDebug()))
	l.Info("started")
	l.With("k", "v").Info("with")
	l.WithGroup("g").Info("group", "a", 1)
	l.Warn("careful")
	l.Error("broken")
	want := `{"level":"debug","message":"started"}
{"level":"debug","k":"v","message":"with"}
{"level":"debug","g":{"a":1},"message":"group"}
{"level":"warn","message":"careful"}
{"level":"error","message":"broken"}
`
	if buf.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", buf.String(), want)
	}

	// At zerolog's info level, info records are filtered out.
	buf.Reset()
	h := logbridge.Handler(zerolog.New(&buf).Level(zerolog.InfoLevel), logbridge.InfoAsDebug())
	if h.Enabled(context.Background(), slog.LevelInfo) || h.WithAttrs([]slog.Attr{slog.Int("k", 1)}).Enabled(context.Background(), slog.LevelInfo) {
		t.Error("info is enabled on an info-level logger with InfoAsDebug")
	}
	if !h.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("warn is not enabled")
	}
	slog.New(h).Info("quiet")
	if strings.Contains(buf.String(), "quiet") {
		t.Errorf("an info record was written at info level: %s", buf.String())
	}
}

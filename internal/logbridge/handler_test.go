package logbridge_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/internal/logbridge"
)

type stringer struct{ s string }

func (s *stringer) String() string { return "stringer:" + s.s }

type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("***") }

type point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

func TestHandler(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		level zerolog.Level // of the zerolog logger
		log   func(l *slog.Logger)
		want  string // the whole output, without the trailing newline
	}{
		{
			name: "debug",
			log:  func(l *slog.Logger) { l.Debug("m") },
			want: `{"level":"debug","message":"m"}`,
		},
		{
			name: "below debug is debug",
			log:  func(l *slog.Logger) { l.Log(context.Background(), slog.LevelDebug-4, "m") },
			want: `{"level":"debug","message":"m"}`,
		},
		{
			name: "info",
			log:  func(l *slog.Logger) { l.Info("m") },
			want: `{"level":"info","message":"m"}`,
		},
		{
			name: "between info and warn is info",
			log:  func(l *slog.Logger) { l.Log(context.Background(), slog.LevelInfo+2, "m") },
			want: `{"level":"info","message":"m"}`,
		},
		{
			name: "warn",
			log:  func(l *slog.Logger) { l.Warn("m") },
			want: `{"level":"warn","message":"m"}`,
		},
		{
			name: "error",
			log:  func(l *slog.Logger) { l.Error("m") },
			want: `{"level":"error","message":"m"}`,
		},
		{
			name: "above error is error",
			log:  func(l *slog.Logger) { l.Log(context.Background(), slog.LevelError+4, "m") },
			want: `{"level":"error","message":"m"}`,
		},
		{
			name:  "filtered by the logger level",
			level: zerolog.WarnLevel,
			log:   func(l *slog.Logger) { l.Info("m", "a", 1) },
			want:  ``,
		},
		{
			name:  "disabled logger",
			level: zerolog.Disabled,
			log:   func(l *slog.Logger) { l.Error("m") },
			want:  ``,
		},
		{
			name: "empty message",
			log:  func(l *slog.Logger) { l.Info("", "a", 1) },
			want: `{"level":"info","a":1}`,
		},
		{
			name: "scalar kinds",
			log: func(l *slog.Logger) {
				l.Info("m",
					slog.String("s", "x"),
					slog.Int("i", -3),
					slog.Uint64("u", 7),
					slog.Float64("f", 1.5),
					slog.Bool("b", true),
					slog.Duration("d", 1500*time.Millisecond),
					slog.Time("t", when),
				)
			},
			want: `{"level":"info","s":"x","i":-3,"u":7,"f":1.5,"b":true,"d":1500,"t":"2026-01-02T03:04:05Z","message":"m"}`,
		},
		{
			name: "any values",
			log: func(l *slog.Logger) {
				var nilStringer *stringer
				l.Info("m",
					slog.Any("err", errors.New("boom")),
					slog.Any("str", &stringer{"p"}),
					slog.Any("nilptr", nilStringer),
					slog.Any("nil", nil),
					slog.Any("json", point{1, 2}),
				)
			},
			want: `{"level":"info","err":"boom","str":"stringer:p","nilptr":null,"nil":null,"json":{"x":1,"y":2},"message":"m"}`,
		},
		{
			name: "log valuer is resolved",
			log:  func(l *slog.Logger) { l.Info("m", "password", secret("hunter2")) },
			want: `{"level":"info","password":"***","message":"m"}`,
		},
		{
			name: "empty key is dropped",
			log:  func(l *slog.Logger) { l.Info("m", slog.Int("", 1), slog.Int("a", 2)) },
			want: `{"level":"info","a":2,"message":"m"}`,
		},
		{
			name: "group attr is a nested object",
			log: func(l *slog.Logger) {
				l.Info("m", slog.Group("peer", "host", "h", slog.Group("port", "n", 1)))
			},
			want: `{"level":"info","peer":{"host":"h","port":{"n":1}},"message":"m"}`,
		},
		{
			name: "group attr with empty key is inlined",
			log:  func(l *slog.Logger) { l.Info("m", slog.Group("", "a", 1), slog.Int("b", 2)) },
			want: `{"level":"info","a":1,"b":2,"message":"m"}`,
		},
		{
			name: "empty group attr is left out",
			log:  func(l *slog.Logger) { l.Info("m", slog.Group("g"), slog.Group("h", slog.Group("i"))) },
			want: `{"level":"info","message":"m"}`,
		},
		{
			name: "with attrs",
			log:  func(l *slog.Logger) { l.With("a", 1).With("b", "x").Info("m", "c", true) },
			want: `{"level":"info","a":1,"b":"x","c":true,"message":"m"}`,
		},
		{
			name: "with group",
			log:  func(l *slog.Logger) { l.WithGroup("g").Info("m", "a", 1) },
			want: `{"level":"info","g":{"a":1},"message":"m"}`,
		},
		{
			name: "nested groups with attrs at each level",
			log: func(l *slog.Logger) {
				l.With("a", 1).WithGroup("g").With("b", 2).WithGroup("h").Info("m", "c", 3)
			},
			want: `{"level":"info","a":1,"g":{"b":2,"h":{"c":3}},"message":"m"}`,
		},
		{
			name: "empty inner group is left out",
			log: func(l *slog.Logger) {
				l.WithGroup("g").With("b", 2).WithGroup("h").Info("m")
			},
			want: `{"level":"info","g":{"b":2},"message":"m"}`,
		},
		{
			name: "group without attrs is left out",
			log:  func(l *slog.Logger) { l.WithGroup("g").WithGroup("h").Info("m") },
			want: `{"level":"info","message":"m"}`,
		},
		{
			name: "empty group name is ignored",
			log:  func(l *slog.Logger) { l.WithGroup("").Info("m", "a", 1) },
			want: `{"level":"info","a":1,"message":"m"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			zl := zerolog.New(&buf).Level(tt.level)
			tt.log(slog.New(logbridge.Handler(zl)))
			if got := strings.TrimSuffix(buf.String(), "\n"); got != tt.want {
				t.Errorf("output\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestHandlerEnabled(t *testing.T) {
	tests := []struct {
		name   string
		logger zerolog.Level
		global zerolog.Level
		level  slog.Level
		want   bool
	}{
		{"debug on debug logger", zerolog.DebugLevel, zerolog.TraceLevel, slog.LevelDebug, true},
		{"debug on info logger", zerolog.InfoLevel, zerolog.TraceLevel, slog.LevelDebug, false},
		{"info on info logger", zerolog.InfoLevel, zerolog.TraceLevel, slog.LevelInfo, true},
		{"warn on error logger", zerolog.ErrorLevel, zerolog.TraceLevel, slog.LevelWarn, false},
		{"error on error logger", zerolog.ErrorLevel, zerolog.TraceLevel, slog.LevelError, true},
		{"error on disabled logger", zerolog.Disabled, zerolog.TraceLevel, slog.LevelError, false},
		{"info under global warn", zerolog.DebugLevel, zerolog.WarnLevel, slog.LevelInfo, false},
		{"error under global warn", zerolog.DebugLevel, zerolog.WarnLevel, slog.LevelError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := zerolog.GlobalLevel()
			zerolog.SetGlobalLevel(tt.global)
			t.Cleanup(func() { zerolog.SetGlobalLevel(old) })

			h := logbridge.Handler(zerolog.Nop().Level(tt.logger))
			if got := h.Enabled(context.Background(), tt.level); got != tt.want {
				t.Errorf("Enabled(%v) = %v, want %v", tt.level, got, tt.want)
			}
		})
	}
}

// TestHandlerDerivedAreIndependent checks that handlers derived from the same
// parent do not see each other's attributes.
func TestHandlerDerivedAreIndependent(t *testing.T) {
	var buf bytes.Buffer
	parent := slog.New(logbridge.Handler(zerolog.New(&buf))).WithGroup("g").With("a", 1)
	left := parent.With("b", 2)
	right := parent.With("c", 3)
	left.Info("l")
	right.Info("r")
	parent.Info("p")
	want := `{"level":"info","g":{"a":1,"b":2},"message":"l"}
{"level":"info","g":{"a":1,"c":3},"message":"r"}
{"level":"info","g":{"a":1},"message":"p"}
`
	if got := buf.String(); got != want {
		t.Errorf("output\n got: %s\nwant: %s", got, want)
	}
}

func TestHandlerConcurrentUse(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(logbridge.Handler(zerolog.New(zerolog.SyncWriter(&buf)))).With("a", 1).WithGroup("g")
	const goroutines, records = 8, 50
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := base.With("worker", i)
			for j := range records {
				l.Info("m", "j", j)
			}
		}()
	}
	wg.Wait()
	if got := strings.Count(buf.String(), "\n"); got != goroutines*records {
		t.Errorf("got %d lines, want %d", got, goroutines*records)
	}
}

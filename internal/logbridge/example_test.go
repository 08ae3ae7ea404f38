package logbridge_test

import (
	"log/slog"
	"os"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/internal/logbridge"
)

func ExampleHandler() {
	zl := zerolog.New(os.Stdout).Level(zerolog.InfoLevel)
	logger := slog.New(logbridge.Handler(zl)).With("lib", "Proto.Actor")

	logger.Debug("not written: below the zerolog level")
	logger.Info("actor system started", "id", "n1")
	logger.WithGroup("peer").Warn("connection lost", "address", "127.0.0.1:4000")
	// Output:
	// {"level":"info","lib":"Proto.Actor","id":"n1","message":"actor system started"}
	// {"level":"warn","lib":"Proto.Actor","peer":{"address":"127.0.0.1:4000"},"message":"connection lost"}
}

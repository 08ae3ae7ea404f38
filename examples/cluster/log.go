package main

import (
	"os"

	"github.com/rs/zerolog"
)

// consoleLog returns the program's logger: human-readable lines on f at
// level and above, coloured only when f is a terminal, so that a log
// redirected to a file or a pipe holds no ANSI escape codes.
func consoleLog(f *os.File, level zerolog.Level) zerolog.Logger {
	w := zerolog.ConsoleWriter{Out: f, NoColor: !isTerminal(f)}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

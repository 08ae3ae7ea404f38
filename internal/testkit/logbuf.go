package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// LogBuffer is a log destination safe for concurrent writes: give it to a
// node's zerolog logger (zerolog.New(&buf)) and read what was logged from
// the test. Its zero value is ready to use and keeps everything; with Max
// set it keeps the last Max bytes.
type LogBuffer struct {
	Max int

	mu      sync.Mutex
	buf     bytes.Buffer
	trimmed int
}

// Write appends p; it never fails.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, _ := b.buf.Write(p)
	if over := b.buf.Len() - b.Max; b.Max > 0 && over > 0 {
		b.buf.Next(over)
		b.trimmed += over
	}
	return n, nil
}

// String returns everything written so far (with Max, the last Max bytes,
// after a line saying how many were trimmed).
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.trimmed > 0 {
		return fmt.Sprintf("(%d bytes trimmed)\n%s", b.trimmed, b.buf.String())
	}
	return b.buf.String()
}

// Events decodes every line written so far as a JSON object, in order. A
// line that is not one stops the test.
func (b *LogBuffer) Events(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	b.mu.Lock()
	lines := strings.Split(b.buf.String(), "\n")
	if b.trimmed > 0 {
		lines = lines[1:] // the rest of a line cut by the trim
	}
	b.mu.Unlock()
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}

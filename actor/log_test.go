package actor_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
)

// syncBuffer is a bytes.Buffer safe for the node's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProtoactorLogsAtDebug checks that protoactor's "actor system started"
// reaches the node's logger at debug level: a node logging at info (the
// default) prints nothing when it starts and stops.
func TestProtoactorLogsAtDebug(t *testing.T) {
	for _, level := range []zerolog.Level{zerolog.InfoLevel, zerolog.DebugLevel} {
		var buf syncBuffer
		n := actor.NewNode(actor.WithLogger(zerolog.New(&buf).Level(level)))
		if err := n.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		switch level {
		case zerolog.InfoLevel:
			if out != "" {
				t.Errorf("a node logging at info printed:\n%s", out)
			}
		case zerolog.DebugLevel:
			if !strings.Contains(out, `"level":"debug"`) || !strings.Contains(out, `"component":"protoactor"`) || !strings.Contains(out, "actor system started") {
				t.Errorf("at debug, protoactor's start is not a debug line of the node's logger:\n%s", out)
			}
		}
	}
}

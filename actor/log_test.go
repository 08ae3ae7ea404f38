package actor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestProtoactorLogsAtDebug checks that protoactor's "actor system started"
// reaches the node's logger at debug level: a node logging at info (the
// default) prints nothing when it starts and stops.
func TestProtoactorLogsAtDebug(t *testing.T) {
	for _, level := range []zerolog.Level{zerolog.InfoLevel, zerolog.DebugLevel} {
		var buf testkit.LogBuffer
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

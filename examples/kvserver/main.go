// Command kvserver serves the kv example's buckets over TCP with a line
// protocol. It starts the kv and kvserver applications with
// application.Run (kv first, through EnsureAllStarted), logs them and their
// supervision tree, serves until Ctrl-C or SIGTERM, then stops both.
//
//	go run ./examples/kvserver            # port 4040
//	go run ./examples/kvserver -port 5050 # or ARBOR_KV_PORT=5050
//
// Then, from another terminal:
//
//	$ nc localhost 4040
//	CREATE shopping
//	OK
//	PUT shopping milk 3
//	OK
//	GET shopping milk
//	3
//	DELETE shopping milk
//	OK
//	GET shopping milk
//	ERROR no key "milk" in bucket "shopping"
//
// Every connection is its own supervised process: a connection that
// crashes, or a client that vanishes mid-line, affects no other.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/rs/zerolog"
)

func main() {
	os.Exit(realMain(os.Args[1:]))
}

// defaultPort is ARBOR_KV_PORT if set, DefaultPort otherwise.
func defaultPort() int {
	if p, err := strconv.Atoi(os.Getenv("ARBOR_KV_PORT")); err == nil {
		return p
	}
	return DefaultPort
}

func realMain(args []string) int {
	fs := flag.NewFlagSet("kvserver", flag.ContinueOnError)
	port := fs.Int("port", defaultPort(), "TCP port to serve on (env ARBOR_KV_PORT)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	node := actor.NewNode(actor.WithNodeName("kvserver@localhost"), actor.WithLogger(log))
	code := application.Run(context.Background(), node,
		[]application.Spec{kv.Spec(), Spec(net.JoinHostPort("", strconv.Itoa(*port)))},
		application.WithOnStarted(func(ctx context.Context, c application.Controller, _ []string) {
			logTree(ctx, node.Logger(), c)
		}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := node.Stop(ctx); err != nil {
		log.Error().Err(err).Msg("node did not stop cleanly")
	}
	return code
}

// logTree logs the running applications and their supervision trees.
func logTree(ctx context.Context, log *zerolog.Logger, c application.Controller) {
	apps, err := c.WhichApplications(ctx)
	if err != nil {
		return
	}
	var b strings.Builder
	for _, a := range apps {
		fmt.Fprintf(&b, "\n%s %s (%s) %v", a.Name, a.Vsn, a.Type, a.Top)
		tree(ctx, &b, a.Top, "  ")
	}
	log.Info().Msg("supervision tree:" + b.String())
}

// tree writes the children of sup, recursively.
func tree(ctx context.Context, b *strings.Builder, sup actor.PID, indent string) {
	kids, err := supervision.WhichChildren(ctx, sup)
	if err != nil {
		return
	}
	for _, k := range kids {
		id := k.ID
		if id == "" {
			id = "(dynamic child)"
		}
		fmt.Fprintf(b, "\n%s%s %s %s %v", indent, id, k.Type, k.State, k.PID)
		if k.Type == supervision.Supervisor {
			tree(ctx, b, k.PID, indent+"  ")
		}
	}
}

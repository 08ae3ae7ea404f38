// Command kvserver serves the kv example's buckets over TCP with a line
// protocol. It starts the kv and kvserver applications with
// application.Run (kv first, through EnsureAllStarted), logs them and their
// supervision tree, serves until Ctrl-C or SIGTERM, then stops both and
// exits 0 (1 if they did not stop cleanly or the observer page's address
// cannot be listened on, 2 for a bad command line).
//
//	go run ./examples/kvserver                  # 127.0.0.1:4040
//	go run ./examples/kvserver -port 5050       # or ARBOR_KV_PORT=5050
//	go run ./examples/kvserver -listen :4040    # every interface
//
// Flags, each with an environment variable that a flag on the command line
// overrides:
//
//	-listen host:port     ARBOR_KV_LISTEN        127.0.0.1:4040
//	-port n               ARBOR_KV_PORT          replaces the port of -listen
//	-max-conns n          ARBOR_KV_MAX_CONNS     1024 clients at once
//	-max-buckets n        ARBOR_KV_MAX_BUCKETS   1000 buckets
//	-max-keys n           ARBOR_KV_MAX_KEYS      10000 keys a bucket
//	-idle-timeout d       ARBOR_KV_IDLE_TIMEOUT  5m without a complete line
//	-write-timeout d      ARBOR_KV_WRITE_TIMEOUT 10s to write a reply
//	-call-timeout d       ARBOR_KV_CALL_TIMEOUT  5s for a command
//	-observer host:port   ARBOR_KV_OBSERVER      127.0.0.1:4041, the observer page; "" or off for none
//
// A malformed value (ARBOR_KV_PORT=abc, -idle-timeout 0) is an error that
// names it, and exit code 2.
//
// Then, from another terminal:
//
//	$ nc 127.0.0.1 4040
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
//	DROP shopping
//	OK
//
// Open http://127.0.0.1:4041/ for the observer page (package observer,
// read-only): the kv tree, its restarts as they happen, the processes.
//
// The protocol is documented in protocol.go. Every connection is its own
// supervised process: a connection that crashes, or a client that vanishes
// mid-line, affects no other. Load does not stop the server: past
// -max-conns a client gets "ERROR too many connections" and is closed, an
// accept that fails (out of file descriptors) is logged and retried with
// backoff, idle clients are closed after -idle-timeout, and a slow command
// answers "ERROR timeout".
//
// `make run` builds the program and runs the binary rather than `go run`:
// on Ctrl-C the go command exits 1 whatever the program returns, and make
// then reports an error for a clean stop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/observer"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/rs/zerolog"
)

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	opts, err := parseOptions(args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	out := zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly, NoColor: !isTerminal(os.Stderr)}
	log := zerolog.New(out).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	node := actor.NewNode(actor.WithNodeName("kvserver@localhost"), actor.WithLogger(log))
	kvSpec := kv.Spec()
	kvSpec.Env[kv.EnvMaxBuckets] = opts.kv.MaxBuckets
	kvSpec.Env[kv.EnvMaxKeys] = opts.kv.MaxKeys
	stopObserver, err := serveObserver(node, opts.observer)
	if err != nil {
		log.Error().Err(err).Msg("kvserver: observer page")
		_ = node.Stop(context.Background())
		return 1
	}
	code := application.Run(context.Background(), node,
		[]application.Spec{kvSpec, Spec(opts.server)},
		application.WithOnStarted(func(ctx context.Context, c application.Controller, _ []string) {
			logTree(ctx, node.Logger(), c)
		}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopObserver(ctx)
	if err := node.Stop(ctx); err != nil {
		log.Error().Err(err).Msg("node did not stop cleanly")
	}
	return code
}

// serveObserver serves the observer page of node on addr (nothing if addr
// is empty) and returns the function that stops it: it ends the pages'
// event streams, then the server.
func serveObserver(node *actor.Node, addr string) (stop func(context.Context), err error) {
	if addr == "" {
		return func(context.Context) {}, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	streams, endStreams := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           observer.New(node),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return streams },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			node.Logger().Error().Err(err).Msg("observer page stopped")
		}
	}()
	node.Logger().Info().Str("addr", l.Addr().String()).Str("url", "http://"+l.Addr().String()+"/").Msg("observer listening")
	return func(ctx context.Context) {
		endStreams()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		<-done
	}, nil
}

// isTerminal reports whether f is a terminal (a character device), where
// the log may use colours.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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

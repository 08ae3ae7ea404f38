package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/consul"
	"github.com/arbor-otp/arbor/registry"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command line's.
type options struct {
	name, listen, peers, consul, service, http, vsn string
	expect                                          int
	verbose                                         bool
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("versionobserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.name, "name", "n1", "node name (the part before @)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:7101", "host:port to listen on for peers (also the node's address)")
	fs.StringVar(&o.peers, "peers", "", "comma-separated peers, name@host:port (static provider)")
	fs.StringVar(&o.consul, "consul", "", "Consul agent HTTP address; when set, Consul is the provider and -peers is ignored")
	fs.StringVar(&o.service, "service", "arbor-versionobserver", "Consul service name shared by the cluster's nodes")
	fs.StringVar(&o.http, "http", "127.0.0.1:4001", "host:port of the page")
	fs.StringVar(&o.vsn, "vsn", DefaultVsn, "application version this node runs, major.minor.patch")
	fs.IntVar(&o.expect, "expect", -1, "nodes in the whole cluster; the monitor waits for that many to agree (default: 1 + the number of -peers, or 1 with -consul)")
	fs.BoolVar(&o.verbose, "v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.expect == -1 {
		o.expect = 1
		if o.consul == "" && o.peers != "" {
			o.expect += len(strings.Split(o.peers, ","))
		}
	}
	if o.expect < 1 {
		err := fmt.Errorf("%w: -expect %d: want at least 1", ErrBadFlag, o.expect)
		fmt.Fprintln(stderr, err)
		return o, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("%w: unexpected argument %q", ErrBadFlag, fs.Arg(0))
		fmt.Fprintln(stderr, err)
		return o, err
	}
	return o, nil
}

// realMain runs one node until SIGINT or SIGTERM and returns the exit
// code: 0 after a clean stop, 1 when the node cannot start or stop
// cleanly (a malformed -vsn among the causes), 2 for a bad command line.
func realMain(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	level := zerolog.InfoLevel
	if o.verbose {
		level = zerolog.DebugLevel
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly, NoColor: true}).
		Level(level).With().Timestamp().Logger()

	var provider cluster.Provider
	if o.consul != "" {
		provider = consul.New(consul.WithAddress(o.consul), consul.WithService(o.service), consul.WithLogger(log))
	} else {
		var list []string
		if o.peers != "" {
			list = strings.Split(o.peers, ",")
		}
		provider = cluster.Static(list...)
	}
	ctx := context.Background()
	c, err := cluster.Start(ctx, o.name,
		cluster.WithListenAddr(o.listen), cluster.WithProvider(provider), cluster.WithLogger(log))
	if err != nil {
		log.Error().Err(err).Msg("versionobserver: start the cluster node")
		return 1
	}
	code := run(ctx, c, o, stdout)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Stop(sctx); err != nil {
		log.Error().Err(err).Msg("versionobserver: stop the cluster node")
		code = 1
	}
	return code
}

// run adds the registry scopes and runs the application on c until a
// signal.
func run(ctx context.Context, c *cluster.Cluster, o options, stdout io.Writer) int {
	log := c.Node().Logger()
	reg := registry.NewCluster(c)
	if err := reg.AddScope(Scope); err != nil {
		log.Error().Err(err).Msg("versionobserver: add the registry scope")
		return 1
	}
	if err := addSingletonScope(reg); err != nil {
		log.Error().Err(err).Msg("versionobserver: add the singleton scope")
		return 1
	}
	app := App{Cluster: c, Registry: reg, HTTPAddr: o.http, Expect: o.expect}
	return application.Run(ctx, c.Node(), []application.Spec{Spec(o.vsn, app)},
		application.WithOnStarted(func(context.Context, application.Controller, []string) {
			fmt.Fprintf(stdout, "node %s runs %s %s: http://%s/\n", c.Name(), Name, o.vsn, o.http)
		}))
}

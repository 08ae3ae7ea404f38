// Command cluster starts one Arbor cluster node and prints the NodeUp and
// NodeDown events it sees until interrupted. Run a few on one machine with
// the static provider:
//
//	go run ./examples/cluster -name a -listen 127.0.0.1:7001 -peers b@127.0.0.1:7002
//	go run ./examples/cluster -name b -listen 127.0.0.1:7002 -peers a@127.0.0.1:7001
//
// or let them find each other through a Consul agent:
//
//	go run ./examples/cluster -name a -listen 127.0.0.1:7001 -consul 127.0.0.1:8500
//	go run ./examples/cluster -name b -listen 127.0.0.1:7002 -consul 127.0.0.1:8500
//
// Stop a node with Ctrl-C (a clean stop: the others print NodeDown with
// "node left the cluster") or kill -9 it (they print "connection lost").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/consul"
)

func main() {
	name := flag.String("name", "node", "node name (the part before @)")
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on for peers")
	advertise := flag.String("advertise", "", "host:port peers reach this node at (default: the listen address)")
	peers := flag.String("peers", "", "comma-separated peers, name@host:port (static provider)")
	consulAddr := flag.String("consul", "", "Consul agent HTTP address; when set, Consul is the provider")
	service := flag.String("service", consul.DefaultService, "Consul service name shared by the cluster's nodes")
	verbose := flag.Bool("v", false, "log the cluster layer at debug level")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, options{
		name: *name, listen: *listen, advertise: *advertise, peers: *peers,
		consul: *consulAddr, service: *service, verbose: *verbose,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

type options struct {
	name, listen, advertise, peers, consul, service string
	verbose                                         bool
}

// run starts the node, prints its events on out until ctx ends, and stops
// it.
func run(ctx context.Context, out io.Writer, o options) error {
	level := zerolog.WarnLevel
	if o.verbose {
		level = zerolog.DebugLevel
	}
	log := consoleLog(os.Stderr, level)

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
	opts := []cluster.Option{cluster.WithListenAddr(o.listen), cluster.WithProvider(provider), cluster.WithLogger(log)}
	if o.advertise != "" {
		opts = append(opts, cluster.WithAdvertiseAddr(o.advertise))
	}
	c, err := cluster.Start(ctx, o.name, opts...)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Stop(sctx); err != nil {
			fmt.Fprintln(os.Stderr, "stop:", err)
		}
	}()
	fmt.Fprintf(out, "started %s\n", c.Name())

	events, err := c.Node().NewInbox()
	if err != nil {
		return err
	}
	defer events.Close()
	if err := c.MonitorNodes(events.PID(), true); err != nil {
		return err
	}
	for {
		m, err := events.Receive(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		switch e := m.(type) {
		case cluster.NodeUp:
			fmt.Fprintf(out, "NodeUp   %s (nodes: %v)\n", e.Node, c.Nodes())
		case cluster.NodeDown:
			fmt.Fprintf(out, "NodeDown %s: %v (nodes: %v)\n", e.Node, e.Reason, c.Nodes())
		default:
			fmt.Fprintf(out, "unexpected %T\n", m)
		}
	}
}

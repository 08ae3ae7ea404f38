package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/remote"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/memnet"
)

// EndpointWriterBatchSize is how many messages protoactor's endpoint
// writer puts in one gRPC message (its default is 1000) on a cluster
// node, for protoactor actors that use protoactor remote themselves.
// Arbor's own traffic does not go through the endpoint writer (ADR 0003).
const EndpointWriterBatchSize = 100

// Cluster is a node that is a member of a cluster: an actor.Node whose
// PIDs other nodes can reach, plus the sessions with those nodes.
type Cluster struct {
	node     *actor.Node
	t        *transport
	remote   *remote.Remote
	provider Provider
	log      zerolog.Logger

	stopOnce sync.Once
	stopErr  error
	metrics  metric.Registration // telemetry.go; nil without a meter provider
}

// Start starts a node named name@host:port, where host:port is the
// advertised address (WithAdvertiseAddr, or the address it listens on), and
// joins the cluster its provider describes. name must be non-empty and
// hold no '@'. It returns an error wrapping ErrBadNodeName for a bad name,
// for a wildcard listen address (0.0.0.0, ::, or no host) without
// WithAdvertiseAddr, and for a Static peer that is not name@host:port or
// that names this node's address under another name; an error wrapping
// ErrListen if the address cannot be listened on; and the provider's
// error from its Start.
func Start(ctx context.Context, name string, opts ...Option) (*Cluster, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if name == "" || strings.ContainsRune(name, '@') {
		return nil, fmt.Errorf("%w: %q", ErrBadNodeName, name)
	}
	if cfg.provider == nil {
		cfg.provider = Static()
	}
	if cfg.logger == nil {
		l := zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Timestamp().Logger()
		cfg.logger = &l
	}
	if cfg.memory != nil {
		return startOnMemory(ctx, name, cfg)
	}
	host, port, err := freeListenAddr(cfg.listen)
	if err != nil {
		return nil, err
	}
	advertise := cfg.advertise
	if advertise == "" {
		if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
			return nil, fmt.Errorf("%w: %s@%s: listening on a wildcard address needs WithAdvertiseAddr, the address peers reach the node at",
				ErrBadNodeName, name, net.JoinHostPort(host, strconv.Itoa(port)))
		}
		advertise = net.JoinHostPort(host, strconv.Itoa(port))
	}
	full := name + "@" + advertise
	if _, _, err := splitNodeName(full); err != nil {
		return nil, err
	}
	if err := validateProvider(cfg, full); err != nil {
		return nil, err
	}
	node := actor.NewNode(append(slices.Clone(cfg.nodeOpts), actor.WithNodeName(full), actor.WithLogger(*cfg.logger))...)
	log := node.Logger().With().Str("component", "cluster").Logger()

	t := newTransport(node, cfg, log)
	rc := remote.Configure(host, port,
		remote.WithAdvertisedHost(advertise),
		remote.WithEndpointWriterBatchSize(EndpointWriterBatchSize),
		remote.WithDialOptions(
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: cfg.connectTimeout}),
		),
		remote.WithServerOptions(
			// Arbor's streams (ADR 0003), served beside protoactor's.
			grpc.UnknownServiceHandler(t.serve),
			// Arbor's TCP streams (ADR 0008), on the same port.
			grpc.Creds(newSniffCreds(t)),
			// Close a connection whose peer no longer answers pings
			// (cut off or frozen), so that its goroutines end.
			grpc.KeepaliveParams(keepalive.ServerParameters{Time: cfg.heartbeatTimeout, Timeout: cfg.heartbeatTimeout}),
			grpc.InitialWindowSize(streamWindow),
			grpc.InitialConnWindowSize(streamWindow),
		),
	)
	// One connection attempt per endpoint for protoactor's own traffic:
	// its writer retries with a 2 s sleep and leaks a connection per retry.
	rc.MaxRetryCount = 1
	r := remote.NewRemote(node.ActorSystem(), rc)
	t.remote = r
	if err := startRemote(r); err != nil {
		t.stop()
		_ = node.Stop(ctx)
		return nil, fmt.Errorf("%w %s: %v", ErrListen, net.JoinHostPort(host, strconv.Itoa(port)), err)
	}
	return join(ctx, &Cluster{node: node, t: t, remote: r, provider: cfg.provider, log: log}, advertise)
}

// join starts the node's session loop and its provider.
func join(ctx context.Context, c *Cluster, advertise string) (*Cluster, error) {
	rt.SetTransport(c.node, c.t)
	if err := startProtoService(c.node); err != nil {
		_ = c.shutdown(ctx)
		return nil, err
	}
	c.metrics = registerMetrics(c)
	c.t.wg.Add(1)
	go c.t.loop()
	if err := c.provider.Start(ctx, c.node.Name(), c.t.setMembers); err != nil {
		_ = c.shutdown(ctx)
		return nil, fmt.Errorf("start membership provider: %w", err)
	}
	c.log.Info().Str("addr", advertise).Uint32("creation", c.node.Creation()).Msg("cluster node started")
	return c, nil
}

func validateProvider(cfg config, full string) error {
	for peer, addr := range cfg.peerAddrs {
		if _, _, err := splitNodeName(peer); err != nil {
			return fmt.Errorf("peer address: %w", err)
		}
		if _, _, err := splitNodeName("peer@" + addr); err != nil {
			return fmt.Errorf("%w: peer address of %s: %q is not host:port", ErrBadNodeName, peer, addr)
		}
	}
	if v, ok := cfg.provider.(interface{ validate(self string) error }); ok {
		if err := v.validate(full); err != nil {
			return fmt.Errorf("start membership provider: %w", err)
		}
	}
	return nil
}

// startOnMemory starts a node on a memory network (network.go): it
// listens there, and never starts protoactor remote or gRPC.
func startOnMemory(ctx context.Context, name string, cfg config) (*Cluster, error) {
	var owner atomic.Pointer[transport]
	bound, stopListen, err := startMemory(cfg.memory, cfg.listen, func(s *memnet.Stream) {
		if t := owner.Load(); t != nil {
			t.acceptMemory(s)
			return
		}
		s.Finish() // not started yet: as if nothing listened
	})
	if err != nil {
		return nil, err
	}
	advertise := cfg.advertise
	if advertise == "" {
		host, _, _ := net.SplitHostPort(bound)
		if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
			stopListen()
			return nil, fmt.Errorf("%w: %s@%s: listening on a wildcard address needs WithAdvertiseAddr, the address peers reach the node at",
				ErrBadNodeName, name, bound)
		}
		advertise = bound
	}
	full := name + "@" + advertise
	if _, _, err := splitNodeName(full); err != nil {
		stopListen()
		return nil, err
	}
	if err := validateProvider(cfg, full); err != nil {
		stopListen()
		return nil, err
	}
	node := actor.NewNode(append(slices.Clone(cfg.nodeOpts), actor.WithNodeName(full), actor.WithLogger(*cfg.logger))...)
	// protoactor remote would give the actor system the node's address;
	// without it every node's actors would carry protoactor's "nonhost",
	// and a node would take another's protoactor PID for one of its own
	// (Proxy, ProtoPID). protoactor still resolves "nonhost" locally.
	node.ActorSystem().ProcessRegistry.Address = advertise
	log := node.Logger().With().Str("component", "cluster").Logger()
	t := newTransport(node, cfg, log)
	t.dialer = t.memoryDialer(cfg.memory, advertise)
	t.stopNet = stopListen
	owner.Store(t)
	return join(ctx, &Cluster{node: node, t: t, provider: cfg.provider, log: log}, advertise)
}

// freeListenAddr checks that addr can be listened on and resolves port 0 to
// a free port.
func freeListenAddr(addr string) (string, int, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w %s: %v", ErrListen, addr, err)
	}
	a := l.Addr().(*net.TCPAddr)
	_ = l.Close()
	host, _, _ := net.SplitHostPort(addr)
	if host == "" {
		host = a.IP.String()
	}
	return host, a.Port, nil
}

// startRemote starts protoactor remote, turning its panic on a listen
// failure into an error.
func startRemote(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("start remote: %v", p)
		}
	}()
	r.Start()
	return nil
}

// Node returns the actor node. Spawn processes on it as on any node; their
// PIDs are reachable from the other nodes.
func (c *Cluster) Node() *actor.Node { return c.node }

// Name returns the node's name, name@host:port.
func (c *Cluster) Name() string { return c.node.Name() }

// Nodes returns the other nodes this node has an open session with, as
// Erlang's nodes().
func (c *Cluster) Nodes() []string {
	out := c.t.nodes()
	slices.Sort(out)
	return out
}

// MonitorNodes subscribes (on) or unsubscribes a local process to NodeUp
// and NodeDown messages, as net_kernel:monitor_nodes. A process that exits
// is unsubscribed. It returns NoProc if pid is not a live local process.
func (c *Cluster) MonitorNodes(pid actor.PID, on bool) error {
	if !c.node.IsLocal(pid) || !c.node.IsAlive(pid) {
		return actor.NoProc
	}
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	if on {
		c.t.subs[pid] = struct{}{}
	} else {
		delete(c.t.subs, pid)
	}
	return nil
}

// SendNamed sends msg to the process registered under name on node. The
// message must be a proto.Message when node is another node. It returns
// actor.ErrUnknownName for a local name nobody holds; for another node,
// the errors of a remote send (ErrNotProtoMessage, ErrBadNodeName,
// ErrQueueFull, ErrStopped); a name unknown there drops the message.
func (c *Cluster) SendNamed(node, name string, msg any) error {
	if node == c.Name() {
		return c.node.SendNamed(name, msg)
	}
	return c.t.sendMessage(actor.PID{}, name, node, msg, false)
}

// CastNamed casts msg to the process registered under name on node, as
// gen_server:cast({Name, Node}, Msg): a GenServer gets it in HandleCast,
// on this node or another. The message must be a proto.Message when node
// is another node. Its errors are SendNamed's: actor.ErrUnknownName for a
// local name nobody holds; for another node, the errors of a remote send;
// a name unknown there drops the cast.
func (c *Cluster) CastNamed(node, name string, msg any) error {
	if node == c.Name() {
		pid, ok := c.node.WhereIs(name)
		if !ok {
			return actor.ErrUnknownName
		}
		return actor.Cast(actor.WithNode(context.Background(), c.node), pid, msg)
	}
	return c.t.sendMessage(actor.PID{}, name, node, msg, true)
}

// CallNamed calls the process registered under name on node, as
// gen_server:call({Name, Node}, Req). Errors are *actor.CallError values
// (with Name and Node set, or the PID the name resolved to on this node)
// wrapping NoProc for a name nobody holds, NoConnection, the callee's exit
// reason, ErrNotProtoMessage or the context's error.
func (c *Cluster) CallNamed(ctx context.Context, node, name string, req any) (any, error) {
	if node == c.Name() {
		pid, ok := c.node.WhereIs(name)
		if !ok {
			return nil, &actor.CallError{Name: name, Node: node, Reason: actor.NoProc}
		}
		return c.node.Call(ctx, pid, req)
	}
	v, err := c.t.call(ctx, callerOf(ctx), actor.PID{}, name, node, req)
	if err != nil {
		return nil, &actor.CallError{Name: name, Node: node, Reason: err}
	}
	return v, nil
}

func callerOf(ctx context.Context) actor.PID {
	if p, ok := actor.FromContext(ctx); ok {
		return p.Self()
	}
	return actor.PID{}
}

// MultiCall calls the process registered under name on each of nodes at
// once and waits for every answer, as gen_server:multi_call. replies maps
// each node that answered to its reply; bad lists the nodes that did not
// (no such process, no connection, the deadline passed, or the callee
// exited), in the order given.
func (c *Cluster) MultiCall(ctx context.Context, nodes []string, name string, req any) (replies map[string]any, bad []string) {
	type answer struct {
		node string
		v    any
		err  error
	}
	ch := make(chan answer, len(nodes))
	for _, n := range nodes {
		go func() {
			v, err := c.CallNamed(ctx, n, name, req)
			ch <- answer{n, v, err}
		}()
	}
	replies = make(map[string]any, len(nodes))
	failed := make(map[string]bool)
	for range nodes {
		a := <-ch
		if a.err != nil {
			failed[a.node] = true
			continue
		}
		replies[a.node] = a.v
	}
	for _, n := range nodes {
		if failed[n] {
			bad = append(bad, n)
		}
	}
	return replies, bad
}

// Stats counts envelopes this node received from peers and dropped
// (malformed, of another version, from a closed session, or waiting for a
// session that failed).
type Stats struct {
	Received uint64
	Dropped  uint64
	// PooledCalls counts the calls this node made on a call connection
	// of its pools (ADR 0011) rather than on a session's stream.
	PooledCalls uint64
}

// Stats returns the node's envelope counters.
func (c *Cluster) Stats() Stats {
	return Stats{Received: c.t.received.Load(), Dropped: c.t.dropped.Load(), PooledCalls: c.t.pooledCalls.Load()}
}

// Stop leaves the cluster: the provider stops (deregistering the node),
// the node's processes are killed and their exit reasons (actor.Killed, or
// what they exited with while shutting down) reach their links and
// monitors on other nodes; each peer is then told that this node leaves
// (its subscribers get NodeDown with ErrNodeLeft) and acknowledges it, at
// most until ctx ends or the heartbeat timeout passes; every session ends
// (this node's subscribers get NodeDown with ErrStopped), and the node
// stops. It returns the first error of the provider's Stop or of stopping
// the node (ctx's error if processes are still alive when it ends).
// Calling Stop again returns the same result.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		if err := c.provider.Stop(ctx); err != nil {
			c.stopErr = fmt.Errorf("stop membership provider: %w", err)
		}
		// Kill the processes while the sessions are open, so that
		// their exit signals reach other nodes. If some outlive ctx,
		// the node's Stop below reports it.
		_ = rt.KillAll(ctx, c.node)
		c.t.leave(ctx)
		c.stopErr = errors.Join(c.stopErr, c.shutdown(ctx))
	})
	return c.stopErr
}

func (c *Cluster) shutdown(ctx context.Context) error {
	unregisterMetrics(c.metrics)
	c.t.stop()
	rt.SetTransport(c.node, nil)
	if c.remote != nil {
		stopRemote(c.remote, c.log)
	}
	return c.node.Stop(ctx)
}

// stopRemote shuts protoactor remote down gracefully. Its endpoint manager
// can panic with a send on a closed channel when a peer's stream ends at
// the same moment; the server is then stopped at once instead.
func stopRemote(r *remote.Remote, log zerolog.Logger) {
	defer func() {
		if p := recover(); p != nil {
			log.Warn().Interface("panic", p).Msg("protoactor remote shutdown panicked; stopping its server")
			r.Shutdown(false)
		}
	}()
	r.Shutdown(true)
}

package actor

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/arbor-otp/arbor/internal/logbridge"
	"github.com/arbor-otp/arbor/internal/seam"
	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Node is one Arbor runtime: a protoactor ActorSystem plus the processes,
// names and timers that live on it. Create one per OS process with NewNode
// and stop it with Stop.
type Node struct {
	ident  *nodeIdent
	system *pa.ActorSystem
	log    zerolog.Logger

	table    procTable
	refs     atomic.Uint64
	stopping atomic.Bool // no new processes
	stopped  atomic.Bool // dispatcher and ActorSystem shut down
	procs    sync.WaitGroup

	namesMu sync.RWMutex
	names   map[string]*Context

	remote  atomic.Pointer[seam.Transport[PID, Ref]] // set by package cluster
	disp    *dispatcher
	waiters sync.Pool    // of *waiter, for calls (call.go)
	proto   *protoBridge // protoactor interop (proto.go)

	noCrashReports bool // WithCrashReports(false)

	// OpenTelemetry (telemetry.go): nil unless an option turned it on, set
	// once by NewNode, so every hook is one nil check.
	tel *telemetry

	_     [64]byte      // exits, written by every exit, on a line of its own
	exits atomic.Uint64 // processes exited (Exits)
}

// NodeOption configures a Node.
type NodeOption func(*nodeConfig)

type nodeConfig struct {
	name     string
	logger   *zerolog.Logger
	creation uint32

	noCrashReports bool

	telemetry bool
	tp        trace.TracerProvider
	mp        metric.MeterProvider
	rootSpans bool
}

// WithNodeName sets the node's name (default "nonode@nohost", as in Erlang).
// A clustered node is named name@host:port by the cluster package.
func WithNodeName(name string) NodeOption { return func(c *nodeConfig) { c.name = name } }

// WithLogger sets the zerolog logger for the node, its processes and the
// protoactor ActorSystem underneath (whose slog output is routed into it,
// protoactor's info messages at debug level, with "component":"protoactor").
// The default writes info and above to stderr.
func WithLogger(l zerolog.Logger) NodeOption { return func(c *nodeConfig) { c.logger = &l } }

// WithCreation sets the node's incarnation number instead of a random one.
// Tests use it; a real node should keep the random default so PIDs of a
// previous boot never match.
func WithCreation(creation uint32) NodeOption { return func(c *nodeConfig) { c.creation = creation } }

// NewNode starts a node.
func NewNode(opts ...NodeOption) *Node {
	cfg := nodeConfig{name: "nonode@nohost"}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.logger == nil {
		l := zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Timestamp().Logger()
		cfg.logger = &l
	}
	if cfg.creation == 0 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.creation = binary.LittleEndian.Uint32(b[:]) | 1
	}
	n := &Node{
		ident: internIdent(cfg.name, cfg.creation),
		log:   cfg.logger.With().Str("node", cfg.name).Logger(),
		names: make(map[string]*Context),
		disp:  newDispatcher(),

		noCrashReports: cfg.noCrashReports,
	}
	if cfg.telemetry {
		n.tel = newTelemetry(n, cfg.tp, cfg.mp)
		n.tel.rootSpans = cfg.rootSpans
	}
	n.waiters.New = newWaiter
	n.ident.local.Store(n)
	// protoactor's info messages ("actor system started", endpoints
	// connected) say nothing to Arbor's user: they go out at debug level.
	plog := n.log.With().Str("component", "protoactor").Logger()
	n.system = pa.NewActorSystem(pa.WithLoggerFactory(func(*pa.ActorSystem) *slog.Logger {
		return slog.New(logbridge.Handler(plog, logbridge.InfoAsDebug()))
	}))
	n.proto = newProtoBridge(n)
	return n
}

// Name returns the node's name.
func (n *Node) Name() string { return n.ident.name }

// Creation returns the node's incarnation number.
func (n *Node) Creation() uint32 { return n.ident.creation }

// Node returns n, so a *Node and a *Context can be used alike.
func (n *Node) Node() *Node { return n }

// Self returns the zero PID: code running on a Node outside any process has
// no process identity.
func (n *Node) Self() PID { return PID{} }

// Logger returns the node's logger.
func (n *Node) Logger() *zerolog.Logger { return &n.log }

// ActorSystem returns the protoactor ActorSystem the node runs on.
func (n *Node) ActorSystem() *pa.ActorSystem { return n.system }

// IsLocal reports whether pid belongs to this node's current boot.
func (n *Node) IsLocal(pid PID) bool { return pid.node == n.ident }

// CountProcesses returns the number of live processes.
func (n *Node) CountProcesses() int { return n.table.count() }

// Processes returns the PIDs of the live processes.
func (n *Node) Processes() []PID {
	var out []PID
	n.table.each(func(c *Context) { out = append(out, c.self) })
	return out
}

// Stop kills every process still alive (with the untrappable Kill), waits for
// them to exit and shuts down the ActorSystem. Applications and supervisors
// should be stopped first for an orderly shutdown; Stop is the backstop. It
// returns ctx.Err() if processes are still alive when ctx ends.
func (n *Node) Stop(ctx context.Context) error {
	if err := n.killAll(ctx); err != nil {
		return err
	}
	if !n.stopped.CompareAndSwap(false, true) {
		return nil
	}
	if n.tel != nil {
		n.tel.stop()
	}
	n.proto.stop()
	n.disp.stop()
	n.system.Shutdown()
	n.ident.local.CompareAndSwap(n, nil)
	return nil
}

// killAll refuses new processes, kills every live one with Kill and waits
// for them to exit, leaving the ActorSystem running: the cluster transport
// calls it (through package seam) so the resulting exit signals still reach
// other nodes before it closes its connections, then calls Stop. It returns
// ctx.Err() if processes are still alive when ctx ends.
func (n *Node) killAll(ctx context.Context) error {
	n.stopping.Store(true)
	n.table.each(func(c *Context) {
		c.signal(signal{kind: seam.SignalExit, reason: Kill})
	})
	done := make(chan struct{})
	go func() { n.procs.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Node) newRef() Ref { return Ref{node: n.ident, id: n.refs.Add(1)} }

// lookup returns the live local process of pid, or nil.
func (n *Node) lookup(pid PID) *Context {
	if pid.node != n.ident {
		return nil
	}
	return n.table.get(pid.index, pid.serial)
}

// exited is the last step of a process's exit.
func (n *Node) exited(c *Context, reason error) {
	if pe, ok := reason.(*PanicError); ok {
		n.log.Error().Stringer("pid", c.self).Interface("panic", pe.Value).Bytes("stack", pe.Stack).Msg("process crashed")
	}
	n.procs.Done()
}

// NewRef returns a fresh reference unique to this node's boot.
func (n *Node) NewRef() Ref { return n.newRef() }

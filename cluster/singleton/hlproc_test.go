package singleton_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
)

// Registry-mode tests run each node in a child process: the test binary
// again, with hlChildEnv naming the node. A child is a cluster node with
// the cluster's default failure detection (reconnect interval 100 ms),
// a singleton scope and one registry singleton whose child prints
// "start NODE UNIXNANO" and "stop NODE shutdown|other UNIXNANO"; the
// singleton's events are printed "ev NODE KIND". A line "where" on stdin
// is answered "where NODE" (the node Whereis names, or "none"); the child
// stops when stdin closes. HL_DUMP=DIR makes the test write each child's
// whole log to DIR/NODE.log.
const hlChildEnv = "ARBOR_SINGLETON_HL_CHILD"

const hlKey = "hl"

func runHLChild() int {
	name := os.Getenv(hlChildEnv)
	log := zerolog.New(os.Stderr).Level(zerolog.DebugLevel).With().Timestamp().Str("proc", name).Logger()
	opts := []cluster.Option{cluster.WithLogger(log), cluster.WithReconnectInterval(100 * time.Millisecond),
		cluster.WithListenAddr(os.Getenv("HL_LISTEN"))}
	if a := os.Getenv("HL_ADVERTISE"); a != "" {
		opts = append(opts, cluster.WithAdvertiseAddr(a))
	}
	if p := os.Getenv("HL_PEERS"); p != "" {
		opts = append(opts, cluster.WithProvider(cluster.Static(strings.Split(p, ",")...)))
	}
	if routes := os.Getenv("HL_PEERADDRS"); routes != "" { // name=addr,...: a testkit.Mesh's routes
		for _, r := range strings.Split(routes, ",") {
			peer, addr, _ := strings.Cut(r, "=")
			opts = append(opts, cluster.WithPeerAddr(peer, addr))
		}
	}
	ctx := context.Background()
	c, err := cluster.Start(ctx, name, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 2
	}
	reg := registry.NewCluster(c)
	if err := singleton.AddScope(reg, "s"); err != nil {
		fmt.Fprintln(os.Stderr, "add scope:", err)
		return 2
	}
	out := &lineWriter{w: os.Stdout}
	node := c.Node()
	events, _ := node.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
		if ev, ok := msg.(singleton.Event); ok {
			out.printf("ev %s %s", name, ev.Kind)
		}
		return nil
	}))
	child := supervision.ChildSpec{
		ID:       hlKey,
		Shutdown: supervision.Timeout(time.Second),
		Start: func(ctx *actor.Context) (actor.PID, error) {
			return ctx.SpawnLink(&hlPrinter{name: name, out: out})
		},
	}
	sup, err := supervision.Start(node, []supervision.ChildSpec{
		singleton.Spec(child, singleton.WithRegistry(reg, "s"), singleton.WithSubscriber(events)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start supervisor:", err)
		return 2
	}
	out.printf("ready %s", c.Name())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "call" { // the caller is no process: a plain context
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			r, err := singleton.Call(cctx, reg, "s", hlKey, wrapperspb.String("who"))
			cancel()
			who := "error"
			if w, ok := r.(*wrapperspb.StringValue); ok {
				who = w.GetValue()
			} else {
				fmt.Fprintf(os.Stderr, "call: %T %v\n", r, err)
			}
			out.printf("call %s", who)
		}
		if sc.Text() == "where" {
			pid, err := singleton.Whereis(reg, "s", hlKey)
			if err != nil {
				out.printf("where none")
			} else {
				out.printf("where %s", strings.SplitN(pid.NodeName(), "@", 2)[0])
			}
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_ = supervision.Stop(sctx, node, sup)
	_ = c.Stop(sctx)
	return 0
}

// lineWriter prints whole lines from any goroutine.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}

// hlPrinter is the singleton child of a registry-mode child process: it
// traps exits, so its stop line is its Terminate.
type hlPrinter struct {
	name string
	out  *lineWriter
}

func (p *hlPrinter) Init(ctx *actor.Context) error {
	ctx.TrapExit(true)
	p.out.printf("start %s %d", p.name, time.Now().UnixNano())
	return nil
}

func (p *hlPrinter) Receive(ctx *actor.Context, msg any) error {
	if m, ok := msg.(actor.Exit); ok && m.From == ctx.Parent() {
		class := "other"
		if isShutdown(m.Reason) {
			class = "shutdown"
		}
		p.out.printf("stop %s %s %d", p.name, class, time.Now().UnixNano())
		return m.Reason
	}
	if r, ok := msg.(*actor.Request); ok {
		r.Reply(wrapperspb.String(p.name))
	}
	return nil
}

// hlLine is one line of a registry-mode child, as the test read it.
type hlLine struct {
	node, kind, arg string
	at              time.Time // the child's stamp for start and stop, else when read
}

// hlNode is a registry-mode child process.
type hlNode struct {
	short  string // the name it was started with
	name   string // name@advertised address
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	where  chan string
	call   chan string
	ready  chan struct{}
	done   chan struct{}
}

// hlCluster follows the lines of its nodes.
type hlCluster struct {
	t     *testing.T
	mu    sync.Mutex
	lines []hlLine
	nodes map[string]*hlNode
}

func newHLCluster(t *testing.T) *hlCluster { return &hlCluster{t: t, nodes: map[string]*hlNode{}} }

// start starts node short listening on listen, advertising advertise
// (listen if empty), with peers (node names), and waits until it is ready.
func (hc *hlCluster) start(short, listen, advertise string, peers ...string) *hlNode {
	hc.t.Helper()
	n := hc.launch(short, listen, advertise, nil, peers...)
	hc.awaitReady(n)
	return n
}

// launch starts node short as start does, dialing each peer named in
// routes at its address there (a testkit.Mesh's routes), without waiting
// for it to be ready (awaitReady does).
func (hc *hlCluster) launch(short, listen, advertise string, routes map[string]string, peers ...string) *hlNode {
	t := hc.t
	t.Helper()
	if advertise == "" {
		advertise = listen
	}
	var rs []string
	for peer, a := range routes {
		rs = append(rs, peer+"="+a)
	}
	n := &hlNode{short: short, name: short + "@" + advertise, where: make(chan string, 16),
		call:  make(chan string, 16),
		ready: make(chan struct{}), done: make(chan struct{})}
	n.cmd = exec.Command(os.Args[0], "-test.run=^$")
	n.cmd.Env = append(os.Environ(), hlChildEnv+"="+short, "HL_LISTEN="+listen, "HL_ADVERTISE="+advertise,
		"HL_PEERS="+strings.Join(peers, ","), "HL_PEERADDRS="+strings.Join(rs, ","))
	n.cmd.Stderr = &n.stderr
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if n.stdin, err = n.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(n.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 2 && f[0] == "ready":
				close(n.ready)
			case len(f) == 2 && f[0] == "where":
				n.where <- f[1]
			case len(f) == 2 && f[0] == "call":
				n.call <- f[1]
			case len(f) >= 3:
				l := hlLine{node: f[1], kind: f[0], arg: f[2], at: time.Now()}
				if ns, err := strconv.ParseInt(f[len(f)-1], 10, 64); err == nil && (f[0] == "start" || f[0] == "stop") {
					l.at = time.Unix(0, ns)
				}
				hc.mu.Lock()
				hc.lines = append(hc.lines, l)
				hc.mu.Unlock()
			}
		}
		_ = n.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = n.cmd.Process.Signal(syscall.SIGCONT)
		_ = n.stdin.Close()
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.done
		}
		if d := os.Getenv("HL_DUMP"); d != "" {
			_ = os.WriteFile(d+"/"+short+".log", n.stderr.Bytes(), 0o644)
		}
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", short, lastLines(n.stderr.String(), 60))
		}
	})
	hc.mu.Lock()
	hc.nodes[short] = n
	hc.mu.Unlock()
	return n
}

// awaitReady waits until n, launched, says it is ready.
func (hc *hlCluster) awaitReady(n *hlNode) {
	hc.t.Helper()
	select {
	case <-n.ready:
	case <-n.done:
		hc.t.Fatalf("%s exited at start: %s", n.short, n.stderr.String())
	case <-time.After(30 * time.Second):
		hc.t.Fatalf("%s not ready within 30 s", n.short)
	}
}

func lastLines(s string, n int) string {
	ls := strings.Split(s, "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

func (hc *hlCluster) snapshot() []hlLine {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	return append([]hlLine(nil), hc.lines...)
}

// running returns the nodes whose child runs, by the lines so far (a
// killed node's child counts as stopped).
func (hc *hlCluster) running() []string {
	run := map[string]bool{}
	for _, l := range hc.snapshot() {
		switch l.kind {
		case "start":
			run[l.node] = true
		case "stop":
			delete(run, l.node)
		}
	}
	var out []string
	hc.mu.Lock()
	for n := range run {
		if nd := hc.nodes[n]; nd != nil && !nd.exited() {
			out = append(out, n)
		}
	}
	hc.mu.Unlock()
	slices.Sort(out)
	return out
}

func (n *hlNode) exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// whereis asks n which node Whereis names.
func (n *hlNode) whereis() (string, error) {
	if _, err := io.WriteString(n.stdin, "where\n"); err != nil {
		return "", err
	}
	select {
	case w := <-n.where:
		return w, nil
	case <-time.After(10 * time.Second):
		return "", errors.New("no answer to where")
	}
}

// callKey has n call the instance with singleton.Call from a plain
// context and returns the node that answered, or "error".
func (n *hlNode) callKey() (string, error) {
	if _, err := io.WriteString(n.stdin, "call\n"); err != nil {
		return "", err
	}
	select {
	case w := <-n.call:
		return w, nil
	case <-time.After(20 * time.Second):
		return "", errors.New("no answer to call")
	}
}

// awaitOne waits until exactly one child runs, on nodes of among, and
// every node of among names it with Whereis; it returns that node.
func (hc *hlCluster) awaitOne(within time.Duration, among ...*hlNode) string {
	hc.t.Helper()
	var holder string
	testkit.Eventually(hc.t, within, func() error {
		r := hc.runningAmong(among)
		if len(r) != 1 {
			return fmt.Errorf("running on %v", r)
		}
		for _, n := range among {
			w, err := n.whereis()
			if err != nil {
				return fmt.Errorf("%s: %w", n.short, err)
			}
			if w != r[0] {
				return fmt.Errorf("%s names %s, the child runs on %s", n.short, w, r[0])
			}
		}
		holder = r[0]
		return nil
	})
	return holder
}

func (hc *hlCluster) runningAmong(among []*hlNode) []string {
	in := map[string]bool{}
	for _, n := range among {
		in[n.short] = true
	}
	var out []string
	for _, r := range hc.running() {
		if in[r] {
			out = append(out, r)
		}
	}
	return out
}

// awaitLine waits for a line of kind from a node of among (any if empty)
// after index from of the lines; it returns the line and its index.
func (hc *hlCluster) awaitLine(within time.Duration, from int, kind string, among ...string) (hlLine, int) {
	hc.t.Helper()
	var (
		line hlLine
		at   int
	)
	testkit.Eventually(hc.t, within, func() error {
		ls := hc.snapshot()
		for i := from; i < len(ls); i++ {
			if ls[i].kind == kind && (len(among) == 0 || slices.Contains(among, ls[i].node)) {
				line, at = ls[i], i
				return nil
			}
		}
		return fmt.Errorf("no %q line from %v; lines %v", kind, among, ls[from:])
	})
	return line, at
}

func addrOf(t *testing.T) string { return "127.0.0.1:" + strconv.Itoa(testkit.FreePort(t)) }

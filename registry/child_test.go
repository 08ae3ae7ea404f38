package registry_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sort"
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
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// Tests of replicated scopes run every node in a child process (the test
// binary run again with childEnv set): one cluster node per OS process,
// real sockets, and kill -9 works. The parent drives a child through
// numbered commands on its stdin ("7 register n1 w1 m1") and reads
// "R 7 OK ..." / "R 7 ERR ..." replies and "EV ..." callback lines on its
// stdout.
const childEnv = "ARBOR_REGISTRY_TEST_CHILD"

// childHeartbeatTimeout is the child's heartbeat timeout: CHILD_HEARTBEAT_TIMEOUT,
// else cluster.DefaultHeartbeatTimeout. A test whose faults only
// heartbeats reveal (a SIGSTOP, a silent cut) sets a short one; the others
// keep the default, since with a short one a node descheduled for that
// long on a loaded machine under -race loses its sessions by itself.
func childHeartbeatTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("CHILD_HEARTBEAT_TIMEOUT")); err == nil {
		return d
	}
	return cluster.DefaultHeartbeatTimeout
}

// runChild is the main of a child node: CHILD_LISTEN, CHILD_ADVERTISE,
// CHILD_PEERS (comma-separated node names), CHILD_PEERADDRS
// (name=addr,...: the routes of a testkit.Mesh), CHILD_SCOPE (the scope to add,
// none if empty) and CHILD_RESOLVER ("", "lower" keeps the lower PID,
// "neither" keeps none). CHILD_CPUPROFILE, CHILD_MEMPROFILE and
// CHILD_BLOCKPROFILE name a file (the node's label is appended) for the
// child's CPU, allocation or blocking profile.
func runChild() {
	opts := []cluster.Option{
		cluster.WithLogger(zerolog.New(os.Stderr).Level(childLogLevel()).With().Timestamp().Logger()),
		cluster.WithHeartbeat(100*time.Millisecond, childHeartbeatTimeout()),
		cluster.WithConnectTimeout(time.Second),
	}
	if os.Getenv("CHILD_DEFAULT_RECONNECT") == "" { // benchmarks: the cluster's default
		opts = append(opts, cluster.WithReconnectInterval(100*time.Millisecond))
	}
	if addr := os.Getenv("CHILD_LISTEN"); addr != "" {
		opts = append(opts, cluster.WithListenAddr(addr))
	}
	if addr := os.Getenv("CHILD_ADVERTISE"); addr != "" {
		opts = append(opts, cluster.WithAdvertiseAddr(addr))
	}
	if peers := os.Getenv("CHILD_PEERS"); peers != "" {
		opts = append(opts, cluster.WithProvider(cluster.Static(strings.Split(peers, ",")...)))
	}
	if routes := os.Getenv("CHILD_PEERADDRS"); routes != "" { // name=addr,...: dial each peer through its route
		for _, r := range strings.Split(routes, ",") {
			peer, addr, _ := strings.Cut(r, "=")
			opts = append(opts, cluster.WithPeerAddr(peer, addr))
		}
	}
	if path := os.Getenv("CHILD_BLOCKPROFILE"); path != "" {
		runtime.SetBlockProfileRate(10000)
		defer func() {
			if f, err := os.Create(path + "." + os.Getenv(childEnv)); err == nil {
				_ = pprof.Lookup("block").WriteTo(f, 0)
				_ = f.Close()
			}
		}()
	}
	if path := os.Getenv("CHILD_MEMPROFILE"); path != "" { // what the child allocated, written as it ends
		defer func() {
			if f, err := os.Create(path + "." + os.Getenv(childEnv)); err == nil {
				runtime.GC() // the profile counts what was allocated until the last collection
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		}()
	}
	if path := os.Getenv("CHILD_CPUPROFILE"); path != "" {
		f, err := os.Create(path + "." + os.Getenv(childEnv))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	ctx := context.Background()
	c, err := cluster.Start(ctx, os.Getenv(childEnv), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(2)
	}
	out := &lineWriter{w: os.Stdout}
	reg := registry.NewCluster(c)
	scope := os.Getenv("CHILD_SCOPE")
	if scope != "" {
		var h any = &printer{out: out}
		if os.Getenv("CHILD_QUIET") != "" {
			h = nil // benchmarks: no callbacks to print
		}
		switch os.Getenv("CHILD_RESOLVER") {
		case "lower":
			h = &lowerResolver{printer{out: out}}
		case "neither":
			h = &neitherResolver{printer{out: out}}
		}
		if err := reg.AddScope(scope, registry.WithEventHandler(h)); err != nil {
			fmt.Fprintln(os.Stderr, "add scope:", err)
			os.Exit(2)
		}
	}
	if scope == "" {
		scope = "s" // a node of the cluster that does not add the scope
	}
	ch := &childCmds{c: c, reg: reg, scope: scope, out: out, pids: map[string]actor.PID{}}
	for _, setup := range nodeSetups {
		if err := setup(ch); err != nil {
			fmt.Fprintln(os.Stderr, "set up:", err)
			os.Exit(2)
		}
	}
	out.printf("READY %s", c.Name())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		id, cmd, _ := strings.Cut(sc.Text(), " ")
		res, err := ch.run(strings.Fields(cmd))
		if err != nil {
			out.printf("R %s ERR %v", id, err)
		} else {
			out.printf("R %s OK %s", id, res)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for _, f := range ch.atStop {
		f(sctx)
	}
	if err := c.Stop(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
		os.Exit(1)
	}
}

// childLogLevel is debug, or warn for benchmarks, or CHILD_LOGLEVEL.
func childLogLevel() zerolog.Level {
	if l, err := zerolog.ParseLevel(os.Getenv("CHILD_LOGLEVEL")); err == nil && os.Getenv("CHILD_LOGLEVEL") != "" {
		return l
	}
	if os.Getenv("CHILD_QUIET") != "" {
		return zerolog.WarnLevel
	}
	return zerolog.DebugLevel
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

// pidText is a PID as the children print it: with its node's creation,
// so that processes of two boots of a node differ.
func pidText(pid actor.PID) string { return fmt.Sprintf("%v/%d", pid, pid.Creation()) }

// printer prints every callback as "EV kind name pid meta reason".
type printer struct{ out *lineWriter }

func metaText(m any) string {
	if s, ok := m.(*wrapperspb.StringValue); ok {
		return s.Value
	}
	if b, ok := m.(*wrapperspb.BytesValue); ok {
		return fmt.Sprintf("bytes:%d", len(b.GetValue())) // keeps event lines short
	}
	return fmt.Sprint(m)
}

func (p *printer) OnProcessRegistered(_, name string, pid actor.PID, meta any, r registry.Reason) {
	p.out.printf("EV registered %s %s %s %s", name, pidText(pid), metaText(meta), r)
}

func (p *printer) OnProcessUnregistered(_, name string, pid actor.PID, meta any, r registry.Reason) {
	p.out.printf("EV unregistered %s %s %s %s", name, pidText(pid), metaText(meta), r)
}

func (p *printer) OnRegistryProcessUpdated(_, name string, pid actor.PID, _, meta any, r registry.Reason) {
	p.out.printf("EV updated %s %s %s %s", name, pidText(pid), metaText(meta), r)
}

func (p *printer) OnProcessJoined(_, group string, pid actor.PID, meta any, r registry.Reason) {
	p.out.printf("EV joined %s %s %s %s", group, pidText(pid), metaText(meta), r)
}

func (p *printer) OnProcessLeft(_, group string, pid actor.PID, meta any, r registry.Reason) {
	p.out.printf("EV left %s %s %s %s", group, pidText(pid), metaText(meta), r)
}

func (p *printer) OnGroupProcessUpdated(_, group string, pid actor.PID, _, meta any, r registry.Reason) {
	p.out.printf("EV gupdated %s %s %s %s", group, pidText(pid), metaText(meta), r)
}

// lowerResolver keeps the registration whose metadata sorts first.
type lowerResolver struct{ printer }

func (r lowerResolver) ResolveRegistryConflict(scope, name string, a, b registry.Registration) actor.PID {
	keep := b.PID
	if metaText(a.Meta) < metaText(b.Meta) {
		keep = a.PID
	}
	r.resolved(scope, name, a, b, keep)
	return keep
}

// resolved prints a custom resolver's question and answer as "RS scope
// name a atime ameta b btime bmeta => keep": the randomized test checks
// that each owner kept what its own resolver answered (an Update racing
// the heal can show the two owners different metadata, docs/registry.md,
// so their answers can differ).
func (p printer) resolved(scope, name string, a, b registry.Registration, keep actor.PID) {
	p.out.printf("RS %s %s %v %d %q %v %d %q => %v", scope, name, a.PID, a.Time, metaText(a.Meta), b.PID, b.Time, metaText(b.Meta), keep)
}

// neitherResolver keeps neither.
type neitherResolver struct{ printer }

func (r neitherResolver) ResolveRegistryConflict(scope, name string, a, b registry.Registration) actor.PID {
	r.resolved(scope, name, a, b, actor.PID{})
	return actor.PID{}
}

// nodeSetups run on every node once its scope is added, before it takes
// commands: in a child (runChild) and on a node of the in-memory mode
// (random_net_test.go's memNet) alike, so that what an extra of the
// randomized test needs on each node (say a singleton's scope) is there in
// both modes.
var nodeSetups []func(ch *childCmds) error

// childCmds runs the parent's commands; pids names the child's workers.
type childCmds struct {
	reask func() (string, error) // the rest of reaskbegin
	c     *cluster.Cluster
	reg   *registry.Registry
	scope string
	out   *lineWriter
	pids  map[string]actor.PID
	exits sync.Map // worker name -> <-chan error

	rmu     sync.Mutex
	reasons map[string]error // worker name -> exit reason, once read from exits
	downs   []string         // watchdowns' record

	names, groups int // how many n<i> and g<i> dump lists

	extra  any                         // the state of childExtraCmds
	atStop []func(ctx context.Context) // run before the node stops
}

// dumpScope lists the names n0.. and groups g0.. of s as
// "n3=<pid>:meta,...;g1=<pid>:meta,...;problems": a problem is a local
// holder or member that is not alive, or counts that disagree.
func dumpScope(n *actor.Node, s *registry.Scope, names, groups int) string {
	var ns, gs, bad []string
	count := 0
	for i := range names {
		name := fmt.Sprint("n", i)
		pid, meta, err := s.Lookup(name)
		if err != nil {
			continue
		}
		count++
		ns = append(ns, name+"="+pidText(pid)+":"+metaText(meta))
		if n.IsLocal(pid) && !n.IsAlive(pid) {
			bad = append(bad, "dead holder "+name)
		}
	}
	if s.Count() != count {
		bad = append(bad, fmt.Sprintf("count %d, %d names", s.Count(), count))
	}
	for i := range groups {
		group := fmt.Sprint("g", i)
		var ms []string
		for _, m := range s.Members(group) {
			ms = append(ms, group+"="+pidText(m.PID)+":"+metaText(m.Meta))
			if n.IsLocal(m.PID) && !n.IsAlive(m.PID) {
				bad = append(bad, "dead member "+group)
			}
		}
		if s.MemberCount(group) != len(ms) {
			bad = append(bad, fmt.Sprintf("%s: member count %d, %d members", group, s.MemberCount(group), len(ms)))
		}
		sort.Strings(ms)
		gs = append(gs, ms...)
	}
	return strings.Join(ns, ",") + ";" + strings.Join(gs, ",") + ";" + strings.Join(bad, ",")
}

// childWorker is a process that does nothing until it is told to exit.
type childWorker struct{}

func (childWorker) Receive(_ *actor.Context, msg any) error {
	if r, ok := msg.(*actor.Request); ok {
		r.Reply(r.Message()) // an echo, for MultiCall
	}
	return nil
}

// reason returns worker w's exit reason and true once it exited (waiting
// for it if wait), or false while it lives.
func (ch *childCmds) reason(w string, wait bool) (error, bool) {
	ch.rmu.Lock()
	defer ch.rmu.Unlock()
	if err, ok := ch.reasons[w]; ok {
		return err, true
	}
	v, ok := ch.exits.Load(w)
	if !ok {
		return errors.New("unknown worker"), true
	}
	var err error
	if wait {
		err = <-v.(<-chan error)
	} else {
		select {
		case err = <-v.(<-chan error):
		default:
			return nil, false
		}
	}
	if ch.reasons == nil {
		ch.reasons = map[string]error{}
	}
	ch.reasons[w] = err
	return err, true
}

// reasonText is an exit reason as exitreason prints it.
func reasonText(err error) string {
	var ce *registry.ConflictError
	if errors.As(err, &ce) {
		return "conflict " + ce.Scope + " " + ce.Name
	}
	return err.Error()
}

func (ch *childCmds) pid(arg string) (actor.PID, error) {
	if pid, ok := ch.pids[arg]; ok {
		return pid, nil
	}
	b, err := base64.StdEncoding.DecodeString(arg)
	if err != nil {
		return actor.PID{}, fmt.Errorf("unknown worker %q", arg)
	}
	return cluster.UnmarshalPID(b)
}

// cmdTimeout bounds a command in a child; bulkTimeout bounds the commands
// whose work grows with a count (bulk, waitcount), under the parent's 60 s
// wait for a reply so that the child's error, with its count, comes first.
// 100k names under -race took 5 s at load 15 and 16 s at load 25 on a
// 2-core machine: 20 s was the tight bound of a loaded run.
const (
	cmdTimeout  = 20 * time.Second
	bulkTimeout = 50 * time.Second
)

// registerWorkers registers count names prefix<i> in s, each held by its
// own new childWorker on n, with metadata "meta-of-<i>", by writers
// goroutines; it returns the first error.
func registerWorkers(ctx context.Context, n *actor.Node, s *registry.Scope, prefix string, count, writers int) error {
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := g; i < count; i += writers {
				pid, err := n.Spawn(childWorker{})
				if err == nil {
					err = s.Register(ctx, prefix+strconv.Itoa(i), pid, wrapperspb.String("meta-of-"+strconv.Itoa(i)))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// awaitCount returns once s counts want names, or ctx's error. It polls
// every 200 µs: the time it returns measures a latency.
func awaitCount(ctx context.Context, s *registry.Scope, want int) error {
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	for s.Count() != want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("count %d, want %d: %w", s.Count(), want, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// processCPU returns the CPU time this process has used so far (user and
// system).
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano()), nil
}

func (ch *childCmds) run(args []string) (string, error) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	timeout := cmdTimeout
	if arg(0) == "bulk" || arg(0) == "waitcount" {
		timeout = bulkTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	n := ch.c.Node()
	switch arg(0) {
	case "spawn": // spawn W: reply "pid base64"
		pid, err := n.Spawn(childWorker{})
		if err != nil {
			return "", err
		}
		ch.rmu.Lock()
		ch.pids[arg(1)] = pid
		ch.exits.Store(arg(1), n.WatchExit(pid))
		delete(ch.reasons, arg(1))
		ch.rmu.Unlock()
		return pidText(pid) + " " + base64.StdEncoding.EncodeToString(cluster.MarshalPID(pid)), nil
	case "register": // register NAME W|PID META
		pid, err := ch.pid(arg(2))
		if err != nil {
			return "", err
		}
		return "", ch.reg.Register(ctx, ch.scope, arg(1), pid, wrapperspb.String(arg(3)))
	case "unregister": // unregister NAME W|PID
		pid, err := ch.pid(arg(2))
		if err != nil {
			return "", err
		}
		return "", ch.reg.Unregister(ctx, ch.scope, arg(1), pid)
	case "join": // join GROUP W|PID META
		pid, err := ch.pid(arg(2))
		if err != nil {
			return "", err
		}
		return "", ch.reg.Join(ctx, ch.scope, arg(1), pid, wrapperspb.String(arg(3)))
	case "leave":
		pid, err := ch.pid(arg(2))
		if err != nil {
			return "", err
		}
		return "", ch.reg.Leave(ctx, ch.scope, arg(1), pid)
	case "wire": // wire W: the worker's PID in wire form
		pid, ok := ch.pids[arg(1)]
		if !ok {
			return "", errors.New("unknown worker")
		}
		return base64.StdEncoding.EncodeToString(cluster.MarshalPID(pid)), nil
	case "update": // update NAME META
		_, meta, err := ch.reg.Update(ctx, ch.scope, arg(1), func(actor.PID, any) any { return wrapperspb.String(arg(2)) })
		if err != nil {
			return "", err
		}
		return metaText(meta), nil
	case "updatemember": // updatemember GROUP W|PID META
		pid, err := ch.pid(arg(2))
		if err != nil {
			return "", err
		}
		meta, err := ch.reg.UpdateMember(ctx, ch.scope, arg(1), pid, func(any) any { return wrapperspb.String(arg(3)) })
		if err != nil {
			return "", err
		}
		return metaText(meta), nil
	case "exit": // exit W REASON: ends the worker and waits
		pid, err := ch.pid(arg(1))
		if err != nil {
			return "", err
		}
		if err := n.Exit(pid, errors.New(arg(2))); err != nil {
			return "", err
		}
		err, _ = ch.reason(arg(1), true)
		return fmt.Sprint(err), nil
	case "exitreason": // exitreason W: the worker's exit reason, or "alive"
		if _, ok := ch.exits.Load(arg(1)); !ok {
			return "", errors.New("unknown worker")
		}
		if err, dead := ch.reason(arg(1), false); dead {
			return reasonText(err), nil
		}
		return "alive", nil
	case "workers": // each worker as "W=pid=alive" or "W=pid=reason", by name
		var out []string
		ch.rmu.Lock()
		ws := make([]string, 0, len(ch.pids))
		for w := range ch.pids {
			ws = append(ws, w)
		}
		ch.rmu.Unlock()
		sort.Strings(ws)
		for _, w := range ws {
			status := "alive"
			if err, dead := ch.reason(w, false); dead {
				status = reasonText(err)
			}
			ch.rmu.Lock()
			out = append(out, w+"="+pidText(ch.pids[w])+"="+status)
			ch.rmu.Unlock()
		}
		return strings.Join(out, ","), nil
	case "res": // "goroutines fds" of this process
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d %d", runtime.NumGoroutine(), len(fds)), nil
	case "proto": // proto ...: protoactor actors (protoactor_test.go)
		return ch.proto(ctx, args[1:])
	case "lookup": // lookup NAME: "pid meta" or "none"
		pid, meta, err := ch.reg.Lookup(ch.scope, arg(1))
		if errors.Is(err, registry.ErrNotRegistered) {
			return "none", nil
		}
		if err != nil {
			return "", err
		}
		return pidText(pid) + " " + metaText(meta), nil
	case "count":
		c, err := ch.reg.Count(ch.scope)
		return strconv.Itoa(c), err
	case "members": // members GROUP: sorted "pid:meta" list
		ms, err := ch.reg.Members(ch.scope, arg(1))
		var out []string
		for _, m := range ms {
			out = append(out, pidText(m.PID)+":"+metaText(m.Meta))
		}
		sort.Strings(out)
		return strings.Join(out, ","), err
	case "nodes": // the scope's synced nodes
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		return strings.Join(s.Nodes(), ","), nil
	case "dropped":
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		return strconv.FormatUint(s.Dropped(), 10), nil
	case "dump": // the scope's view, once its callbacks ran: names;groups;problems
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		if err := registry.Sync(ctx, s); err != nil {
			return "", err
		}
		return dumpScope(n, s, ch.names, ch.groups), nil
	case "keys": // keys NAMES GROUPS: the names and groups dump lists
		ch.names, _ = strconv.Atoi(arg(1))
		ch.groups, _ = strconv.Atoi(arg(2))
		return "", nil
	case "bulk": // bulk N PREFIX [W]: N names PREFIX<i>, each held by its own new worker, with metadata, by W goroutines (8)
		count, _ := strconv.Atoi(arg(1))
		writers := 8
		if w, err := strconv.Atoi(arg(3)); err == nil && w > 0 {
			writers = w
		}
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		start := time.Now()
		if err := registerWorkers(ctx, n, s, arg(2), count, writers); err != nil {
			return "", err
		}
		return time.Since(start).String(), nil
	case "cpu": // the CPU time this process has used so far (user and system)
		d, err := processCPU()
		if err != nil {
			return "", err
		}
		return d.String(), nil
	case "waitcount": // waitcount N: how long until the scope counts N names
		want, _ := strconv.Atoi(arg(1))
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		start := time.Now()
		if err := awaitCount(ctx, s, want); err != nil {
			return "", err
		}
		return time.Since(start).String(), nil
	case "waitcountat": // waitcount N, answering the wall-clock time (Unix ns) the count was reached
		want, _ := strconv.Atoi(arg(1))
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		if err := awaitCount(ctx, s, want); err != nil {
			return "", err
		}
		return strconv.FormatInt(time.Now().UnixNano(), 10), nil
	case "watchdowns": // record each NodeDown with the wall-clock time (Unix ns) a process of this node got it
		pid, err := n.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
			if d, ok := msg.(cluster.NodeDown); ok {
				ch.rmu.Lock()
				ch.downs = append(ch.downs, fmt.Sprintf("%d %s %v", time.Now().UnixNano(), d.Node, d.Reason))
				ch.rmu.Unlock()
			}
			return nil
		}))
		if err != nil {
			return "", err
		}
		return "", ch.c.MonitorNodes(pid, true)
	case "downs": // the NodeDowns watchdowns recorded, "unixns node reason" separated by ";"
		ch.rmu.Lock()
		defer ch.rmu.Unlock()
		return strings.Join(ch.downs, ";"), nil
	case "killscope": // kill the scope process and wait until it is back
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		old := s.PID()
		exited := n.WatchExit(old)
		if err := n.Exit(old, actor.Kill); err != nil {
			return "", err
		}
		<-exited
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for s.PID() == old {
			select {
			case <-ctx.Done():
				return "", errors.New("scope process not restarted")
			case <-tick.C:
			}
		}
		return "", nil
	case "multicall": // multicall GROUP: "replies bad"
		replies, bad, err := ch.reg.MultiCall(ctx, ch.scope, arg(1), wrapperspb.String("ping"))
		return fmt.Sprintf("%d %d", len(replies), len(bad)), err
	case "publish": // publish GROUP: how many members it reached
		k, err := ch.reg.Publish(ctx, ch.scope, arg(1), wrapperspb.String("news"))
		return strconv.Itoa(k), err
	case "registerbig": // registerbig NAME W BYTES: metadata of BYTES bytes
		pid, err := ch.pid(arg(2))
		if err != nil {
			return "", err
		}
		size, err := strconv.Atoi(arg(3))
		if err != nil {
			return "", err
		}
		return "", ch.reg.Register(ctx, ch.scope, arg(1), pid, wrapperspb.Bytes(make([]byte, size)))
	case "lookupsize": // lookupsize NAME: "pid bytes" of a registerbig name, or "none"
		pid, meta, err := ch.reg.Lookup(ch.scope, arg(1))
		if errors.Is(err, registry.ErrNotRegistered) {
			return "none", nil
		}
		if err != nil {
			return "", err
		}
		b, _ := meta.(*wrapperspb.BytesValue)
		return fmt.Sprintf("%s %d", pidText(pid), len(b.GetValue())), nil
	case "reaskbegin": // reaskbegin LOCALNAME NODE NAME W: block the scope process, queue a re-ask of NODE, forward Register NAME W
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		pid, err := ch.pid(arg(4))
		if err != nil {
			return "", err
		}
		started, gate := make(chan struct{}), make(chan struct{})
		go func() {
			_, _, _ = s.Update(context.Background(), arg(1), func(_ actor.PID, meta any) any {
				close(started)
				<-gate
				return meta
			})
		}()
		<-started
		if err := registry.Reask(n, s, arg(2)); err != nil {
			return "", err
		}
		res := make(chan error, 1)
		go func() { res <- s.Register(context.Background(), arg(3), pid, wrapperspb.String("m")) }()
		ch.reask = func() (string, error) {
			close(gate)
			if err := <-res; err != nil {
				return "", err
			}
			p, _, err := s.Lookup(arg(3)) // at once: the write returned
			if err != nil {
				return "", err
			}
			return pidText(p), nil
		}
		return "", nil
	case "reaskend": // reaskend: unblock, wait for the Register, look the name up at once
		return ch.reask()
	case "exitrace": // exitrace W REASON NAME: W dies while a write about it is queued in the blocked scope process
		pid, err := ch.pid(arg(1))
		if err != nil {
			return "", err
		}
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		started, gate := make(chan struct{}), make(chan struct{})
		upd := make(chan error, 1)
		go func() {
			_, _, err := s.Update(ctx, arg(3), func(_ actor.PID, meta any) any {
				close(started)
				<-gate
				return meta
			})
			upd <- err
		}()
		<-started
		res := make(chan error, 1)
		req := registry.RegisterRequest("exitrace-extra", pid, nil, func(v any, err error) {
			if e, ok := v.(error); ok && err == nil {
				err = e
			}
			res <- err
		})
		if err := registry.PostRequest(n, s, req); err != nil {
			return "", err
		}
		if err := n.Exit(pid, errors.New(arg(2))); err != nil {
			return "", err
		}
		_, _ = ch.reason(arg(1), true) // dead now; its Down is queued behind the request
		close(gate)
		return fmt.Sprint(<-upd, " / ", <-res), nil
	case "scopepid": // the scope process's PID in wire form
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(cluster.MarshalPID(s.PID())), nil
	case "forged":
		s, err := ch.reg.Scope(ch.scope)
		if err != nil {
			return "", err
		}
		return strconv.FormatUint(s.Forged(), 10), nil
	case "forgewrite": // forgewrite NODE SCOPE REQUESTER PID NAME: a Write naming another requester
		req, err := ch.pid(arg(3))
		if err != nil {
			return "", err
		}
		pid, err := ch.pid(arg(4))
		if err != nil {
			return "", err
		}
		w := &registrypb.Write{Version: 1, Scope: arg(2), Requester: cluster.MarshalPID(req),
			Op: &registrypb.Write_Register{Register: &registrypb.Name{Name: arg(5), Pid: cluster.MarshalPID(pid)}}}
		v, err := ch.c.CallNamed(ctx, arg(1), registry.ScopeProcessName(arg(2)), w)
		if err != nil {
			return "", err
		}
		return v.(*registrypb.WriteResult).GetCode().String(), nil
	case "forgesync": // forgesync NODE SCOPE: ask NODE's scope like a scope process, then answer its ask (guessing)
		inbox, err := n.NewInbox()
		if err != nil {
			return "", err
		}
		defer inbox.Close()
		from := cluster.MarshalPID(inbox.PID())
		disc := &registrypb.ScopeMessage{Version: 1, Scope: arg(2), From: from,
			Body: &registrypb.ScopeMessage_Discover{Discover: &registrypb.Discover{Ask: 1}}}
		if err := ch.c.SendNamed(arg(1), registry.ScopeProcessName(arg(2)), disc); err != nil {
			return "", err
		}
		// A call behind the Discover: its reply comes after anything the
		// scope process sent in answer to it.
		_, _ = ch.c.CallNamed(ctx, arg(1), registry.ScopeProcessName(arg(2)), &registrypb.Write{})
		leaked := 0
		for {
			rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
			v, err := inbox.Receive(rctx)
			rcancel()
			if err != nil {
				break
			}
			if m, ok := v.(*registrypb.ScopeMessage); ok {
				sn := m.GetSnapshot()
				leaked += len(sn.GetNames()) + len(sn.GetMembers())
			}
		}
		// The scope process asked this node too (to a name it does not
		// have): guess its ask.
		for i := uint64(1); i <= 8; i++ {
			for _, guess := range []uint64{i, i << 32} {
				inject := &registrypb.ScopeMessage{Version: 1, Scope: arg(2), From: from, Session: guess, Seq: 1,
					Body: &registrypb.ScopeMessage_Snapshot{Snapshot: &registrypb.Snapshot{Last: true,
						Names: []*registrypb.Name{{Name: "injected", Pid: from, Time: 1}}}}}
				if err := ch.c.SendNamed(arg(1), registry.ScopeProcessName(arg(2)), inject); err != nil {
					return "", err
				}
			}
		}
		return fmt.Sprintf("leaked %d", leaked), nil
	case "forge": // forge NODE SCOPE: a write into NODE's scope from this node
		pid, _ := n.Spawn(childWorker{})
		msg := &registrypb.ScopeMessage{Version: 1, Scope: arg(2), From: cluster.MarshalPID(pid), Session: 1, Seq: 1,
			Body: &registrypb.ScopeMessage_Registered{Registered: &registrypb.Registered{
				Entry: &registrypb.Name{Name: "forged", Pid: cluster.MarshalPID(pid)}}}}
		if err := ch.c.SendNamed(arg(1), registry.ScopeProcessName(arg(2)), msg); err != nil {
			return "", err
		}
		w := &registrypb.Write{Version: 1, Scope: arg(2), Requester: cluster.MarshalPID(pid),
			Op: &registrypb.Write_Register{Register: &registrypb.Name{Name: "forged", Pid: cluster.MarshalPID(pid)}}}
		v, err := ch.c.CallNamed(ctx, arg(1), registry.ScopeProcessName(arg(2)), w)
		if err != nil {
			return "", err
		}
		return v.(*registrypb.WriteResult).GetCode().String(), nil
	}
	if f, ok := childExtraCmds[arg(0)]; ok {
		return f(ch, args)
	}
	return "", fmt.Errorf("unknown command %q", args)
}

// childExtraCmds are commands of a child node added by other test files
// (the extras of the randomized test), by name.
var childExtraCmds = map[string]func(ch *childCmds, args []string) (string, error){}

// node is a child node seen from the parent.
type node struct {
	t      testing.TB
	label  string
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	done   chan struct{}
	killed bool
	logs   *logBuffer

	mu         sync.Mutex
	nextID     int
	replies    map[string]chan reply
	events     []string
	seenEvents int      // events newEvents returned (random_test.go)
	seenLogs   int      // log bytes newConflicts read
	resolves   []string // the custom resolver's "RS " lines, without the prefix

	// local runs the commands of a node of this process (random_net_test.go's
	// memory mode) instead of a child's: no cmd, stdin or reader then.
	local func(args []string) (string, error)
}

// startNode runs a child node labelled label ("a") with env settings.
func startNode(t testing.TB, label string, env ...string) *node {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+label, "GORACE=atexit_sleep_ms=0"), env...)
	n := &node{t: t, label: label, cmd: cmd, done: make(chan struct{}), logs: &logBuffer{}, replies: map[string]chan reply{}}
	cmd.Stderr = n.logs
	var err error
	if n.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", label, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "READY "):
				ready <- strings.TrimPrefix(line, "READY ")
			case strings.HasPrefix(line, "EV "):
				n.mu.Lock()
				n.events = append(n.events, strings.TrimPrefix(line, "EV "))
				n.mu.Unlock()
			case strings.HasPrefix(line, "RS "):
				n.mu.Lock()
				n.resolves = append(n.resolves, strings.TrimPrefix(line, "RS "))
				n.mu.Unlock()
			case strings.HasPrefix(line, "R "):
				id, rest, _ := strings.Cut(strings.TrimPrefix(line, "R "), " ")
				n.mu.Lock()
				ch := n.replies[id]
				delete(n.replies, id)
				before := len(n.events)
				n.mu.Unlock()
				if ch != nil {
					ch <- reply{rest, before}
				}
			}
		}
		_ = cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			n.mu.Lock()
			t.Logf("events of node %s:\n%s", n.label, strings.Join(n.events, "\n"))
			n.mu.Unlock()
			t.Logf("log of node %s (%s):\n%s", n.label, n.name, n.logs.String())
		}
	})
	select {
	case n.name = <-ready:
	case <-n.done:
		t.Fatalf("node %s exited before it was ready:\n%s", label, n.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("node %s not ready in 60s", label)
	}
	return n
}

// reply is a child's reply to a command and how many event lines the
// child printed before it.
type reply struct {
	text   string
	events int
}

// do runs a command on the node and returns its reply ("OK ..." or
// "ERR ..."), failing the test if none comes.
func (n *node) do(format string, args ...any) string {
	n.t.Helper()
	r, _ := n.doAt(format, args...)
	return r
}

// doAt is do that also returns the node's event lines up to its reply:
// those the child printed before it, not those that came after (a child
// prints its callbacks and replies on one stream, in order).
func (n *node) doAt(format string, args ...any) (string, []string) {
	n.t.Helper()
	r, events, err := n.tryAt(format, args...)
	if err != nil {
		n.t.Fatal(err)
	}
	return r, events
}

// try is do for any goroutine: where do fails the test, it returns an
// error (t.Fatal must be called on the test's goroutine only; called on
// another, it ends that goroutine and leaves the test waiting for it).
func (n *node) try(format string, args ...any) (string, error) {
	r, _, err := n.tryAt(format, args...)
	return r, err
}

// tryAt is try that also returns the event lines up to the reply (doAt).
func (n *node) tryAt(format string, args ...any) (string, []string, error) {
	if n.local != nil {
		res, err := n.local(strings.Fields(fmt.Sprintf(format, args...)))
		events := n.eventLog()
		if err != nil {
			return "ERR " + err.Error(), events, nil
		}
		return "OK " + res, events, nil
	}
	n.mu.Lock()
	n.nextID++
	id := strconv.Itoa(n.nextID)
	ch := make(chan reply, 1)
	n.replies[id] = ch
	n.mu.Unlock()
	if _, err := fmt.Fprintf(n.stdin, "%s %s\n", id, fmt.Sprintf(format, args...)); err != nil {
		return "", nil, fmt.Errorf("node %s: send command: %v", n.label, err)
	}
	select {
	case r := <-ch:
		n.mu.Lock()
		defer n.mu.Unlock()
		return r.text, append([]string(nil), n.events[:r.events]...), nil
	case <-n.done:
		return "", nil, fmt.Errorf("node %s exited during %q", n.label, fmt.Sprintf(format, args...))
	case <-time.After(60 * time.Second):
		return "", nil, fmt.Errorf("node %s: no reply to %q", n.label, fmt.Sprintf(format, args...))
	}
}

// okAsync starts ok's command on a goroutine of its own and returns what
// waits for its reply, on the test's goroutine, failing the test as ok
// does.
func (n *node) okAsync(format string, args ...any) func() string {
	cmd := fmt.Sprintf(format, args...)
	type reply struct {
		r   string
		err error
	}
	ch := make(chan reply, 1)
	go func() {
		r, err := n.try("%s", cmd)
		ch <- reply{r, err}
	}()
	return func() string {
		n.t.Helper()
		x := <-ch
		if x.err != nil {
			n.t.Fatal(x.err)
		}
		rest, found := strings.CutPrefix(x.r, "OK")
		if !found {
			n.t.Fatalf("node %s: %q: %s", n.label, cmd, x.r)
		}
		return strings.TrimSpace(rest)
	}
}

// ok is do that fails the test unless the reply is OK; it returns the
// rest of the reply.
func (n *node) ok(format string, args ...any) string {
	n.t.Helper()
	r := n.do(format, args...)
	rest, found := strings.CutPrefix(r, "OK")
	if !found {
		n.t.Fatalf("node %s: %q: %s", n.label, fmt.Sprintf(format, args...), r)
	}
	return strings.TrimSpace(rest)
}

// hasEvent reports whether the node printed an event line containing
// every one of parts.
func (n *node) hasEvent(parts ...string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.events {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(e, p)
		}
		if all {
			return true
		}
	}
	return false
}

func (n *node) eventLog() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.events...)
}

// stop ends the node cleanly (closing its stdin) unless it was killed.
func (n *node) stop() {
	if n.local != nil {
		return // its cluster stops it
	}
	_ = n.stdin.Close()
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
		n.t.Errorf("node %s did not stop within 30 s and was killed", n.label)
		return
	}
	if !n.killed {
		if code := n.cmd.ProcessState.ExitCode(); code != 0 {
			n.t.Errorf("node %s stopped with exit code %d", n.label, code)
		}
	}
}

// kill9 ends the node with SIGKILL and waits for it.
func (n *node) kill9() {
	n.killed = true
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// logBuffer keeps what a child writes on stderr.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) < 16<<20 {
		b.buf = append(b.buf, p...)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Package harness runs the common workloads against one system and prints the
// results as JSON lines (metrics.Line) on stdout. A system program fills a
// System with the operations its runtime offers; the harness owns every
// timing loop, so each system is measured the same way with the same counts.
package harness

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arbor-otp/arbor/bench/internal/metrics"
)

// Counts are the sizes of every workload; both modes use the same counts for
// every system.
type Counts struct {
	Calls        int // (a) round trips from one caller
	Casts        int // (b, c) messages per cast run
	Spawns       int // (d) idle servers alive at once (heap per server)
	SpawnStops   int // (d) spawn+stop cycles
	Restarts     int // (e) kills of a supervised child
	Names        int // (f) names registered
	Groups       int // (f) groups joined
	GroupSize    int // (f) members per group
	MembersCalls int // (f) Members calls on a full group
	Publishes    int // (f) publishes to a full group
	RemoteCalls  int // (g) round trips across nodes
	RemoteSends  int // (g) one-way sends across nodes
}

// Full are the counts of a full run.
var Full = Counts{
	Calls: 50_000, Casts: 1_000_000, Spawns: 100_000, SpawnStops: 20_000,
	Restarts: 1000, Names: 100_000, Groups: 10, GroupSize: 1000,
	MembersCalls: 10_000, Publishes: 1000, RemoteCalls: 10_000, RemoteSends: 100_000,
}

// Quick are the counts of a quick run (CI): enough to exercise every path.
var Quick = Counts{
	Calls: 1000, Casts: 10_000, Spawns: 1000, SpawnStops: 200,
	Restarts: 20, Names: 1000, Groups: 2, GroupSize: 100,
	MembersCalls: 100, Publishes: 10, RemoteCalls: 200, RemoteSends: 2000,
}

// ErrUnsupported, wrapped with a reason, makes one metric n/a.
var ErrUnsupported = errors.New("not supported")

// CallServer is a server answering calls, used from one caller goroutine.
type CallServer interface {
	Call(i int) error
	Close()
}

// CastServer counts the messages it processes; Send is safe from several
// goroutines; Wait returns once total messages were processed.
type CastServer interface {
	Send(producer, i int) error
	Wait() error
	Close()
}

// Spawner spawns idle servers that have run their initialisation. A system
// whose spawn returns before the server is initialised reports it through
// WaitInitialised; one whose stop returns before the server is gone reports
// it through WaitStopped (both count since the Spawner was made).
type Spawner interface {
	SpawnIdle() (any, error)
	WaitInitialised(n int) error
	Stop(h any) error
	WaitStopped(n int) error
	Close()
}

// Restarter is a one_for_one supervisor with one child answering calls.
// Current returns the child's handle; TryCall finds the child now supervised
// and calls it, reporting whether a process other than old answered.
type Restarter interface {
	Current() (any, error)
	Kill(h any) error
	TryCall(old any) (any, bool)
	Close()
}

// Names registers n prepared processes under n names.
type Names interface {
	Register(i int) error
	Lookup(i int) error // must check the process found is the one registered
	Unregister(i int) error
	Close()
}

// Groups has Groups*GroupSize prepared member processes; Publish returns once
// every member of the group has received the message.
type Groups interface {
	Join(g, i int) error
	Members(g int) (int, error)
	Leave(g, i int) error
	Publish(g int) error
	Close()
}

// RemoteClient talks to the peer node started by the harness.
type RemoteClient interface {
	Call(i int) error
	Send(i int) error
	WaitReceived(n int) error
	Close()
}

// System is what a system program provides. A nil constructor makes the
// group's metrics n/a with the reason in NA[group].
type System struct {
	Name    string
	Modules []string // modules whose versions are reported
	Setting []string // fair-comparison settings, reported verbatim
	NA      map[string]string

	Call    func() (CallServer, error)
	Cast    func(total int) (CastServer, error)
	Spawn   func() (Spawner, error)
	Restart func() (Restarter, error)
	Names   func(n int) (Names, error)
	Groups  func(groups, size int) (Groups, error)
	// Peer serves the remote workload on the peer side until the process is
	// killed; Remote connects the measuring side. Ports are loopback TCP.
	Peer   func(selfPort, otherPort int) error
	Remote func(selfPort, otherPort int) (RemoteClient, error)
	// Exec, when set, runs each workload group inside f's caller's process
	// context (for runtimes whose calls can only be made from a process).
	Exec func(f func()) error
	// Cleanup runs once at exit.
	Cleanup func()
}

var (
	outMu sync.Mutex
	enc   = json.NewEncoder(os.Stdout)
)

func emit(l metrics.Line) {
	outMu.Lock()
	defer outMu.Unlock()
	_ = enc.Encode(l)
}

// Main parses the flags, runs the selected groups and exits.
func Main(s System) {
	quick := flag.Bool("quick", false, "tiny counts")
	only := flag.String("only", "", "comma-separated groups to run (default all)")
	peer := flag.Bool("peer", false, "internal: run as the remote peer")
	selfPort := flag.Int("port", 0, "internal: peer listen port")
	otherPort := flag.Int("other", 0, "internal: measuring side's port")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile of the measured run")
	flag.Parse()

	if *peer {
		if err := s.Peer(*selfPort, *otherPort); err != nil {
			fmt.Fprintln(os.Stderr, "peer:", err)
			os.Exit(1)
		}
		return
	}
	c := Full
	if *quick {
		c = Quick
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
		}
	}
	r := &runner{s: s, c: c}
	r.info()
	want := map[string]bool{}
	for _, g := range strings.Split(*only, ",") {
		if g != "" {
			want[g] = true
		}
	}
	for _, g := range metrics.Groups {
		if len(want) > 0 && !want[g] {
			continue
		}
		if s.Exec != nil {
			if err := s.Exec(func() { r.group(g) }); err != nil {
				r.naGroup(g, "error: "+err.Error())
			}
			continue
		}
		r.group(g)
	}
	if s.Cleanup != nil {
		s.Cleanup()
	}
}

type runner struct {
	s System
	c Counts
}

func (r *runner) info() {
	emit(metrics.Line{System: r.s.Name, Info: "go", Text: runtime.Version()})
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			for _, m := range r.s.Modules {
				if d.Path == m {
					v := d.Version
					if d.Replace != nil {
						v = d.Replace.Path + " " + d.Replace.Version
						if d.Replace.Version == "" {
							v = d.Replace.Path + " (local)"
						}
					}
					emit(metrics.Line{System: r.s.Name, Info: "version", Text: m + " " + v})
				}
			}
		}
	}
	for _, st := range r.s.Setting {
		emit(metrics.Line{System: r.s.Name, Info: "setting", Text: st})
	}
}

func (r *runner) value(metric string, v float64) {
	emit(metrics.Line{System: r.s.Name, Metric: metric, Value: v})
}

// na marks every metric of group g (or one metric) as not available.
func (r *runner) naGroup(g, reason string) {
	for _, m := range metrics.InGroup(g) {
		r.na(m.Name, reason)
	}
}

func (r *runner) na(metric, reason string) {
	emit(metrics.Line{System: r.s.Name, Metric: metric, NA: reason})
}

func (r *runner) group(g string) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "panic in %s: %v\n%s", g, p, debug.Stack())
			r.naGroup(g, fmt.Sprintf("panic: %v", p))
		}
	}()
	reason := r.s.NA[g]
	var err error
	switch g {
	case "call":
		if r.s.Call == nil {
			break
		}
		err = r.call()
	case "cast":
		if r.s.Cast == nil {
			break
		}
		err = r.cast()
	case "spawn":
		if r.s.Spawn == nil {
			break
		}
		err = r.spawn()
	case "restart":
		if r.s.Restart == nil {
			break
		}
		err = r.restart()
	case "registry":
		r.registry()
		return
	case "remote":
		if r.s.Remote == nil {
			break
		}
		err = r.remote()
	default:
		return
	}
	switch {
	case err != nil:
		r.naGroup(g, "error: "+err.Error())
	case reason != "":
		r.naGroup(g, reason)
	}
	runtime.GC()
}

func gc() {
	runtime.GC()
	runtime.GC()
}

func pct(samples []time.Duration, p int) float64 {
	slices.Sort(samples)
	i := len(samples) * p / 100
	if i >= len(samples) {
		i = len(samples) - 1
	}
	return float64(samples[i].Nanoseconds())
}

func (r *runner) call() error {
	srv, err := r.s.Call()
	if err != nil {
		return err
	}
	defer srv.Close()
	// warm-up: 5% of the calls, not measured
	for i := 0; i < r.c.Calls/20; i++ {
		if err := srv.Call(i); err != nil {
			return err
		}
	}
	gc()
	samples := make([]time.Duration, r.c.Calls)
	start := time.Now()
	for i := range samples {
		t0 := time.Now()
		if err := srv.Call(i); err != nil {
			return err
		}
		samples[i] = time.Since(t0)
	}
	el := time.Since(start)
	r.value("call_rate", float64(r.c.Calls)/el.Seconds())
	r.value("call_p50", pct(samples, 50))
	r.value("call_p99", pct(samples, 99))
	return nil
}

func (r *runner) cast() error {
	for _, producers := range []int{1, 4} {
		gc()
		srv, err := r.s.Cast(r.c.Casts)
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make(chan error, producers)
		start := time.Now()
		for p := 0; p < producers; p++ {
			share := r.c.Casts / producers
			if p == 0 {
				share += r.c.Casts % producers
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < share; i++ {
					if err := srv.Send(p, i); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-errs:
			srv.Close()
			return err
		default:
		}
		if err := srv.Wait(); err != nil {
			srv.Close()
			return err
		}
		el := time.Since(start)
		srv.Close()
		name := "cast_1to1"
		if producers == 4 {
			name = "cast_4to1"
		}
		r.value(name, float64(r.c.Casts)/el.Seconds())
	}
	return nil
}

func memNow() uint64 {
	gc()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

func (r *runner) spawn() error {
	sp, err := r.s.Spawn()
	if err != nil {
		return err
	}
	defer sp.Close()
	n := r.c.Spawns
	hs := make([]any, n)
	before := memNow()
	start := time.Now()
	for i := range hs {
		if hs[i], err = sp.SpawnIdle(); err != nil {
			return fmt.Errorf("spawn %d: %w", i, err)
		}
	}
	if err := sp.WaitInitialised(n); err != nil {
		return err
	}
	el := time.Since(start)
	after := memNow()
	r.value("spawn_rate", float64(n)/el.Seconds())
	r.value("idle_bytes", float64(int64(after)-int64(before))/float64(n))
	for _, h := range hs {
		if err := sp.Stop(h); err != nil {
			return fmt.Errorf("stop: %w", err)
		}
	}
	if err := sp.WaitStopped(n); err != nil {
		return err
	}
	clear(hs)
	gc()
	m := r.c.SpawnStops
	start = time.Now()
	for i := 0; i < m; i++ {
		h, err := sp.SpawnIdle()
		if err != nil {
			return fmt.Errorf("spawn: %w", err)
		}
		if err := sp.Stop(h); err != nil {
			return fmt.Errorf("stop: %w", err)
		}
	}
	if err := sp.WaitInitialised(n + m); err != nil {
		return err
	}
	if err := sp.WaitStopped(n + m); err != nil {
		return err
	}
	r.value("spawn_stop_rate", float64(m)/time.Since(start).Seconds())
	return nil
}

// RestartDeadline bounds the wait for one replacement.
const RestartDeadline = 5 * time.Second

func (r *runner) restart() error {
	rs, err := r.s.Restart()
	if err != nil {
		return err
	}
	defer rs.Close()
	cur, err := rs.Current()
	if err != nil {
		return err
	}
	samples := make([]time.Duration, 0, r.c.Restarts)
	lost := 0
	for i := 0; i < r.c.Restarts; i++ {
		t0 := time.Now()
		if err := rs.Kill(cur); err != nil {
			return fmt.Errorf("kill: %w", err)
		}
		for {
			nh, ok := rs.TryCall(cur)
			if ok {
				samples = append(samples, time.Since(t0))
				cur = nh
				break
			}
			if time.Since(t0) > RestartDeadline {
				lost++
				if cur, err = rs.Current(); err != nil {
					lost += r.c.Restarts - i - 1
					i = r.c.Restarts
				}
				break
			}
			runtime.Gosched()
		}
	}
	if len(samples) > 0 {
		r.value("restart_p50", pct(samples, 50))
		r.value("restart_p99", pct(samples, 99))
	}
	emit(metrics.Line{System: r.s.Name, Metric: "restart_lost", Value: float64(lost)})
	if lost > 0 && lost == r.c.Restarts {
		return errors.New("no restart observed")
	}
	return nil
}

func rate(n int, f func(i int) error) (float64, error) {
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := f(i); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func (r *runner) registry() {
	if r.s.Names == nil {
		for _, m := range []string{"name_register", "name_lookup", "name_unregister"} {
			r.na(m, r.s.NA["names"])
		}
	} else if err := r.names(); err != nil {
		for _, m := range []string{"name_register", "name_lookup", "name_unregister"} {
			r.na(m, "error: "+err.Error())
		}
	}
	gc()
	gm := []string{"group_join", "group_members", "group_leave", "group_publish"}
	if r.s.Groups == nil {
		for _, m := range gm {
			r.na(m, r.s.NA["groups"])
		}
	} else if err := r.groups(); err != nil {
		for _, m := range gm {
			r.na(m, "error: "+err.Error())
		}
	}
}

func (r *runner) names() error {
	nm, err := r.s.Names(r.c.Names)
	if err != nil {
		return err
	}
	defer nm.Close()
	gc()
	v, err := rate(r.c.Names, nm.Register)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	r.value("name_register", v)
	if v, err = rate(r.c.Names, nm.Lookup); errors.Is(err, ErrUnsupported) {
		r.na("name_lookup", err.Error())
	} else if err != nil {
		return fmt.Errorf("lookup: %w", err)
	} else {
		r.value("name_lookup", v)
	}
	if v, err = rate(r.c.Names, nm.Unregister); err != nil {
		return fmt.Errorf("unregister: %w", err)
	}
	r.value("name_unregister", v)
	return nil
}

func (r *runner) groups() error {
	gs, err := r.s.Groups(r.c.Groups, r.c.GroupSize)
	if err != nil {
		return err
	}
	defer gs.Close()
	gc()
	total := r.c.Groups * r.c.GroupSize
	v, err := rate(total, func(i int) error { return gs.Join(i/r.c.GroupSize, i%r.c.GroupSize) })
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	r.value("group_join", v)
	v, err = rate(r.c.MembersCalls, func(i int) error {
		n, err := gs.Members(i % r.c.Groups)
		if err == nil && n != r.c.GroupSize {
			err = fmt.Errorf("members: got %d, want %d", n, r.c.GroupSize)
		}
		return err
	})
	if err != nil {
		return err
	}
	r.value("group_members", v)
	start := time.Now()
	for i := 0; i < r.c.Publishes; i++ {
		if err := gs.Publish(i % r.c.Groups); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	r.value("group_publish", float64(time.Since(start).Nanoseconds())/float64(r.c.Publishes))
	if v, err = rate(total, func(i int) error { return gs.Leave(i/r.c.GroupSize, i%r.c.GroupSize) }); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	r.value("group_leave", v)
	return nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (r *runner) remote() error {
	self, err := FreePort()
	if err != nil {
		return err
	}
	other, err := FreePort()
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "-peer", "-port", strconv.Itoa(other), "-other", strconv.Itoa(self))
	cmd.Stderr = os.Stderr
	cmd.Stdout = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	cl, err := r.s.Remote(self, other)
	if err != nil {
		return err
	}
	defer cl.Close()
	for i := 0; i < r.c.RemoteCalls/20; i++ {
		if err := cl.Call(i); err != nil {
			return fmt.Errorf("warm-up call: %w", err)
		}
	}
	samples := make([]time.Duration, r.c.RemoteCalls)
	start := time.Now()
	for i := range samples {
		t0 := time.Now()
		if err := cl.Call(i); err != nil {
			return fmt.Errorf("call: %w", err)
		}
		samples[i] = time.Since(t0)
	}
	el := time.Since(start)
	r.value("remote_call_rate", float64(r.c.RemoteCalls)/el.Seconds())
	r.value("remote_call_p50", pct(samples, 50))
	r.value("remote_call_p99", pct(samples, 99))
	start = time.Now()
	for i := 0; i < r.c.RemoteSends; i++ {
		if err := cl.Send(i); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	if err := cl.WaitReceived(r.c.RemoteSends); err != nil {
		return err
	}
	r.value("remote_send_rate", float64(r.c.RemoteSends)/time.Since(start).Seconds())
	return nil
}

// Until polls cond (yielding) until it holds or d passes.
func Until(d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Microsecond)
	}
	return nil
}

// Countdown is a counter that closes Done when it reaches its target.
type Countdown struct {
	mu     sync.Mutex
	left   int
	Done   chan struct{}
	closed bool
}

// NewCountdown returns a Countdown for n events.
func NewCountdown(n int) *Countdown {
	c := &Countdown{left: n, Done: make(chan struct{})}
	if n <= 0 {
		close(c.Done)
		c.closed = true
	}
	return c
}

// Wait waits for Done or times out.
func (c *Countdown) Wait(d time.Duration) error {
	select {
	case <-c.Done:
		return nil
	case <-time.After(d):
		return fmt.Errorf("timed out after %v", d)
	}
}

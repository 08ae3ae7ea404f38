package singleton_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/consul"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/supervision"
)

// Tests that kill or freeze a holder run each holder in a child process:
// the test binary again, with childEnv naming the holder.
const childEnv = "ARBOR_SINGLETON_TEST_CHILD"

// workEvery is how often a child process's singleton child writes.
const workEvery = 20 * time.Millisecond

// runChild is the main of a holder process: a node with a supervisor over
// a lock singleton whose child prints "start|work|stop TOKEN UNIXNANO"
// lines on stdout. It works every workEvery, each time right after
// FencingToken said the lock is held, and stamps the line with the time
// read before that check. It stops when stdin closes.
func runChild() int {
	name := os.Getenv(childEnv)
	log := zerolog.New(os.Stderr).With().Timestamp().Logger()
	node := actor.NewNode(actor.WithNodeName(name), actor.WithLogger(log))
	locker, err := consul.NewLocker(consul.WithLockAddress(os.Getenv("CONSUL_ADDR")), consul.WithLockHolder(name),
		consul.WithLockTTL(envDuration(lockTTLEnv, testTTL)), consul.WithLockDelay(envDuration(lockDelayEnv, testDelay)),
		consul.WithLockWaitTime(time.Second),
		consul.WithLockLogger(log))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mu sync.Mutex
	out := func(kind string, tok uint64, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, "%s %d %d\n", kind, tok, at.UnixNano())
	}
	child := supervision.ChildSpec{
		ID:       os.Getenv("KEY"),
		Shutdown: supervision.Timeout(time.Second),
		Start: func(ctx *actor.Context) (actor.PID, error) {
			return ctx.SpawnLink(&printer{out: out})
		},
	}
	sup, err := supervision.Start(node, []supervision.ChildSpec{singleton.Spec(child, singleton.WithLock(locker))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = supervision.Stop(ctx, node, sup)
	_ = node.Stop(ctx)
	return 0
}

// lockTTLEnv and lockDelayEnv override the holder processes' TTL and
// lock-delay (for make failover TTL=10s DELAY=2s, the defaults).
const (
	lockTTLEnv   = "ARBOR_SINGLETON_LOCK_TTL"
	lockDelayEnv = "ARBOR_SINGLETON_LOCK_DELAY"
)

// envDuration reads a duration from the environment, def if unset or bad.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

type tick struct{}

// printer is the singleton child of a holder process.
type printer struct {
	out   func(kind string, tok uint64, at time.Time)
	token uint64
}

func (p *printer) Init(ctx *actor.Context) error {
	ctx.TrapExit(true)
	tok, err := singleton.FencingToken(ctx)
	if err != nil {
		return err
	}
	p.token = tok
	p.out("start", tok, time.Now())
	ctx.SendAfter(ctx.Self(), tick{}, workEvery)
	return nil
}

func (p *printer) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case tick:
		at := time.Now()
		if tok, err := singleton.FencingToken(ctx); err == nil {
			p.out("work", tok, at)
		}
		ctx.SendAfter(ctx.Self(), tick{}, workEvery)
	case actor.Exit:
		if m.From == ctx.Parent() {
			p.out("stop", p.token, time.Now())
			return m.Reason
		}
	}
	return nil
}

// line is one line of a holder process, as the test read it.
type line struct {
	holder string
	kind   string
	token  uint64
	at     time.Time // stamped by the child
}

// proc is a holder process.
type proc struct {
	name  string
	cmd   *exec.Cmd
	lines chan line
	done  <-chan struct{}
}

func startProc(t *testing.T, consulAddr, name, key string) *proc {
	t.Helper()
	p := &proc{name: name, lines: make(chan line, 10000)}
	c := testkit.StartChild(t, name, testkit.ChildCommand(childEnv, name, "CONSUL_ADDR="+consulAddr, "KEY="+key), func(s string) {
		f := strings.Fields(s)
		if len(f) != 3 {
			return
		}
		tok, _ := strconv.ParseUint(f[1], 10, 64)
		ns, _ := strconv.ParseInt(f[2], 10, 64)
		p.lines <- line{holder: name, kind: f[0], token: tok, at: time.Unix(0, ns)}
	})
	p.cmd, p.done = c.Cmd, c.Done()
	// A holder stops within its supervisor's 20 s and its node's stop: it
	// gets 30 s before it is killed, as a failure of the test it is not.
	t.Cleanup(func() { c.Stop(30 * time.Second) })
	return p
}

// await returns p's next line of kind, skipping others (kept in seen).
func (p *proc) await(t *testing.T, kind string, within time.Duration, seen *[]line) line {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l := <-p.lines:
			*seen = append(*seen, l)
			if l.kind == kind {
				return l
			}
		case <-deadline:
			t.Fatalf("%s: no %q line within %v", p.name, kind, within)
		}
	}
}

// drain takes p's lines queued right now.
func (p *proc) drain(seen *[]line) {
	for {
		select {
		case l := <-p.lines:
			*seen = append(*seen, l)
		default:
			return
		}
	}
}

package cluster_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// A test that needs several nodes runs each extra node in a child process:
// the test binary run again with childEnv set. One node per OS process is
// the rule (protoactor's remote writes gRPC's global logger when it
// starts), and kill -9 and SIGSTOP need processes anyway.
const childEnv = "ARBOR_CLUSTER_TEST_CHILD"

// runChild is the main of a child node. It starts a node named by the
// environment, registers "ctl" (see ctl) and prints "READY name" on
// stdout; it stops when stdin closes.
func runChild() {
	opts := []cluster.Option{
		// Everything goes to stderr, which the parent keeps and shows
		// when the test fails (startChild).
		cluster.WithLogger(zerolog.New(os.Stderr).Level(zerolog.DebugLevel).With().Timestamp().Logger()),
	}
	if os.Getenv("CHILD_DEFAULTS") == "" {
		interval, timeout := 100*time.Millisecond, testHeartbeatTimeout
		if d, err := time.ParseDuration(os.Getenv("CHILD_HEARTBEAT_INTERVAL")); err == nil {
			interval = d
		}
		if d, err := time.ParseDuration(os.Getenv("CHILD_HEARTBEAT_TIMEOUT")); err == nil {
			timeout = d
		}
		opts = append(opts,
			cluster.WithHeartbeat(interval, timeout),
			cluster.WithReconnectInterval(100*time.Millisecond),
			cluster.WithConnectTimeout(time.Second))
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
	if routes := os.Getenv("CHILD_PEERADDRS"); routes != "" { // name=addr,...
		for _, r := range strings.Split(routes, ",") {
			peer, addr, _ := strings.Cut(r, "=")
			opts = append(opts, cluster.WithPeerAddr(peer, addr))
		}
	}
	opts = append(opts, traceChildOptions()...) // telemetry_test.go
	ctx := context.Background()
	c, err := cluster.Start(ctx, os.Getenv(childEnv), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(2)
	}
	childCluster = c
	if _, err := c.Node().Spawn(ctl{}, actor.WithName("ctl")); err != nil {
		fmt.Fprintln(os.Stderr, "spawn ctl:", err)
		os.Exit(2)
	}
	if err := startHop(c); err != nil {
		fmt.Fprintln(os.Stderr, "spawn hop:", err)
		os.Exit(2)
	}
	if os.Getenv("CHILD_EVENTS") != "" {
		printNodeEvents(ctx, c)
	}
	fmt.Printf("READY %s\n", c.Name())
	_, _ = io.Copy(io.Discard, os.Stdin)
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := c.Stop(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
		os.Exit(1)
	}
}

// printNodeEvents prints the child's NodeUp and NodeDown events on stdout,
// as "EVENT up name" and "EVENT down name reason" lines.
func printNodeEvents(ctx context.Context, c *cluster.Cluster) {
	ib, err := c.Node().NewInbox()
	if err == nil {
		err = c.MonitorNodes(ib.PID(), true)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "monitor nodes:", err)
		os.Exit(2)
	}
	go func() {
		for {
			m, err := ib.Receive(ctx)
			if err != nil {
				return
			}
			switch e := m.(type) {
			case cluster.NodeUp:
				fmt.Printf("EVENT up %s\n", e.Node)
			case cluster.NodeDown:
				fmt.Printf("EVENT down %s %v\n", e.Node, e.Reason)
			}
		}
	}()
}

// childCluster is the child's node, for ctl.
var childCluster *cluster.Cluster

// ctl is the child's control process. Calls:
//   - "spawn": spawn a ctl worker and reply with its PID (MarshalPID);
//   - "die": exit with reason "asked to die";
//   - "dropped": reply with the node's Stats().Dropped (Int64Value);
//   - "huge": reply with a string over cluster.MaxMessageBytes;
//   - "relay "+base64(pid): spawn a process that forwards every Int64Value
//     it gets to pid, and reply with its PID;
//   - "stream "+base64(pid): spawn a process that sends 1, 2, 3, ... as
//     Int64Values to pid, one every 2 ms, and reply "streaming";
//   - "recorder "+base64(pid): start a recorder GenServer (cast_test.go)
//     registered as "recorder" that reports to pid, and reply with its
//     PID;
//   - "proto "+...: protoactor actors (protoCtl in protoactor_test.go);
//   - "delay "+duration: print "EVENT delayed ctl" on stdout and reply
//     "delayed" after the duration (callpool_test.go);
//   - "counter": spawn a process that counts the messages it gets and
//     answers every call with the count, and reply with its PID;
//   - "callback "+base64(pid): call pid (from ctl, so on the session's
//     stream) with "back" and reply with its answer (callinline_test.go);
//   - BytesValue(pid): send "hi" to pid, reply "sent";
//   - anything else: reply with the request.
//
// A BytesValue(pid) message makes it send "hi" to pid.
type ctl struct{}

func (ctl) Receive(ctx *actor.Context, msg any) error {
	switch m := msg.(type) {
	case *actor.Request:
		switch r := m.Message().(type) {
		case *wrapperspb.StringValue:
			switch r.Value {
			case "spawn":
				pid, err := ctx.Spawn(ctl{})
				if err != nil {
					return err
				}
				m.Reply(wrapperspb.Bytes(cluster.MarshalPID(pid)))
				return nil
			case "die":
				return errors.New("asked to die")
			case "dropped":
				m.Reply(wrapperspb.Int64(int64(childCluster.Stats().Dropped)))
				return nil
			case "huge":
				m.Reply(wrapperspb.String(strings.Repeat("x", cluster.MaxMessageBytes+1)))
				return nil
			}
			if arg, ok := strings.CutPrefix(r.Value, "proto "); ok {
				return protoCtl(ctx, m, arg) // protoactor_test.go
			}
			if arg, ok := strings.CutPrefix(r.Value, "delay "); ok {
				d, err := time.ParseDuration(arg)
				if err != nil {
					return err
				}
				fmt.Println("EVENT delayed ctl")
				time.AfterFunc(d, func() { m.Reply(wrapperspb.String("delayed")) })
				return nil
			}
			if r.Value == "counter" {
				var n int64
				pid, err := ctx.Spawn(actor.ReceiverFunc(func(_ *actor.Context, msg any) error {
					if r, ok := msg.(*actor.Request); ok {
						r.Reply(wrapperspb.Int64(n))
					} else {
						n++
					}
					return nil
				}))
				if err != nil {
					return err
				}
				m.Reply(wrapperspb.Bytes(cluster.MarshalPID(pid)))
				return nil
			}
			if arg, ok := strings.CutPrefix(r.Value, "relay "); ok {
				to, err := decodePIDArg(arg)
				if err != nil {
					return err
				}
				pid, err := ctx.Spawn(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
					if v, ok := msg.(*wrapperspb.Int64Value); ok {
						_ = c.Send(to, v)
					}
					return nil
				}))
				if err != nil {
					return err
				}
				m.Reply(wrapperspb.Bytes(cluster.MarshalPID(pid)))
				return nil
			}
			if arg, ok := strings.CutPrefix(r.Value, "recorder "); ok {
				to, err := decodePIDArg(arg)
				if err != nil {
					return err
				}
				pid, err := behaviour.Start[actor.PID](ctx.Node(), recorder{to: to}, behaviour.WithName("recorder"))
				if err != nil {
					return err
				}
				m.Reply(wrapperspb.Bytes(cluster.MarshalPID(pid)))
				return nil
			}
			if arg, ok := strings.CutPrefix(r.Value, "callback "); ok {
				to, err := decodePIDArg(arg)
				if err != nil {
					return err
				}
				v, err := actor.Call(ctx, to, wrapperspb.String("back"))
				if err != nil {
					return err
				}
				m.Reply(v)
				return nil
			}
			if arg, ok := strings.CutPrefix(r.Value, "stream "); ok {
				to, err := decodePIDArg(arg)
				if err != nil {
					return err
				}
				if _, err := ctx.Spawn(&streamer{to: to}); err != nil {
					return err
				}
				m.Reply(wrapperspb.String("streaming"))
				return nil
			}
		case *wrapperspb.BytesValue:
			pid, err := cluster.UnmarshalPID(r.Value)
			if err != nil {
				return err
			}
			_ = ctx.Send(pid, wrapperspb.String("hi"))
			m.Reply(wrapperspb.String("sent"))
			return nil
		}
		m.Reply(m.Message())
	case *wrapperspb.BytesValue:
		if pid, err := cluster.UnmarshalPID(m.Value); err == nil {
			_ = ctx.Send(pid, wrapperspb.String("hi"))
		}
	}
	return nil
}

func decodePIDArg(s string) (actor.PID, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return actor.PID{}, err
	}
	return cluster.UnmarshalPID(b)
}

// pidArg encodes a PID for ctl's "relay" and "stream" calls.
func pidArg(pid actor.PID) string { return base64.StdEncoding.EncodeToString(cluster.MarshalPID(pid)) }

// streamer sends numbered messages to a process, one every 2 ms.
type streamer struct {
	to actor.PID
	n  int64
}

type streamTick struct{}

func (s *streamer) Init(ctx *actor.Context) error {
	ctx.SendAfter(ctx.Self(), streamTick{}, 2*time.Millisecond)
	return nil
}

func (s *streamer) Receive(ctx *actor.Context, msg any) error {
	if _, ok := msg.(streamTick); ok {
		s.n++
		_ = ctx.Send(s.to, wrapperspb.Int64(s.n))
		ctx.SendAfter(ctx.Self(), streamTick{}, 2*time.Millisecond)
	}
	return nil
}

// child is a node running in a child process.
type child struct {
	*testkit.Child
	t      testing.TB
	name   string             // the node's name, from its READY line
	events chan string        // "up name" and "down name reason", with CHILD_EVENTS=1
	logs   *testkit.LogBuffer // what the child wrote on stderr: its log, at debug level
}

// startChild runs a child node. env holds extra KEY=VALUE settings
// (CHILD_LISTEN, CHILD_ADVERTISE, CHILD_PEERS, CHILD_PEERADDRS (name=addr,...
// for WithPeerAddr), CHILD_EVENTS=1 to report
// the child's node events on c.events, CHILD_DEFAULTS=1 for the default
// failure detector instead of the tests' one (a heartbeat every 100 ms,
// testHeartbeatTimeout), CHILD_HEARTBEAT_TIMEOUT and
// CHILD_HEARTBEAT_INTERVAL for the tests' one with another timeout or
// interval: a test that measures how the children detect a fault between
// them sets a short timeout). The child's log is
// kept and shown if the test fails; a passing test stays quiet.
func startChild(t testing.TB, name string, env ...string) *child {
	t.Helper()
	c := &child{t: t, events: make(chan string, 1000)}
	ready := make(chan string, 1)
	c.Child = testkit.StartChild(t, name, testkit.ChildCommand(childEnv, name, env...), func(line string) {
		if n, ok := strings.CutPrefix(line, "READY "); ok {
			ready <- n
		}
		if e, ok := strings.CutPrefix(line, "EVENT "); ok {
			select {
			case c.events <- e:
			default:
			}
		}
	})
	c.logs = c.Log
	t.Cleanup(c.stop)
	c.name = testkit.AwaitReady(t, c.Child, ready, 30*time.Second)
	return c
}

// stop ends the child cleanly (closing its stdin) and waits for it; a
// frozen child is resumed first. A child that was not killed must stop
// cleanly and soon: one that does not end within 20 s is killed, and that
// or an unclean exit fails the test.
func (c *child) stop() {
	if !c.Stop(testkit.ChildStopWait) {
		c.t.Errorf("child %s did not stop within %v and was killed", c.name, testkit.ChildStopWait)
		return
	}
	if !c.Killed() {
		if code := c.ExitCode(); code != 0 {
			c.t.Errorf("child %s stopped with exit code %d", c.name, code)
		}
	}
}

// signal sends sig to the child.
func (c *child) signal(sig syscall.Signal) {
	c.t.Helper()
	c.Signal(sig)
}

// kill ends the child with SIGKILL and waits for it.
func (c *child) kill() {
	c.t.Helper()
	c.Kill()
}

// spawn asks the child's ctl to spawn a worker and returns its PID.
func (c *child) spawn(t testing.TB, from *cluster.Cluster) actor.PID {
	t.Helper()
	v, err := from.CallNamed(ctxT(t), c.name, "ctl", wrapperspb.String("spawn"))
	if err != nil {
		t.Fatalf("spawn on %s: %v", c.name, err)
	}
	pid, err := cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).Value)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// expectEvent waits for the child's next node event about node and checks
// that it is kind ("up" or "down"); it returns the rest of the line (the
// reason of a NodeDown).
func (c *child) expectEvent(t testing.TB, kind, node string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-c.events:
			f := strings.SplitN(e, " ", 3)
			if len(f) < 2 || f[1] != node {
				continue
			}
			if f[0] != kind {
				t.Fatalf("%s: event %q, want %s %s", c.name, e, kind, node)
			}
			if len(f) == 3 {
				return f[2]
			}
			return ""
		case <-deadline:
			t.Fatalf("%s: no %s event about %s within %v", c.name, kind, node, timeout)
			return ""
		}
	}
}

package sys_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/internal/testkit"
	"github.com/arbor-otp/arbor/registry"
	"github.com/arbor-otp/arbor/supervision"
	"github.com/arbor-otp/arbor/sys"
)

// The remote tests run a second node in a child process: the test binary
// run again with childEnv set (one cluster node per OS process).
const childEnv = "ARBOR_SYS_TEST_CHILD"

// runChild starts a node that serves remote sys, with two GenServers:
// "counter" (state a *wrapperspb.Int64Value: an Int64Value cast adds, any
// call returns the state) and "opaque" (state a Go int, which cannot
// cross). It prints "PID name base64" for each, then "READY node", logs
// to stderr, and stops when stdin closes.
func runChild() {
	log := zerolog.New(os.Stderr).With().Timestamp().Logger()
	c, err := cluster.Start(context.Background(), os.Getenv(childEnv), cluster.WithLogger(log))
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(2)
	}
	reg := registry.New(c.Node())
	if os.Getenv("CHILD_NO_SERVE") == "" {
		if err := sys.Serve(c, sys.ServeRegistry(reg)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	pc, err1 := behaviour.Start[*wrapperspb.Int64Value](c.Node(), protoCounter{})
	po, err2 := behaviour.Start[int](c.Node(), counter{})
	err3 := startChildListing(c.Node(), reg, pc)
	if err := errors.Join(err1, err2, err3); err != nil {
		fmt.Fprintln(os.Stderr, "start servers:", err)
		os.Exit(2)
	}
	fmt.Printf("PID counter %s\n", base64.StdEncoding.EncodeToString(cluster.MarshalPID(pc)))
	fmt.Printf("PID opaque %s\n", base64.StdEncoding.EncodeToString(cluster.MarshalPID(po)))
	fmt.Printf("READY %s\n", c.Name())
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = c.Stop(ctx)
}

// startChildListing gives the child what the listings show: an
// application "app" whose top supervisor runs a worker "w1", and a
// registry scope "web" where pid is registered as "counter" and joins the
// group "g".
func startChildListing(n *actor.Node, reg *registry.Registry, pid actor.PID) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ac, err := application.NewController(n)
	if err != nil {
		return err
	}
	if err := ac.Load(ctx, application.Spec{Name: "app", Module: application.StartFunc(
		func(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
			return supervision.StartLink(ctx, []supervision.ChildSpec{counterSpec("w1")})
		})}); err != nil {
		return err
	}
	if err := ac.Start(ctx, "app", application.Temporary); err != nil {
		return err
	}
	if err := reg.AddScope("web"); err != nil {
		return err
	}
	return errors.Join(reg.Register(ctx, "web", "counter", pid, nil), reg.Join(ctx, "web", "g", pid, nil))
}

type protoCounter struct{}

func (protoCounter) Init(*actor.Context) (*wrapperspb.Int64Value, error) {
	return wrapperspb.Int64(0), nil
}

func (protoCounter) HandleCall(_ *actor.Context, _ behaviour.From, _ any, s *wrapperspb.Int64Value) behaviour.Result[*wrapperspb.Int64Value] {
	return behaviour.Reply(s, s)
}

func (protoCounter) HandleCast(_ *actor.Context, msg any, s *wrapperspb.Int64Value) behaviour.Result[*wrapperspb.Int64Value] {
	if d, ok := msg.(*wrapperspb.Int64Value); ok {
		s = wrapperspb.Int64(s.GetValue() + d.GetValue())
	}
	return behaviour.NoReply(s)
}

// The test process's cluster node, started once: protoactor's remote
// writes gRPC's process-wide logger whenever a node starts, which races
// with the gRPC goroutines of a node started before it.
var (
	clusterOnce   sync.Once
	sharedCluster *cluster.Cluster
	clusterErr    error
)

// clusterNode returns the test process's cluster node, serving remote sys.
func clusterNode(t *testing.T) *cluster.Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		sharedCluster, clusterErr = cluster.Start(context.Background(), "sysparent", cluster.WithLogger(zerolog.New(io.Discard)))
		if clusterErr == nil {
			clusterErr = sys.Serve(sharedCluster)
		}
	})
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return sharedCluster
}

func stopClusterNode() {
	if sharedCluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = sharedCluster.Stop(ctx)
}

type child struct {
	name string
	pids map[string]actor.PID
	logs *testkit.LogBuffer
}

// startChild starts a child node and waits until it is ready.
func startChild(t *testing.T, name string, env ...string) *child {
	t.Helper()
	c := &child{pids: map[string]actor.PID{}}
	ready := make(chan string, 1)
	pids := make(chan [2]string, 4)
	p := testkit.StartChild(t, name, testkit.ChildCommand(childEnv, name, env...), func(line string) {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "PID":
			pids <- [2]string{f[1], f[2]}
		case len(f) == 2 && f[0] == "READY":
			ready <- f[1]
		}
	})
	c.logs = p.Log
	c.name = testkit.AwaitReady(t, p, ready, 30*time.Second)
	for len(pids) > 0 {
		p := <-pids
		b, _ := base64.StdEncoding.DecodeString(p[1])
		pid, err := cluster.UnmarshalPID(b)
		if err != nil {
			t.Fatal(err)
		}
		c.pids[p[0]] = pid
	}
	return c
}

// Every sys operation on a process of another node, a child OS process,
// over the cluster.
func TestRemoteSys(t *testing.T) {
	ctx := ctxT(t)
	local := clusterNode(t)
	b := startChild(t, "sysb")
	pid, opaque := b.pids["counter"], b.pids["opaque"]
	if pid.IsZero() || opaque.IsZero() {
		t.Fatalf("child PIDs %v", b.pids)
	}
	n := local.Node()

	if _, err := sys.GetStatus(ctx, newNode(t), pid); !errors.Is(err, sys.ErrNotLocal) {
		t.Fatalf("GetStatus from a node that does not serve: %v, want ErrNotLocal", err)
	}
	if err := sys.Serve(local); err == nil {
		t.Fatal("a second Serve succeeded")
	}

	t.Run("GetStatus", func(t *testing.T) {
		st, err := sys.GetStatus(ctx, n, pid)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := st.State.(*wrapperspb.Int64Value)
		if st.PID != pid || st.Behaviour != "gen_server" || st.Mode != sys.Running || !ok || v.GetValue() != 0 ||
			st.Started.IsZero() || st.Uptime <= 0 || st.Memory <= 0 {
			t.Fatalf("status %+v", st)
		}
		st, err = sys.GetStatus(ctx, n, opaque)
		if err != nil || st.State != nil || st.Behaviour != "gen_server" {
			t.Fatalf("status of the opaque server: %+v %v, want no state", st, err)
		}
	})
	t.Run("GetState", func(t *testing.T) {
		v, err := sys.GetStateAs[*wrapperspb.Int64Value](ctx, n, pid)
		if err != nil || v.GetValue() != 0 {
			t.Fatalf("state %v %v", v, err)
		}
		if _, err := sys.GetState(ctx, n, opaque); !errors.Is(err, sys.ErrNotEncodable) {
			t.Fatalf("state of the opaque server: %v, want ErrNotEncodable", err)
		}
	})
	t.Run("ReplaceState", func(t *testing.T) {
		got, err := sys.ReplaceState(ctx, n, pid, func(s *wrapperspb.Int64Value) *wrapperspb.Int64Value {
			return wrapperspb.Int64(s.GetValue() + 100)
		})
		if err != nil || got.GetValue() != 100 {
			t.Fatalf("replace: %v %v", got, err)
		}
		v, err := local.Node().Call(ctx, pid, wrapperspb.String("get"))
		if err != nil || v.(*wrapperspb.Int64Value).GetValue() != 100 {
			t.Fatalf("the server's state after replace: %v %v", v, err)
		}
		if _, err := sys.ReplaceState(ctx, n, opaque, func(s int) int { return s + 1 }); !errors.Is(err, sys.ErrNotEncodable) {
			t.Fatalf("replace of the opaque server: %v, want ErrNotEncodable", err)
		}
		if _, err := sys.ReplaceState(ctx, n, pid, func(s *wrapperspb.StringValue) *wrapperspb.StringValue { return s }); !errors.Is(err, sys.ErrStateType) {
			t.Fatalf("replace with the wrong type: %v, want ErrStateType", err)
		}
	})
	t.Run("SuspendResume", func(t *testing.T) {
		if err := sys.Suspend(ctx, n, pid); err != nil {
			t.Fatal(err)
		}
		if err := actor.Cast(actor.WithNode(ctx, n), pid, wrapperspb.Int64(1)); err != nil {
			t.Fatal(err)
		}
		testkitEventually(t, func() error {
			st, err := sys.GetStatus(ctx, n, pid)
			if err != nil {
				return err
			}
			if st.Mode != sys.Suspended || st.QueueLen != 1 {
				return fmt.Errorf("mode %v, queue %d; want suspended with the cast queued", st.Mode, st.QueueLen)
			}
			return nil
		})
		if err := sys.Resume(ctx, n, pid); err != nil {
			t.Fatal(err)
		}
		v, err := local.Node().Call(ctx, pid, wrapperspb.String("get"))
		if err != nil || v.(*wrapperspb.Int64Value).GetValue() != 101 {
			t.Fatalf("state after resume: %v %v, want 101", v, err)
		}
	})
	t.Run("Trace", func(t *testing.T) {
		if err := sys.Trace(ctx, n, pid, true, sys.TraceTo(zerolog.Nop())); !errors.Is(err, sys.ErrNotEncodable) {
			t.Fatalf("remote TraceTo: %v, want ErrNotEncodable", err)
		}
		if err := sys.Trace(ctx, n, pid, true, sys.TraceLimit(10)); err != nil {
			t.Fatal(err)
		}
		st, err := sys.GetStatus(ctx, n, pid)
		if err != nil || !st.Tracing {
			t.Fatalf("tracing %v %v", st.Tracing, err)
		}
		if _, err := local.Node().Call(ctx, pid, wrapperspb.String("traced")); err != nil {
			t.Fatal(err)
		}
		testkitEventually(t, func() error {
			if !strings.Contains(b.logs.String(), `"sys":"trace"`) {
				return errors.New("no trace event in the child's log")
			}
			return nil
		})
		if err := sys.Trace(ctx, n, pid, false); err != nil {
			t.Fatal(err)
		}
		if st, err := sys.GetStatus(ctx, n, pid); err != nil || st.Tracing {
			t.Fatalf("tracing after off: %v %v", st.Tracing, err)
		}
	})
	t.Run("Statistics", func(t *testing.T) {
		if _, err := sys.Statistics(ctx, n, pid); !errors.Is(err, sys.ErrStatisticsOff) {
			t.Fatalf("statistics while off: %v, want ErrStatisticsOff", err)
		}
		if err := sys.SetStatistics(ctx, n, pid, true); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := local.Node().Call(ctx, pid, wrapperspb.String("get")); err != nil {
				t.Fatal(err)
			}
		}
		st, err := sys.Statistics(ctx, n, pid)
		if err != nil || st.MessagesIn != 3 || st.RepliesOut != 3 || st.Since.IsZero() {
			t.Fatalf("statistics %+v %v, want 3 in and 3 out", st, err)
		}
		if err := sys.SetStatistics(ctx, n, pid, false); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("NoProc", func(t *testing.T) {
		if err := n.Kill(opaque); err != nil {
			t.Fatal(err)
		}
		testkitEventually(t, func() error {
			_, err := sys.GetStatus(ctx, n, opaque)
			if !errors.Is(err, actor.NoProc) {
				return fmt.Errorf("status of a killed process: %v, want NoProc", err)
			}
			return nil
		})
		var re *sys.RemoteError
		if _, err := sys.GetState(ctx, n, opaque); !errors.As(err, &re) || !errors.Is(err, actor.NoProc) {
			t.Fatalf("state of a killed process: %v, want a *RemoteError matching NoProc", err)
		}
	})
	t.Run("NotServed", func(t *testing.T) {
		c := startChild(t, "sysc", "CHILD_NO_SERVE=1")
		if _, err := sys.GetStatus(ctx, n, c.pids["counter"]); !errors.Is(err, sys.ErrNotServed) {
			t.Fatalf("GetStatus on a node that does not serve: %v, want ErrNotServed", err)
		}
	})
}

// The listings of another node, a child OS process: its processes, its
// application trees, its registry's scopes; and their errors.
func TestRemoteListings(t *testing.T) {
	ctx := ctxT(t)
	local := clusterNode(t)
	n := local.Node()
	b := startChild(t, "sysl")
	counterPID := b.pids["counter"]

	if _, err := sys.ProcessesOn(ctx, newNode(t), b.name, sys.ByPID, 10); !errors.Is(err, sys.ErrNotLocal) {
		t.Fatalf("ProcessesOn from a node that does not serve: %v, want ErrNotLocal", err)
	}
	for _, tt := range []struct {
		by    sys.Order
		limit int
	}{{sys.ByPID, 0}, {sys.ByPID, sys.MaxListLimit + 1}, {sys.ByName + 1, 10}} {
		if _, err := sys.ProcessesOn(ctx, n, b.name, tt.by, tt.limit); !errors.Is(err, sys.ErrBadArgument) {
			t.Errorf("ProcessesOn by %d limit %d: %v, want ErrBadArgument", tt.by, tt.limit, err)
		}
	}

	// A backlog on the counter puts it first by queue length.
	if err := sys.Suspend(ctx, n, counterPID); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := actor.Cast(actor.WithNode(ctx, n), counterPID, wrapperspb.Int64(1)); err != nil {
			t.Fatal(err)
		}
	}
	testkitEventually(t, func() error {
		pl, err := sys.ProcessesOn(ctx, n, b.name, sys.ByQueue, 2)
		if err != nil {
			return err
		}
		if pl.Total < 4 || len(pl.List) != 2 {
			return fmt.Errorf("listing of %d, %d listed; want at least 4, 2 listed", pl.Total, len(pl.List))
		}
		p := pl.List[0]
		if p.PID != counterPID || p.QueueLen != 3 || p.Mode != sys.Suspended || p.Behaviour != "gen_server" || p.Name != "" && p.Name != "counter" || !p.Answered {
			return fmt.Errorf("first by queue %+v, want the suspended counter with 3 queued", p)
		}
		return nil
	})
	if err := sys.Resume(ctx, n, counterPID); err != nil {
		t.Fatal(err)
	}
	all, err := sys.ProcessesOn(ctx, n, b.name, sys.ByPID, sys.MaxListLimit)
	if err != nil || len(all.List) != all.Total {
		t.Fatalf("whole listing %d of %d: %v", len(all.List), all.Total, err)
	}
	local1, err := sys.ProcessesOn(ctx, n, "", sys.ByPID, sys.MaxListLimit)
	if err != nil || local1.Total == 0 || !n.IsLocal(local1.List[0].PID) {
		t.Fatalf("local listing %+v: %v", local1, err)
	}

	trees, err := sys.ApplicationTreesOn(ctx, n, b.name)
	if err != nil {
		t.Fatal(err)
	}
	if len(trees) != 1 || trees[0].Name != "app" || trees[0].Err != nil {
		t.Fatalf("trees %+v, want app", trees)
	}
	top := trees[0].Tree
	if top.Behaviour != "supervisor" || top.PID.NodeName() != b.name || len(top.Children) != 1 ||
		top.Children[0].ID != "w1" || top.Children[0].Behaviour != "gen_server" || top.Children[0].State != supervision.Running {
		t.Fatalf("tree of app %+v", top)
	}
	if _, err := sys.ApplicationTreesOn(ctx, n, n.Name()); !errors.Is(err, application.ErrNoController) {
		t.Fatalf("local trees without a controller: %v, want ErrNoController", err)
	}

	scopes, err := sys.ScopesOn(ctx, n, b.name, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(scopes) != 1 || scopes[0].Name != "web" || scopes[0].NameCount != 1 || len(scopes[0].Names) != 1 ||
		scopes[0].Names[0] != (sys.NameInfo{Name: "counter", PID: counterPID}) ||
		len(scopes[0].Groups) != 1 || scopes[0].Groups[0].Name != "g" || len(scopes[0].Groups[0].Members) != 1 || scopes[0].Groups[0].Members[0] != counterPID {
		t.Fatalf("scopes %+v", scopes)
	}
	if _, err := sys.ScopesOn(ctx, n, "", 10); !errors.Is(err, sys.ErrNoRegistry) {
		t.Fatalf("local scopes without a served registry: %v, want ErrNoRegistry", err)
	}

	c := startChild(t, "sysm", "CHILD_NO_SERVE=1")
	if _, err := sys.ProcessesOn(ctx, n, c.name, sys.ByPID, 10); !errors.Is(err, sys.ErrNotServed) {
		t.Fatalf("ProcessesOn a node that does not serve: %v, want ErrNotServed", err)
	}
}

package actor_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/arbor-otp/arbor/actor"
)

func TestNamesReleasedAtExit(t *testing.T) {
	n := newNode(t)
	pid, err := n.Spawn(dieOn{}, actor.WithName("svc"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := n.WhereIs("svc"); !ok || got != pid {
		t.Fatalf("whereis = %v %v", got, ok)
	}
	_, err = n.Spawn(dieOn{}, actor.WithName("svc"))
	var taken *actor.NameTakenError
	if !errors.As(err, &taken) || taken.Holder != pid || !errors.Is(err, actor.ErrNameTaken) {
		t.Fatalf("second register: %v", err)
	}
	exited := n.WatchExit(pid)
	_ = n.Send(pid, die{errBoom})
	<-exited
	if _, ok := n.WhereIs("svc"); ok {
		t.Fatal("name not released")
	}
	if err := n.SendNamed("svc", "x"); !errors.Is(err, actor.ErrUnknownName) || !strings.Contains(err.Error(), `"svc"`) {
		t.Fatalf("send to free name: %v (want ErrUnknownName naming \"svc\")", err)
	}
	pid2, _ := n.Spawn(dieOn{})
	if err := n.Register("svc", pid2); err != nil {
		t.Fatalf("re-register: %v", err)
	}
	if err := n.Register("other", pid2); !errors.Is(err, actor.ErrAlreadyNamed) {
		t.Fatalf("second name: %v", err)
	}
	if err := n.Register("x", pid); !errors.Is(err, actor.NoProc) {
		t.Fatalf("dead pid: %v", err)
	}
	if err := n.Unregister("svc"); err != nil {
		t.Fatal(err)
	}
	if err := n.Unregister("svc"); !errors.Is(err, actor.ErrUnknownName) || !strings.Contains(err.Error(), `"svc"`) {
		t.Fatalf("unregister a free name: %v (want ErrUnknownName naming \"svc\")", err)
	}
}

// TestMessageOrder: messages from one sender arrive in send order, and an
// Exit from a trapped link arrives after what the dead process sent first.
func TestMessageOrder(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	ib := newInbox(t, n, actor.WithTrapExit())
	const count = 2000
	var sender actor.PID
	_ = ib.Do(ctx, func(c *actor.Context) error {
		var err error
		sender, err = c.SpawnLink(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
			for i := 0; i < count; i++ {
				_ = c.Send(ib.PID(), i)
			}
			return errBoom
		}))
		return err
	})
	_ = n.Send(sender, "go")
	for i := 0; i < count; i++ {
		if got := recv(t, ib); got != i {
			t.Fatalf("message %d: got %v", i, got)
		}
	}
	ex := recvType[actor.Exit](t, ib)
	if ex.From != sender || ex.Reason != errBoom {
		t.Fatalf("got %+v", ex)
	}
}

type initFails struct{ err error }

func (i initFails) Init(*actor.Context) error       { return i.err }
func (initFails) Receive(*actor.Context, any) error { return nil }

func TestInitFailureLeavesNothing(t *testing.T) {
	n := newNode(t)
	before := n.CountProcesses()
	_, err := n.Spawn(initFails{errBoom}, actor.WithName("x"))
	if !errors.Is(err, errBoom) {
		t.Fatalf("spawn: %v", err)
	}
	if _, ok := n.WhereIs("x"); ok {
		t.Fatal("name survived a failed init")
	}
	if got := n.CountProcesses(); got != before {
		t.Fatalf("processes = %d, want %d", got, before)
	}
}

func TestProcessInfo(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	ib := newInbox(t, n, actor.WithName("ib"), actor.WithTrapExit())
	pid, _ := n.Spawn(dieOn{})
	_ = ib.Link(ctx, pid)
	_, _ = ib.Monitor(ctx, pid)
	info, err := n.ProcessInfo(ctx, ib.PID())
	if err != nil {
		t.Fatal(err)
	}
	if !info.Alive || !info.TrapExit || info.RegisteredName != "ib" || len(info.Links) != 1 || info.Links[0] != pid ||
		len(info.Monitors) != 1 || info.Status == actor.StatusExited {
		t.Fatalf("info = %+v", info)
	}
	tinfo, _ := n.ProcessInfo(ctx, pid)
	if len(tinfo.MonitoredBy) != 1 || tinfo.MonitoredBy[0] != ib.PID() {
		t.Fatalf("target info = %+v", tinfo)
	}
	exited := n.WatchExit(pid)
	_ = n.Kill(pid)
	<-exited
	if _, err := n.ProcessInfo(ctx, pid); !errors.Is(err, actor.NoProc) {
		t.Fatalf("dead info: %v", err)
	}
}

func TestSendAfterAndCancel(t *testing.T) {
	n := newNode(t)
	ib := newInbox(t, n)
	cancelled := n.SendAfter(ib.PID(), "never", 0)
	_ = cancelled // may already have fired; only its effect on order is checked below
	tm := n.SendAfter(ib.PID(), "late", 1<<40)
	if !n.CancelTimer(tm) {
		t.Fatal("timer should be pending")
	}
	n.SendAfter(ib.PID(), "soon", 1)
	for {
		m := recv(t, ib)
		if m == "soon" {
			break
		}
		if m != "never" {
			t.Fatalf("got %v", m)
		}
	}
}

// TestManyProcessesReturnToBaseline spawns and stops 100k processes and
// checks goroutines and heap return to their starting point.
func TestManyProcessesReturnToBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	n := newNode(t)
	// A first round of the same size fills the node's bounded pool of idle
	// workers and its PID table (one 12-byte slot per peak process), which
	// are part of its resting state. A leak would grow the heap again in
	// the second round.
	startG, startHeap := settle()
	churn(t, n, 100_000)
	baseG, baseHeap := settle()
	t.Logf("first round: goroutines %d→%d, heap %d→%d B", startG, baseG, startHeap, baseHeap)
	churn(t, n, 100_000)
	if got := n.CountProcesses(); got != 0 {
		t.Fatalf("live processes = %d", got)
	}
	g, heap := settle()
	if g > baseG {
		t.Fatalf("goroutines %d, baseline %d", g, baseG)
	}
	// Leaking any per-process state (a Context alone is 320 B) would add
	// at least 32 MB here; what stays under 4 MB is the collector's timing.
	if limit := baseHeap + 4<<20; heap > limit {
		t.Fatalf("heap %d B, baseline %d B", heap, baseHeap)
	}
	t.Logf("goroutines %d→%d, heap %d→%d B", baseG, g, baseHeap, heap)
}

// churn spawns count processes, then stops them all and waits.
func churn(t *testing.T, n *actor.Node, count int) {
	t.Helper()
	pids := make([]actor.PID, count)
	for i := range pids {
		p, err := n.Spawn(dieOn{})
		if err != nil {
			t.Fatal(err)
		}
		pids[i] = p
	}
	exits := make([]<-chan error, count)
	for i, p := range pids {
		exits[i] = n.WatchExit(p)
		_ = n.Send(p, die{actor.Normal})
	}
	for _, ch := range exits {
		<-ch
	}
}

// settle waits for exiting goroutines to finish and returns the goroutine
// count and live heap after a GC.
func settle() (int, uint64) {
	var g int
	for i := 0; i < 100; i++ {
		g = runtime.NumGoroutine()
		runtime.GC()
		runtime.Gosched()
		if runtime.NumGoroutine() == g {
			break
		}
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return g, ms.HeapAlloc
}

// Exits counts every exit, and an exit is counted by the time anyone
// hears of it (here: WatchExit), after IsAlive turned false.
func TestExitsCountsEveryExit(t *testing.T) {
	n := newNode(t)
	before := n.Exits()
	var pids []actor.PID
	for range 5 {
		pid, err := n.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if got := n.Exits(); got != before {
		t.Fatalf("spawns counted as exits: %d → %d", before, got)
	}
	for i, pid := range pids {
		exited := n.WatchExit(pid)
		if err := n.Exit(pid, actor.Kill); err != nil {
			t.Fatal(err)
		}
		<-exited
		if got := n.Exits(); got < before+uint64(i)+1 || n.IsAlive(pid) {
			t.Fatalf("after exit %d: Exits %d (from %d), alive %v", i+1, got, before, n.IsAlive(pid))
		}
	}
}

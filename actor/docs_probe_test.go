package actor_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
)

// The probes of this file check the promises of actor/doc.go, the method
// docs and docs/otp-mapping.md's "Processes" table against what Erlang's
// documentation says of the same functions.

// spawnFn spawns a process running fn for each message.
func spawnFn(t *testing.T, n *actor.Node, fn func(*actor.Context, any) error, opts ...actor.SpawnOption) actor.PID {
	t.Helper()
	p, err := n.Spawn(actor.ReceiverFunc(fn), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitLinked waits until p's links include q.
func waitLinked(t *testing.T, n *actor.Node, p, q actor.PID) {
	t.Helper()
	ctx := actortest.Context(t)
	for ctx.Err() == nil {
		info, err := n.ProcessInfo(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range info.Links {
			if l == q {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("%v never linked to %v", p, q)
}

// TestProbeExitSelfNormal: exit(self(), normal) ends the calling process
// with reason normal (erlang:exit/2: a normal exit signal is ignored by its
// target unless the target is the caller itself).
func TestProbeExitSelfNormal(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	p := spawnFn(t, n, func(c *actor.Context, msg any) error {
		if msg == "exit" {
			c.Exit(c.Self(), actor.Normal)
		}
		return nil
	})
	exited := n.WatchExit(p)
	if err := n.Send(p, "exit"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-exited:
		if !errors.Is(r, actor.Normal) {
			t.Fatalf("exit(self, normal) ended the process with %v, want Normal", r)
		}
	case <-ctx.Done():
		t.Fatal("exit(self, normal) left the process running")
	}
	// A trapping process gets the signal as a message instead.
	ib := actortest.NewInbox(t, n)
	if err := ib.TrapExit(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := ib.Do(ctx, func(c *actor.Context) error {
		c.Exit(c.Self(), actor.Normal)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if x := actortest.ReceiveAs[actor.Exit](t, ib); x.From != ib.PID() || !errors.Is(x.Reason, actor.Normal) {
		t.Fatalf("trapped exit(self, normal): %+v", x)
	}
}

// TestProbeLinkSemantics: the link rules of actor/doc.go and Erlang's
// reference manual, one by one.
func TestProbeLinkSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	boom := errors.New("boom")

	// linker links to the PID it is sent and ends with any error it is sent.
	linker := func() actor.PID {
		return spawnFn(t, n, func(c *actor.Context, msg any) error {
			switch m := msg.(type) {
			case actor.PID:
				c.Link(m)
			case error:
				return m
			}
			return nil
		})
	}

	t.Run("normal exit does not propagate", func(t *testing.T) {
		ib := actortest.NewInbox(t, n)
		a, b := linker(), linker()
		ib.Monitor(ctx, a)
		ib.Monitor(ctx, b)
		n.Send(b, a)
		waitLinked(t, n, b, a)
		n.Send(a, actor.Normal)
		if d := actortest.ReceiveAs[actor.Down](t, ib); d.PID != a || !errors.Is(d.Reason, actor.Normal) {
			t.Fatalf("a: %+v", d)
		}
		n.Send(b, errors.New("later"))
		if d := actortest.ReceiveAs[actor.Down](t, ib); d.PID != b || d.Reason.Error() != "later" {
			t.Fatalf("a normal exit of a linked process ended b: %+v", d)
		}
	})

	t.Run("crash propagates with the same reason, along a chain", func(t *testing.T) {
		ib := actortest.NewInbox(t, n)
		a, b, c := linker(), linker(), linker()
		ib.Monitor(ctx, b)
		ib.Monitor(ctx, c)
		n.Send(b, a)
		n.Send(c, b)
		waitLinked(t, n, b, a)
		waitLinked(t, n, c, b)
		n.Send(a, boom)
		dead := map[actor.PID]bool{}
		for range 2 { // from two senders: in either order
			d := actortest.ReceiveAs[actor.Down](t, ib)
			if !errors.Is(d.Reason, boom) {
				t.Fatalf("down %+v, want boom", d)
			}
			dead[d.PID] = true
		}
		if !dead[b] || !dead[c] {
			t.Fatalf("dead %v, want b and c", dead)
		}
	})

	t.Run("trapping process gets Exit with From and reason", func(t *testing.T) {
		a := spawnFn(t, n, actortest.ExitOnError.Receive)
		ib := actortest.NewInbox(t, n)
		ib.TrapExit(ctx, true)
		if err := ib.Link(ctx, a); err != nil {
			t.Fatal(err)
		}
		n.Send(a, boom)
		if x := actortest.ReceiveAs[actor.Exit](t, ib); x.From != a || !errors.Is(x.Reason, boom) {
			t.Fatalf("trapped linked crash: %+v", x)
		}
		// and a normal exit of a linked process is an Exit{Normal} to a trapper
		b := spawnFn(t, n, actortest.ExitOnError.Receive)
		ib.Link(ctx, b)
		n.Send(b, actor.Normal)
		if x := actortest.ReceiveAs[actor.Exit](t, ib); x.From != b || !errors.Is(x.Reason, actor.Normal) {
			t.Fatalf("trapped linked normal exit: %+v", x)
		}
	})

	t.Run("exit signal from a process names it as From", func(t *testing.T) {
		ib := actortest.NewInbox(t, n)
		ib.TrapExit(ctx, true)
		sender := spawnFn(t, n, func(c *actor.Context, msg any) error {
			if pid, ok := msg.(actor.PID); ok {
				c.Exit(pid, boom)
			}
			return nil
		})
		n.Send(sender, ib.PID())
		if x := actortest.ReceiveAs[actor.Exit](t, ib); x.From != sender || !errors.Is(x.Reason, boom) {
			t.Fatalf("exit/2 to a trapper: %+v", x)
		}
		// exit(Pid, normal) to a trapper is a message too
		if err := n.Exit(ib.PID(), actor.Normal); err != nil {
			t.Fatal(err)
		}
		if x := actortest.ReceiveAs[actor.Exit](t, ib); !x.From.IsZero() || !errors.Is(x.Reason, actor.Normal) {
			t.Fatalf("exit(normal) to a trapper: %+v", x)
		}
		n.Kill(sender)
	})

	t.Run("kill ends a trapper with killed, killed is trappable", func(t *testing.T) {
		ib := actortest.NewInbox(t, n)
		p := spawnFn(t, n, func(*actor.Context, any) error { return nil }, actor.WithTrapExit())
		ib.Monitor(ctx, p)
		if err := n.Exit(p, actor.Kill); err != nil {
			t.Fatal(err)
		}
		if d := actortest.ReceiveAs[actor.Down](t, ib); !errors.Is(d.Reason, actor.Killed) {
			t.Fatalf("kill of a trapper: %+v", d)
		}
		// the atom killed (not kill) sent with exit/2 is an ordinary reason
		tr := actortest.NewInbox(t, n)
		tr.TrapExit(ctx, true)
		if err := n.Exit(tr.PID(), actor.Killed); err != nil {
			t.Fatal(err)
		}
		if x := actortest.ReceiveAs[actor.Exit](t, tr); !errors.Is(x.Reason, actor.Killed) {
			t.Fatalf("exit(killed) to a trapper: %+v", x)
		}
	})

	t.Run("unlink stops propagation both ways", func(t *testing.T) {
		ib := actortest.NewInbox(t, n)
		a := spawnFn(t, n, actortest.ExitOnError.Receive)
		if err := ib.Link(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := ib.Do(ctx, func(c *actor.Context) error { c.Unlink(a); return nil }); err != nil {
			t.Fatal(err)
		}
		ib.Monitor(ctx, a)
		n.Send(a, boom)
		if d := actortest.ReceiveAs[actor.Down](t, ib); d.PID != a {
			t.Fatalf("got %+v", d)
		}
		if !n.IsAlive(ib.PID()) {
			t.Fatal("an unlinked crash ended the inbox")
		}
	})

	t.Run("link to self does nothing, link twice is once", func(t *testing.T) {
		ib := actortest.NewInbox(t, n)
		a := spawnFn(t, n, actortest.ExitOnError.Receive)
		if err := ib.Do(ctx, func(c *actor.Context) error {
			c.Link(c.Self())
			c.Link(a)
			c.Link(a)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		info, err := n.ProcessInfo(ctx, ib.PID())
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Links) != 1 || info.Links[0] != a {
			t.Fatalf("links %v, want [%v]", info.Links, a)
		}
		ib.Do(ctx, func(c *actor.Context) error { c.Unlink(a); return nil })
		n.Kill(a)
	})
}

// TestProbeMonitorSemantics: monitors stack, Demonitor flushes and reports
// whether the monitor was active, a Down comes after the dead process's
// earlier messages, and SpawnMonitor sees the real reason.
func TestProbeMonitorSemantics(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	ib := actortest.NewInbox(t, n)
	boom := errors.New("boom")

	a := spawnFn(t, n, actortest.ExitOnError.Receive)
	r1, _ := ib.Monitor(ctx, a)
	r2, _ := ib.Monitor(ctx, a)
	if r1 == r2 {
		t.Fatal("two monitors share a Ref")
	}
	n.Send(a, boom)
	got := map[actor.Ref]bool{}
	for range 2 {
		d := actortest.ReceiveAs[actor.Down](t, ib)
		if d.PID != a || !errors.Is(d.Reason, boom) {
			t.Fatalf("down %+v", d)
		}
		got[d.Ref] = true
	}
	if !got[r1] || !got[r2] {
		t.Fatalf("downs for %v, want both refs", got)
	}

	// Demonitor after the Down was queued: flushed, and reports true
	// (it was active when asked) or false; what matters is no Down.
	b := spawnFn(t, n, actortest.ExitOnError.Receive)
	var ref actor.Ref
	ib.Do(ctx, func(c *actor.Context) error { ref = c.Monitor(b); return nil })
	exited := n.WatchExit(b)
	n.Send(b, boom)
	<-exited
	ib.Do(ctx, func(c *actor.Context) error {
		c.Demonitor(ref)
		if c.Demonitor(ref) {
			t.Error("second Demonitor of the same ref reported active")
		}
		return nil
	})
	n.Send(ib.PID(), "marker")
	if m := actortest.Receive(t, ib); m != "marker" {
		t.Fatalf("after Demonitor of %v got %#v, want the marker", ref, m)
	}

	// messages sent before death come before the Down
	c := spawnFn(t, n, func(c *actor.Context, msg any) error {
		if pid, ok := msg.(actor.PID); ok {
			for i := range 100 {
				c.Send(pid, i)
			}
			return boom
		}
		return nil
	})
	ib.Monitor(ctx, c)
	n.Send(c, ib.PID())
	for i := range 100 {
		if m := actortest.Receive(t, ib); m != i {
			t.Fatalf("message %d: got %#v", i, m)
		}
	}
	if d := actortest.ReceiveAs[actor.Down](t, ib); d.PID != c || !errors.Is(d.Reason, boom) {
		t.Fatalf("down %+v", d)
	}

	// SpawnMonitor of a process that ends in its first message
	var ch actor.PID
	var cref actor.Ref
	if err := ib.Do(ctx, func(c *actor.Context) error {
		var err error
		ch, cref, err = c.SpawnMonitor(actortest.ExitOnError)
		if err == nil {
			c.Send(ch, boom)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if d := actortest.ReceiveAs[actor.Down](t, ib); d.Ref != cref || d.PID != ch || !errors.Is(d.Reason, boom) {
		t.Fatalf("spawn_monitor down %+v", d)
	}
}

// TestProbeNamesAndInfo: register/unregister/whereis, process_info and
// is_process_alive as documented.
func TestProbeNamesAndInfo(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	boom := errors.New("boom")
	a := spawnFn(t, n, actortest.ExitOnError.Receive)
	b := spawnFn(t, n, actortest.ExitOnError.Receive)
	if err := n.Register("", a); !errors.Is(err, actor.ErrBadName) {
		t.Errorf("empty name: %v", err)
	}
	if err := n.Register("a", a); err != nil {
		t.Fatal(err)
	}
	if err := n.Register("a2", a); !errors.Is(err, actor.ErrAlreadyNamed) {
		t.Errorf("second name: %v", err)
	}
	var nt *actor.NameTakenError
	if err := n.Register("a", b); !errors.As(err, &nt) || !errors.Is(err, actor.ErrNameTaken) {
		t.Errorf("taken name: %v", err)
	}
	if pid, ok := n.WhereIs("a"); !ok || pid != a {
		t.Errorf("whereis a: %v %v", pid, ok)
	}
	info, err := n.ProcessInfo(ctx, a)
	if err != nil || !info.Alive || info.RegisteredName != "a" || info.PID != a {
		t.Errorf("process info: %+v %v", info, err)
	}
	if err := n.SendNamed("a", boom); err != nil {
		t.Fatal(err)
	}
	<-n.WatchExit(a)
	if _, ok := n.WhereIs("a"); ok {
		t.Error("name kept after exit")
	}
	if err := n.Register("x", a); !errors.Is(err, actor.NoProc) {
		t.Errorf("register a dead pid: %v", err)
	}
	if err := n.Unregister("a"); !errors.Is(err, actor.ErrUnknownName) {
		t.Errorf("unregister a free name: %v", err)
	}
	if n.IsAlive(a) {
		t.Error("IsAlive of a dead pid")
	}
	if info, err := n.ProcessInfo(ctx, a); !errors.Is(err, actor.NoProc) || info.Alive {
		t.Errorf("process info of a dead pid: %+v %v", info, err)
	}
	if err := n.Exit(a, boom); !errors.Is(err, actor.NoProc) {
		t.Errorf("exit to a dead pid: %v", err)
	}
	if err := n.Kill(a); !errors.Is(err, actor.NoProc) {
		t.Errorf("kill of a dead pid: %v", err)
	}
	if err := n.Send(a, "x"); !errors.Is(err, actor.NoProc) {
		t.Errorf("send to a dead pid: %v", err)
	}
	if _, err := n.Call(ctx, a, "x"); !errors.Is(err, actor.NoProc) {
		t.Errorf("call to a dead pid: %v", err)
	}
	if r := <-n.WatchExit(a); !errors.Is(r, actor.NoProc) {
		t.Errorf("WatchExit of a dead pid: %v", r)
	}
	// unregister then the name is free; the process keeps running
	if err := n.Register("b", b); err != nil {
		t.Fatal(err)
	}
	if err := n.Unregister("b"); err != nil {
		t.Fatal(err)
	}
	if err := n.SendNamed("b", "x"); !errors.Is(err, actor.ErrUnknownName) {
		t.Errorf("send to an unregistered name: %v", err)
	}
	if err := n.Register("b2", b); err != nil {
		t.Errorf("a process that dropped its name could not take another: %v", err)
	}
	n.Kill(b)
}

// TestProbeTimers: send_after delivers, cancel_timer reports whether the
// timer was pending.
func TestProbeTimers(t *testing.T) {
	n := actortest.NewNode(t)
	ib := actortest.NewInbox(t, n)
	tm := n.SendAfter(ib.PID(), "tick", time.Millisecond)
	if m := actortest.Receive(t, ib); m != "tick" {
		t.Fatalf("got %#v", m)
	}
	if n.CancelTimer(tm) {
		t.Error("CancelTimer of a fired timer reported pending")
	}
	tm = n.SendAfter(ib.PID(), "late", time.Hour)
	if !n.CancelTimer(tm) {
		t.Error("CancelTimer of a pending timer reported not pending")
	}
	if n.CancelTimer(tm) {
		t.Error("second CancelTimer reported pending")
	}
}

// TestProbeCallExits: a Call fails with the callee's exit reason when it
// exits while handling; with the ctx's error when the caller gives up.
func TestProbeCallExits(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	boom := errors.New("boom")
	p := spawnFn(t, n, func(c *actor.Context, msg any) error {
		if _, ok := msg.(*actor.Request); ok {
			return boom
		}
		return nil
	})
	_, err := n.Call(ctx, p, "x")
	var ce *actor.CallError
	if !errors.As(err, &ce) || ce.PID != p || !errors.Is(err, boom) {
		t.Errorf("call to a crashing callee: %v", err)
	}
	q := spawnFn(t, n, func(*actor.Context, any) error { return nil }) // never replies
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = n.Call(tctx, q, "x")
	if !errors.As(err, &ce) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call timeout: %v", err)
	}
	if !n.IsAlive(q) {
		t.Error("a timed-out call ended the callee")
	}
	n.Kill(q)
}

type failInit struct{ err error }

func (f failInit) Init(*actor.Context) error       { return f.err }
func (failInit) Receive(*actor.Context, any) error { return nil }

// TestProbeSpawnLinkAndInit: spawn_link's child has the caller as Parent;
// a child whose Init fails leaves no link signal, no name and no process;
// a linked exit with Shutdown (or {shutdown, T}) is not normal and ends a
// linked process that does not trap exits.
func TestProbeSpawnLinkAndInit(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	ib := actortest.NewInbox(t, n)
	ib.TrapExit(ctx, true)
	parents := make(chan actor.PID, 1)
	var child actor.PID
	failed := errors.New("no init")
	before := n.CountProcesses()
	if err := ib.Do(ctx, func(c *actor.Context) error {
		var err error
		child, err = c.SpawnLink(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
			parents <- c.Parent()
			return nil
		}))
		if err != nil {
			return err
		}
		c.Send(child, "who")
		if _, err := c.SpawnLink(failInit{failed}, actor.WithName("doomed")); !errors.Is(err, failed) {
			t.Errorf("SpawnLink with a failing Init: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p := <-parents; p != ib.PID() {
		t.Errorf("Parent %v, want the spawner %v", p, ib.PID())
	}
	if _, ok := n.WhereIs("doomed"); ok {
		t.Error("a failed Init left its name")
	}
	if got := n.CountProcesses(); got != before+1 {
		t.Errorf("processes %d, want %d", got, before+1)
	}
	n.Send(ib.PID(), "marker")
	if m := actortest.Receive(t, ib); m != "marker" {
		t.Errorf("the trapping spawner got %#v before the marker (a link signal of the failed Init?)", m)
	}

	// Shutdown and ShutdownError travel along links as ordinary reasons
	for _, reason := range []error{actor.Shutdown, &actor.ShutdownError{Reason: errors.New("t")}} {
		w := actortest.NewInbox(t, n)
		a := spawnFn(t, n, actortest.ExitOnError.Receive)
		b := spawnFn(t, n, func(c *actor.Context, msg any) error {
			if p, ok := msg.(actor.PID); ok {
				c.Link(p)
			}
			return nil
		})
		w.Monitor(ctx, b)
		n.Send(b, a)
		waitLinked(t, n, b, a)
		n.Send(a, reason)
		if d := actortest.ReceiveAs[actor.Down](t, w); d.PID != b || d.Reason.Error() != reason.Error() {
			t.Errorf("linked exit %v: b got %+v", reason, d)
		}
	}
	n.Kill(child)
}

// TestProbeSignalsBeforeBacklog: a process that does not trap exits dies
// from a linked crash without first handling its backlog (actor/doc.go's
// guarantees), and ProcessInfo names its links and monitors both ways.
func TestProbeSignalsBeforeBacklog(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	boom := errors.New("boom")
	hold := make(chan struct{})
	handled := make(chan any, 100)
	p := spawnFn(t, n, func(c *actor.Context, msg any) error {
		if msg == "hold" {
			<-hold
		}
		handled <- msg
		return nil
	})
	a := spawnFn(t, n, actortest.ExitOnError.Receive)
	ib := actortest.NewInbox(t, n)
	ib.Monitor(ctx, p)
	if err := n.Send(p, "hold"); err != nil {
		t.Fatal(err)
	}
	// process_info: a's links, the inbox's monitors
	linker := actortest.NewInbox(t, n)
	if err := linker.Do(ctx, func(c *actor.Context) error { c.Link(a); return nil }); err != nil {
		t.Fatal(err)
	}
	info, err := n.ProcessInfo(ctx, a)
	if err != nil || len(info.Links) != 1 || info.Links[0] != linker.PID() {
		t.Fatalf("a's links %+v %v", info, err)
	}
	if info, err := n.ProcessInfo(ctx, ib.PID()); err != nil || len(info.Monitors) != 1 || info.Monitors[0] != p {
		t.Errorf("the inbox's monitors %+v %v", info.Monitors, err)
	}
	for i := range 10 {
		n.Send(p, i)
	}
	// an exit signal while p is in its handler with ten messages queued
	n.Exit(p, boom)
	close(hold)
	if d := actortest.ReceiveAs[actor.Down](t, ib); !errors.Is(d.Reason, boom) {
		t.Fatalf("p ended with %v", d.Reason)
	}
	close(handled)
	var got []any
	for m := range handled {
		got = append(got, m)
	}
	if len(got) != 1 || got[0] != "hold" {
		t.Errorf("p handled %v after the exit signal, want only the message it was in", got)
	}
	linker.Do(ctx, func(c *actor.Context) error { c.Unlink(a); return nil })
	n.Kill(a)
}

// TestNilNodeRefused: Spawn and NewInbox on a nil *Node return ErrNilNode
// (they panicked).
func TestNilNodeRefused(t *testing.T) {
	var n *actor.Node
	if _, err := n.Spawn(actortest.ExitOnError); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("Spawn on a nil node: %v", err)
	}
	if _, err := n.NewInbox(); !errors.Is(err, actor.ErrNilNode) {
		t.Errorf("NewInbox on a nil node: %v", err)
	}
}

// TestEmptyNameRefused: WithName("") fails Spawn with ErrBadName, as
// Register("") does; the process was spawned without a name.
func TestEmptyNameRefused(t *testing.T) {
	n := actortest.NewNode(t)
	before := n.CountProcesses()
	if pid, err := n.Spawn(actortest.ExitOnError, actor.WithName("")); !errors.Is(err, actor.ErrBadName) || !pid.IsZero() {
		t.Errorf("Spawn with an empty name: %v %v", pid, err)
	}
	if got := n.CountProcesses(); got != before {
		t.Errorf("processes %d -> %d", before, got)
	}
}

// TestInboxDemonitorFlushesQueuedDown: Demonitor from an Inbox's Do drops
// a Down of that monitor that already waits for Receive (erlang's
// demonitor with flush; the Inbox had taken the Down out of its mailbox
// into its own queue, where the flush did not look, so Receive returned it).
func TestInboxDemonitorFlushesQueuedDown(t *testing.T) {
	n := actortest.NewNode(t)
	ctx := actortest.Context(t)
	ib := actortest.NewInbox(t, n)
	p := spawnFn(t, n, actortest.ExitOnError.Receive)
	ref, err := ib.Monitor(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	exited := n.WatchExit(p)
	n.Send(p, errors.New("boom"))
	<-exited
	// The Down reaches the inbox's queue: wait for it without taking it.
	for ib.Len() == 0 && ctx.Err() == nil {
		runtime.Gosched()
	}
	if err := ib.Do(ctx, func(c *actor.Context) error { c.Demonitor(ref); return nil }); err != nil {
		t.Fatal(err)
	}
	n.Send(ib.PID(), "marker")
	if m := actortest.Receive(t, ib); m != "marker" {
		t.Fatalf("after Demonitor got %#v, want the marker", m)
	}
}

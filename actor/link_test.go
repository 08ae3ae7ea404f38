package actor_test

import (
	"errors"
	"testing"

	"github.com/arbor-otp/arbor/actor"
)

var errBoom = errors.New("boom")

// TestExitMatrix covers exit reason × trapping × link or monitor.
func TestExitMatrix(t *testing.T) {
	shutdownX := &actor.ShutdownError{Reason: "x"}
	reasons := []struct {
		name string
		kill func(n *actor.Node, pid actor.PID)
		want func(error) bool // the reason the watcher sees
	}{
		{"normal", sendDie(actor.Normal), is(actor.Normal)},
		{"shutdown", sendDie(actor.Shutdown), is(actor.Shutdown)},
		{"shutdown_x", sendDie(shutdownX), func(e error) bool { return e == shutdownX }},
		{"kill", func(n *actor.Node, pid actor.PID) { _ = n.Kill(pid) }, is(actor.Killed)},
		{"panic", func(n *actor.Node, pid actor.PID) { _ = n.Send(pid, panicNow{}) }, isPanic},
		{"error", sendDie(errBoom), is(errBoom)},
	}
	for _, r := range reasons {
		for _, trap := range []bool{false, true} {
			for _, how := range []string{"link", "monitor"} {
				name := r.name + "/" + map[bool]string{false: "notrap", true: "trap"}[trap] + "/" + how
				t.Run(name, func(t *testing.T) {
					n := newNode(t)
					ctx := ctxT(t)
					target, err := n.Spawn(dieOn{})
					if err != nil {
						t.Fatal(err)
					}
					watcher := newInbox(t, n)
					observer := newInbox(t, n)
					if err := watcher.TrapExit(ctx, trap); err != nil {
						t.Fatal(err)
					}
					var ref actor.Ref
					if how == "link" {
						if err := watcher.Link(ctx, target); err != nil {
							t.Fatal(err)
						}
					} else {
						if ref, err = watcher.Monitor(ctx, target); err != nil {
							t.Fatal(err)
						}
					}
					wref, _ := observer.Monitor(ctx, watcher.PID())
					tref, _ := observer.Monitor(ctx, target)
					r.kill(n, target)
					downs := map[actor.Ref]actor.Down{}
					down := downFor(t, observer, tref, downs)
					if !r.want(down.Reason) {
						t.Fatalf("target down = %+v", down)
					}
					if how == "monitor" {
						d := recvType[actor.Down](t, watcher)
						if d.Ref != ref || d.PID != target || !r.want(d.Reason) {
							t.Fatalf("watcher got %+v", d)
						}
						return
					}
					if trap {
						ex := recvType[actor.Exit](t, watcher)
						if ex.From != target || !r.want(ex.Reason) {
							t.Fatalf("watcher got %+v", ex)
						}
						return
					}
					// Not trapping: a normal exit is ignored, anything else
					// takes the watcher down with the same reason.
					if r.name == "normal" {
						if err := watcher.Do(ctx, func(*actor.Context) error { return nil }); err != nil {
							t.Fatalf("watcher should survive: %v", err)
						}
						return
					}
					d := downFor(t, observer, wref, downs)
					if !r.want(d.Reason) {
						t.Fatalf("watcher down = %+v", d)
					}
				})
			}
		}
	}
}

// downFor returns the Down for ref, keeping the others that arrive first
// in seen (the watcher's Down may overtake the target's).
func downFor(t *testing.T, ib *actor.Inbox, ref actor.Ref, seen map[actor.Ref]actor.Down) actor.Down {
	t.Helper()
	for {
		if d, ok := seen[ref]; ok {
			return d
		}
		d := recvType[actor.Down](t, ib)
		seen[d.Ref] = d
	}
}

func sendDie(reason error) func(*actor.Node, actor.PID) {
	return func(n *actor.Node, pid actor.PID) { _ = n.Send(pid, die{reason}) }
}

func is(want error) func(error) bool {
	return func(e error) bool { return errors.Is(e, want) && e.Error() == want.Error() }
}

func isPanic(e error) bool {
	var pe *actor.PanicError
	return errors.As(e, &pe) && pe.Value == "boom" && len(pe.Stack) > 0
}

func TestMonitorDeadPID(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	pid, _ := n.Spawn(dieOn{})
	exited := n.WatchExit(pid)
	_ = n.Send(pid, die{actor.Normal})
	<-exited
	ib := newInbox(t, n)
	ref, err := ib.Monitor(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	d := recvType[actor.Down](t, ib)
	if d.Ref != ref || d.PID != pid || !errors.Is(d.Reason, actor.NoProc) {
		t.Fatalf("got %+v", d)
	}
}

func TestLinkDeadPIDTrapped(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	pid, _ := n.Spawn(dieOn{})
	exited := n.WatchExit(pid)
	_ = n.Kill(pid)
	<-exited
	ib := newInbox(t, n, actor.WithTrapExit())
	if err := ib.Link(ctx, pid); err != nil {
		t.Fatal(err)
	}
	ex := recvType[actor.Exit](t, ib)
	if ex.From != pid || !errors.Is(ex.Reason, actor.NoProc) {
		t.Fatalf("got %+v", ex)
	}
}

func TestKillIsNotTrappable(t *testing.T) {
	n := newNode(t)
	ib := newInbox(t, n, actor.WithTrapExit())
	exited := n.WatchExit(ib.PID())
	if err := n.Kill(ib.PID()); err != nil {
		t.Fatal(err)
	}
	if got := <-exited; !errors.Is(got, actor.Killed) {
		t.Fatalf("reason = %v", got)
	}
}

func TestExitNormalIgnoredUnlessTrapping(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	pid, _ := n.Spawn(dieOn{})
	if err := n.Exit(pid, actor.Normal); err != nil {
		t.Fatal(err)
	}
	info, err := n.ProcessInfo(ctx, pid)
	if err != nil || !info.Alive {
		t.Fatalf("process should survive exit(normal): %v %+v", err, info)
	}
	ib := newInbox(t, n, actor.WithTrapExit())
	_ = n.Exit(ib.PID(), errBoom)
	ex := recvType[actor.Exit](t, ib)
	if ex.Reason != errBoom || !ex.From.IsZero() {
		t.Fatalf("got %+v", ex)
	}
}

func TestUnlinkStopsPropagation(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	target, _ := n.Spawn(dieOn{})
	watcher := newInbox(t, n)
	_ = watcher.Link(ctx, target)
	_ = watcher.Do(ctx, func(c *actor.Context) error { c.Unlink(target); return nil })
	exited := n.WatchExit(target)
	_ = n.Send(target, die{errBoom})
	<-exited
	if err := watcher.Do(ctx, func(*actor.Context) error { return nil }); err != nil {
		t.Fatalf("watcher died after unlink: %v", err)
	}
}

func TestDemonitorFlushes(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	target, _ := n.Spawn(dieOn{})
	ib := newInbox(t, n)
	var active bool
	_ = ib.Do(ctx, func(c *actor.Context) error {
		ref := c.Monitor(target)
		exited := n.WatchExit(target)
		_ = n.Send(target, die{errBoom})
		<-exited // the Down is now queued behind this handler
		active = c.Demonitor(ref)
		return nil
	})
	if !active {
		t.Fatal("monitor should still be active before its Down is handled")
	}
	_ = n.Send(ib.PID(), "marker")
	if m := recv(t, ib); m != "marker" {
		t.Fatalf("Down was not flushed: got %v", m)
	}
}

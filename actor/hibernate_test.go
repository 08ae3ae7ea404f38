package actor_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/internal/testkit"
)

// TestHibernateKeepsLinksAndMonitors: a process that hibernated after
// growing and shrinking its links and watchers still signals the ones it
// kept when it exits.
func TestHibernateKeepsLinksAndMonitors(t *testing.T) {
	n := newNode(t)
	ctx := ctxT(t)
	watcher := newInbox(t, n, actor.WithTrapExit())
	errStop := errors.New("stop")
	pid, err := n.Spawn(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
		switch m := msg.(type) {
		case string: // grow: link to 40 fresh processes, then unlink all
			var pids []actor.PID
			for range 40 {
				p, err := c.Spawn(dieOn{})
				if err != nil {
					return err
				}
				c.Link(p)
				pids = append(pids, p)
			}
			for _, p := range pids {
				c.Unlink(p)
			}
			c.Hibernate()
		case error:
			return m
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Link(ctx, pid); err != nil {
		t.Fatal(err)
	}
	var refs []actor.Ref
	for range 30 { // past the inline watcher form
		ref, err := watcher.Monitor(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if err := watcher.Do(ctx, func(c *actor.Context) error {
		for _, ref := range refs[1:] {
			c.Demonitor(ref)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = n.Send(pid, "grow")
	testkit.Eventually(t, 30*time.Second, func() error {
		info, err := n.ProcessInfo(ctx, pid)
		if err != nil {
			return err
		}
		if info.Status != actor.StatusWaiting || len(info.Links) != 1 || len(info.MonitoredBy) != 1 {
			return fmt.Errorf("status %v, links %v, monitored by %v", info.Status, info.Links, info.MonitoredBy)
		}
		return nil
	})
	_ = n.Send(pid, errStop)
	var gotExit, gotDown bool
	for !gotExit || !gotDown {
		switch m := recv(t, watcher).(type) {
		case actor.Exit:
			gotExit = m.From == pid && errors.Is(m.Reason, errStop)
		case actor.Down:
			gotDown = m.Ref == refs[0] && errors.Is(m.Reason, errStop)
		default:
			t.Fatalf("watcher got %#v", m)
		}
	}
}

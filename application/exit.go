package application

import (
	"sync"

	"github.com/arbor-otp/arbor/actor"
)

// exitRecord keeps a controller's exit reason for Terminated, so that the
// reason is known however late it is asked for. A watch of the process
// itself would only know it from its own start on: once the process is
// gone, a new watch reports actor.NoProc.
type exitRecord struct {
	mu     sync.Mutex
	ended  bool
	reason error        // once ended
	subs   []chan error // Terminated channels waiting for the exit
}

func newExitRecord() *exitRecord { return &exitRecord{} }

// records maps each live controller's PID to its exit record, for
// ControllerOf. An entry goes once the controller's exit is known.
var records sync.Map // actor.PID → *exitRecord

// exitOf returns the record of the live controller pid, or nil.
func exitOf(pid actor.PID) *exitRecord {
	if e, ok := records.Load(pid); ok {
		return e.(*exitRecord)
	}
	return nil
}

// watch starts keeping the exit of the controller pid. It is called from
// the controller's Init, before any exit can happen; the one goroutine it
// starts ends with the controller.
func (e *exitRecord) watch(n *actor.Node, pid actor.PID) {
	records.Store(pid, e)
	w := n.WatchExit(pid)
	go func() {
		e.end(<-w)
		records.Delete(pid)
	}()
}

// end records the exit reason and hands it to every waiting channel.
func (e *exitRecord) end(reason error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ended, e.reason = true, reason
	for _, ch := range e.subs {
		ch <- reason
	}
	e.subs = nil
}

// subscribe returns a channel that receives the exit reason: at once if
// the controller has ended, else when it does.
func (e *exitRecord) subscribe() <-chan error {
	ch := make(chan error, 1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended {
		ch <- e.reason
	} else {
		e.subs = append(e.subs, ch)
	}
	return ch
}

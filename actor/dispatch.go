package actor

import (
	"runtime"
	"sync"
)

// dispatcher runs processes that have work on a pool of worker goroutines.
// A worker that finishes a process's batch waits for the next process to run
// instead of exiting, so its stack, already grown by handler code, is reused;
// starting a goroutine per activation cost more in stack growth than the
// handler itself. A new worker starts only when none is idle, and idle
// workers beyond four per CPU exit, so a node at rest keeps at most that many
// parked goroutines whatever its peak load was.
type dispatcher struct {
	handoff chan *Context
	quit    chan struct{}
	idle    chan struct{} // one token per idle worker, bounds the idle pool
	wg      sync.WaitGroup
}

func newDispatcher() *dispatcher {
	return &dispatcher{
		handoff: make(chan *Context),
		quit:    make(chan struct{}),
		idle:    make(chan struct{}, 4*runtime.GOMAXPROCS(0)),
	}
}

// schedule runs c's loop on an idle worker, or on a new one.
func (d *dispatcher) schedule(c *Context) {
	select {
	case d.handoff <- c:
	default:
		d.wg.Add(1)
		go d.work(c)
	}
}

func (d *dispatcher) work(c *Context) {
	defer d.wg.Done()
	for {
		c.run()
		select {
		case d.idle <- struct{}{}:
		default:
			return // enough idle workers already
		}
		select {
		case c = <-d.handoff:
			<-d.idle
		case <-d.quit:
			<-d.idle
			return
		}
	}
}

// stop ends the idle workers and waits for every worker to return.
func (d *dispatcher) stop() {
	close(d.quit)
	d.wg.Wait()
}

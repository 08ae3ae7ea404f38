package actor

import (
	"sync"
	"sync/atomic"
)

// procTable maps a PID's slot to its live process. Lookups are two atomic
// loads and never take a lock, so senders to the same process do not contend;
// spawn and exit take a mutex to manage the free list. A slot's serial grows
// each time it is reused, so a stale PID never reaches a newer process.
type procTable struct {
	dir atomic.Pointer[[]*procChunk]

	mu   sync.Mutex
	free []uint32
	next uint32
	live int
}

const chunkBits = 10
const chunkSize = 1 << chunkBits

type procChunk struct {
	slots   [chunkSize]atomic.Pointer[Context]
	serials [chunkSize]uint32 // guarded by procTable.mu
}

// insert gives p a slot and returns its index and serial.
func (t *procTable) insert(p *Context) (uint32, uint32) {
	t.mu.Lock()
	var idx uint32
	if n := len(t.free); n > 0 {
		idx = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		idx = t.next
		t.next++
		t.grow(idx)
	}
	c := (*t.dir.Load())[idx>>chunkBits]
	c.serials[idx&(chunkSize-1)]++
	serial := c.serials[idx&(chunkSize-1)]
	t.live++
	p.self.index, p.self.serial = idx, serial
	c.slots[idx&(chunkSize-1)].Store(p)
	t.mu.Unlock()
	return idx, serial
}

// grow makes sure the chunk holding idx exists. Called with t.mu held.
func (t *procTable) grow(idx uint32) {
	var dir []*procChunk
	if d := t.dir.Load(); d != nil {
		dir = *d
	}
	if int(idx>>chunkBits) < len(dir) {
		return
	}
	nd := make([]*procChunk, len(dir)+1)
	copy(nd, dir)
	nd[len(dir)] = new(procChunk)
	t.dir.Store(&nd)
}

// get returns the live process at index with the given serial, or nil.
func (t *procTable) get(index, serial uint32) *Context {
	d := t.dir.Load()
	if d == nil || int(index>>chunkBits) >= len(*d) {
		return nil
	}
	p := (*d)[index>>chunkBits].slots[index&(chunkSize-1)].Load()
	if p == nil || p.self.serial != serial {
		return nil
	}
	return p
}

// remove frees p's slot.
func (t *procTable) remove(p *Context) {
	t.mu.Lock()
	c := (*t.dir.Load())[p.self.index>>chunkBits]
	slot := &c.slots[p.self.index&(chunkSize-1)]
	if slot.Load() == p {
		slot.Store(nil)
		t.free = append(t.free, p.self.index)
		t.live--
	}
	t.mu.Unlock()
}

// count returns the number of live processes.
func (t *procTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.live
}

// each calls f for every live process. f must not call back into the table.
func (t *procTable) each(f func(*Context)) {
	d := t.dir.Load()
	if d == nil {
		return
	}
	for _, c := range *d {
		for i := range c.slots {
			if p := c.slots[i].Load(); p != nil {
				f(p)
			}
		}
	}
}

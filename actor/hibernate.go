package actor

// Hibernate asks the process to give back what it holds while idle (OTP's
// erlang:hibernate). An idle Arbor process holds no goroutine and no stack
// already; what it still holds are buffers sized by its past peaks: the
// mailbox's message buffers (grown by a burst of messages), the signal
// buffer, the maps of links and deferred calls, which Go never shrinks, and
// the list of monitors. When the process next finds its mailbox empty, it
// drops the buffers and rebuilds the maps and the list at their current
// size, so the garbage collector can reclaim the rest; the next message
// makes them grow again. If a message is already waiting, the process
// handles it first and hibernates when it runs out of messages.
//
// Call Hibernate only from the process's own goroutine (inside Receive). It
// costs allocations on wake-up: use it for processes expected to stay idle
// for long, not between every two messages.
func (c *Context) Hibernate() { c.hibernating = true }

// shrink releases an idle process's buffers; see Hibernate. It runs on the
// process goroutine, with the mailbox lock held and the mailbox empty.
func (c *Context) shrink() {
	c.hibernating = false
	c.inbox.inline = nil
	c.sys = nil
	c.spare, c.sysSpare = nil, nil
	c.watchers.compact()
	c.links = compactMap(c.links)
	c.monitors.shrink()
	for r := range c.deferred {
		if r.Done() {
			delete(c.deferred, r)
		}
	}
	c.deferred = compactMap(c.deferred)
}

// compactMap returns a map holding m's entries at m's current size, or nil
// for an empty one: a Go map keeps the buckets of its largest size.
func compactMap[K comparable, V any](m map[K]V) map[K]V {
	if len(m) == 0 {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// compact moves a watcher map that shrank back to the inline form, or
// rebuilds it at its current size.
func (w *watcherSet) compact() {
	if w.m == nil {
		if len(w.list) == 0 {
			w.list = nil
		} else {
			w.list = append([]watch(nil), w.list...)
		}
		return
	}
	if len(w.m) > smallWatchers {
		w.m = compactMap(w.m)
		return
	}
	m := w.m
	*w = watcherSet{}
	for ref, pid := range m {
		w.add(ref, pid)
	}
}

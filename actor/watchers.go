package actor

// watcherSet holds the monitors other processes have on a process. It is
// guarded by the process's mailbox lock, so a monitor is recorded by the
// process that asks for it, without waking the monitored process. Small sets
// are a slice; past smallWatchers they move to a map.
type watcherSet struct {
	one  watch // the first watcher, inline: most processes have at most one
	list []watch
	m    map[Ref]PID
}

type watch struct {
	ref Ref
	pid PID
}

const smallWatchers = 16

func (w *watcherSet) add(ref Ref, pid PID) {
	if w.m != nil {
		w.m[ref] = pid
		return
	}
	if w.one.ref.IsZero() {
		w.one = watch{ref, pid}
		return
	}
	if len(w.list) < smallWatchers {
		w.list = append(w.list, watch{ref, pid})
		return
	}
	w.m = make(map[Ref]PID, 2*smallWatchers)
	for _, x := range w.list {
		w.m[x.ref] = x.pid
	}
	w.m[w.one.ref] = w.one.pid
	w.one, w.list = watch{}, nil
	w.m[ref] = pid
}

func (w *watcherSet) remove(ref Ref) {
	if w.m != nil {
		delete(w.m, ref)
		return
	}
	if w.one.ref == ref {
		w.one = watch{}
		return
	}
	for i := range w.list {
		if w.list[i].ref == ref {
			last := len(w.list) - 1
			w.list[i] = w.list[last]
			w.list[last] = watch{}
			w.list = w.list[:last]
			return
		}
	}
}

func (w *watcherSet) each(f func(ref Ref, pid PID)) {
	if w.m != nil {
		for ref, pid := range w.m {
			f(ref, pid)
		}
		return
	}
	if !w.one.ref.IsZero() {
		f(w.one.ref, w.one.pid)
	}
	for _, x := range w.list {
		f(x.ref, x.pid)
	}
}

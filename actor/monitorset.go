package actor

// monitorList is the monitors a process holds: each monitored PID by the id
// of its Ref. Ref ids come from the node's counter, so a process adds its
// monitors in increasing id order, and the set is a slice sorted by id:
// adding appends (no hashing, no probe of a large table, no rehash as it
// grows: a process such as a registry's scope process holds one monitor
// per registered process), finding one halves the slice. A removed monitor
// leaves a hole until holes are half the slice, which is then compacted.
// The slice doubles as it grows (append grows a large slice by a quarter,
// which allocates and copies five times its final size on the way). It
// belongs to the process's goroutine.
type monitorList struct {
	ents []monitorEnt
	live int // entries that are not holes
}

// monitorSet is a process's monitorList, made at its first monitor: most
// processes hold none, and the pointer keeps the process record in its
// size class (TestProcessRecordLayout).
type monitorSet struct{ l *monitorList }

func (s *monitorSet) len() int {
	if s.l == nil {
		return 0
	}
	return s.l.len()
}

func (s *monitorSet) add(id uint64, pid PID) {
	if s.l == nil {
		s.l = &monitorList{}
	}
	s.l.add(id, pid)
}

func (s *monitorSet) remove(id uint64) (PID, bool) {
	if s.l == nil {
		return PID{}, false
	}
	return s.l.remove(id)
}

// drop removes monitor id, reporting whether the process held it.
func (s *monitorSet) drop(id uint64) bool {
	_, ok := s.remove(id)
	return ok
}

func (s *monitorSet) each(f func(id uint64, pid PID)) {
	if s.l != nil {
		s.l.each(f)
	}
}

// shrink gives back the list's spare room, and the list itself when it
// is empty (see Hibernate).
func (s *monitorSet) shrink() {
	if s.l == nil {
		return
	}
	if s.l.live == 0 {
		s.l = nil
		return
	}
	s.l.shrink()
}

// reset drops every monitor (the process exits).
func (s *monitorSet) reset() { s.l = nil }

type monitorEnt struct {
	id  uint64
	pid PID // holePID in a hole (removed: the monitored PID may be the zero PID)
}

// holePID marks a removed entry: a PID of no node.
var holePID = PID{node: &nodeIdent{}}

func (e *monitorEnt) hole() bool { return e.pid.node == holePID.node }

// len returns the number of monitors.
func (s *monitorList) len() int { return s.live }

// add records monitor id on pid.
func (s *monitorList) add(id uint64, pid PID) {
	n := len(s.ents)
	if n == cap(s.ents) {
		ents := make([]monitorEnt, n, max(4, 2*n))
		copy(ents, s.ents)
		s.ents = ents
	}
	if n == 0 || s.ents[n-1].id < id {
		s.ents = append(s.ents, monitorEnt{id: id, pid: pid})
		s.live++
		return
	}
	i, found := s.search(id) // an id made earlier than the last added: kept sorted all the same
	if found {
		if s.ents[i].hole() {
			s.live++
		}
		s.ents[i] = monitorEnt{id: id, pid: pid}
		return
	}
	s.ents = append(s.ents, monitorEnt{})
	copy(s.ents[i+1:], s.ents[i:])
	s.ents[i] = monitorEnt{id: id, pid: pid}
	s.live++
}

// remove drops monitor id and returns its PID, or reports false if the
// process holds no such monitor.
func (s *monitorList) remove(id uint64) (PID, bool) {
	i, found := s.search(id)
	if !found || s.ents[i].hole() {
		return PID{}, false
	}
	pid := s.ents[i].pid
	s.ents[i].pid = holePID
	s.live--
	switch {
	case s.live == 0:
		s.ents = s.ents[:0]
	case len(s.ents) >= 16 && s.live < len(s.ents)/2:
		s.compact(s.ents[:0])
	}
	return pid, true
}

// search returns the index of the first entry whose id is id or more, and
// whether it is id.
func (s *monitorList) search(id uint64) (int, bool) {
	lo, hi := 0, len(s.ents)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.ents[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s.ents) && s.ents[lo].id == id
}

// compact moves the live entries, in order, to the front of dst (which
// may share s.ents' array from its start) and keeps them.
func (s *monitorList) compact(dst []monitorEnt) {
	for _, e := range s.ents {
		if !e.hole() {
			dst = append(dst, e)
		}
	}
	clear(s.ents[len(dst):])
	s.ents = dst
}

// each calls f with every monitor, in the order they were made.
func (s *monitorList) each(f func(id uint64, pid PID)) {
	for _, e := range s.ents {
		if !e.hole() {
			f(e.id, e.pid)
		}
	}
}

// shrink gives back the slice's spare room (see Hibernate).
func (s *monitorList) shrink() {
	if s.live == 0 {
		s.ents = nil
		return
	}
	s.compact(make([]monitorEnt, 0, s.live))
}

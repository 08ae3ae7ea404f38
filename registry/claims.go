package registry

// claimMap holds the claims of one peer node, by name: an open-addressing
// table as the names table is, but the scope process's alone (no atomics,
// no readers), keeping each name's hash beside its claim. A receiver puts
// a claim in it for every name the peer registers: a Go map rehashed every
// key it moved as it grew (reading each key's string, a cache miss each at
// 100k names), and the names table hashed the same name again. The hash is
// the names table's (hashString), so that applying a remote name hashes it
// once for both.
type claimMap struct {
	slots []claimSlot // a power of two long, or nil
	live  int         // claims
	used  int         // slots not free: claims and tombstones
}

type claimSlot struct {
	h uint64
	c *claim // nil: free; claimTomb: removed
}

// claimTomb marks the slot of a removed claim.
var claimTomb = &claim{}

const minClaimSlots = 16

// len returns the number of claims.
func (m *claimMap) len() int { return m.live }

// get returns the claim on name, whose hash is h, or nil.
func (m *claimMap) get(name string, h uint64) *claim {
	if i := m.find(name, h); i >= 0 {
		return m.slots[i].c
	}
	return nil
}

// find returns the slot of the claim on name, whose hash is h, or -1.
func (m *claimMap) find(name string, h uint64) int {
	if m.live == 0 {
		return -1
	}
	mask := uint64(len(m.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.c == nil {
			return -1
		}
		if s.h == h && s.c != claimTomb && s.c.shown.key == name {
			return int(i)
		}
	}
}

// touch loads the slot where a probe for hash h starts, and returns
// what it read (see table.touch).
func (m *claimMap) touch(h uint64) uint64 {
	if len(m.slots) == 0 {
		return 0
	}
	return m.slots[h&uint64(len(m.slots)-1)].h
}

// set puts c (on the name c.shown.key, whose hash is h), replacing any
// claim on that name.
func (m *claimMap) set(h uint64, c *claim) {
	if 2*(m.used+1) > len(m.slots) {
		m.rebuild()
	}
	mask := uint64(len(m.slots) - 1)
	free := -1
	for i := h & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.c == nil {
			if free < 0 {
				free = int(i)
				m.used++
			}
			break
		}
		if s.c == claimTomb {
			if free < 0 {
				free = int(i)
			}
			continue
		}
		if s.h == h && s.c.shown.key == c.shown.key {
			s.c = c
			return
		}
	}
	m.slots[free] = claimSlot{h: h, c: c}
	m.live++
}

// del removes the claim on name, whose hash is h, and returns it (nil if
// none).
func (m *claimMap) del(name string, h uint64) *claim {
	i := m.find(name, h)
	if i < 0 {
		return nil
	}
	c := m.slots[i].c
	m.slots[i].c = claimTomb
	m.live--
	return c
}

// rebuild makes room for one more claim: a slot array twice as large if
// the claims fill a quarter of the current one, else the same size
// without the tombstones. It reads only the slots, not the claims.
func (m *claimMap) rebuild() {
	size := max(len(m.slots), minClaimSlots)
	if 4*(m.live+1) > size {
		size *= 2
	}
	old := m.slots
	m.slots = make([]claimSlot, size)
	mask := uint64(size - 1)
	for _, s := range old {
		if s.c == nil || s.c == claimTomb {
			continue
		}
		i := s.h & mask
		for m.slots[i].c != nil {
			i = (i + 1) & mask
		}
		m.slots[i] = s
	}
	m.used = m.live
}

// each calls fn for every claim, in no particular order; fn must not
// change m.
func (m *claimMap) each(fn func(c *claim)) {
	for _, s := range m.slots {
		if s.c != nil && s.c != claimTomb {
			fn(s.c)
		}
	}
}

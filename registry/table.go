package registry

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/arbor-otp/arbor/actor"
)

// table is the read side of a scope's names (and group memberships): an
// open-addressing hash table that one goroutine, the scope process, writes
// and any goroutine reads without locks. A reader loads the current slot
// array and probes it with atomic loads; the writer stores immutable items
// into slots (replacing an item is one store, removing one stores the
// tombstone), and publishes a rebuilt slot array when the table fills up,
// never touching the old array again. So a read sees each write entirely
// or not at all, and a read that starts after a write was made sees it.
//
// Compared with a sync.Map, a lookup is one hash and usually one or two
// cache lines, and a write allocates only its item.
type table[K comparable, V any] struct {
	hash func(K) uint64
	cur  atomic.Pointer[slots[K, V]]
	tomb *item[K, V] // stored in the slot of a removed item; no key's

	// Writer side.
	live int // items
	used int // non-nil slots: items and tombstones
}

type slots[K comparable, V any] struct {
	mask uint64
	s    []slot[K, V]
}

// slot holds an item and its key's hash beside it, so that a probe that
// passes other keys reads only the slot array, not their items (each a
// cache miss of its own in a big table). The writer stores the hash
// before the item; a slot's hash changes only when a new key takes a free
// slot or a tombstone's, so a reader that loads the item first and then
// the hash sees the hash of that item or of one that replaced it.
type slot[K comparable, V any] struct {
	p atomic.Pointer[item[K, V]]
	h atomic.Uint64
}

// item is an immutable key and value; a new item replaces it on update.
type item[K comparable, V any] struct {
	key K
	val V
}

const minTableSize = 16

func newTable[K comparable, V any](hash func(K) uint64) *table[K, V] {
	t := &table[K, V]{hash: hash, tomb: &item[K, V]{}}
	t.cur.Store(&slots[K, V]{mask: minTableSize - 1, s: make([]slot[K, V], minTableSize)})
	return t
}

// load returns the item of k, or nil. Any goroutine may call it.
func (t *table[K, V]) load(k K) *item[K, V] { return t.loadHashed(k, t.hash(k)) }

// loadHashed is load of a key whose hash h the caller has (t.hash(k)).
func (t *table[K, V]) loadHashed(k K, h uint64) *item[K, V] {
	d := t.cur.Load()
	for i := h & d.mask; ; i = (i + 1) & d.mask {
		it := d.s[i].p.Load()
		if it == nil {
			return nil
		}
		if d.s[i].h.Load() == h && it != t.tomb && it.key == k {
			return it
		}
	}
}

// touch loads the slot where a probe for hash h starts, and nothing
// else: in a big table that slot is a cache miss, and a caller that will
// probe for h and meanwhile make another independent load (of its own
// cache miss) touches first, so that the two misses are fetched together
// rather than one after the other. Only the writer calls it.
func (t *table[K, V]) touch(h uint64) {
	d := t.cur.Load()
	_ = d.s[h&d.mask].p.Load()
}

// store puts k's item, replacing any previous one, and returns the
// previous one (nil if none). Only the writer calls it.
func (t *table[K, V]) store(k K, v V) (prev *item[K, V]) {
	return t.put(&item[K, V]{key: k, val: v})
}

// put is store of an item the caller made (and gives up).
func (t *table[K, V]) put(it *item[K, V]) (prev *item[K, V]) { return t.putHashed(it, t.hash(it.key)) }

// putHashed is put of an item whose key's hash h the caller has.
func (t *table[K, V]) putHashed(it *item[K, V], h uint64) (prev *item[K, V]) {
	d := t.cur.Load()
	k := it.key
	free := -1
	for i := h & d.mask; ; i = (i + 1) & d.mask {
		cur := d.s[i].p.Load()
		if cur == nil {
			if free < 0 {
				free = int(i)
				t.used++
			}
			break
		}
		if cur == t.tomb {
			if free < 0 {
				free = int(i)
			}
			continue
		}
		if d.s[i].h.Load() == h && cur.key == k {
			d.s[i].p.Store(it)
			return cur
		}
	}
	d.s[free].h.Store(h)
	d.s[free].p.Store(it)
	t.live++
	if 2*t.used > len(d.s) {
		t.rebuild()
	}
	return nil
}

// each calls fn for every live item of the current slot array; fn must not
// change the table. Any goroutine may call it (it only loads atomically);
// items stored after it has passed their slot are missed, as a rebuild
// published meanwhile is.
func (t *table[K, V]) each(fn func(K, V)) {
	d := t.cur.Load()
	for i := range d.s {
		if it := d.s[i].p.Load(); it != nil && it != t.tomb {
			fn(it.key, it.val)
		}
	}
}

// remove drops k's item and returns it (nil if none). Only the writer
// calls it.
func (t *table[K, V]) remove(k K) *item[K, V] {
	d := t.cur.Load()
	h := t.hash(k)
	for i := h & d.mask; ; i = (i + 1) & d.mask {
		cur := d.s[i].p.Load()
		if cur == nil {
			return nil
		}
		if d.s[i].h.Load() == h && cur != t.tomb && cur.key == k {
			d.s[i].p.Store(t.tomb)
			t.live--
			return cur
		}
	}
}

// rebuild publishes a new slot array holding the live items: twice as
// large if they fill a quarter of the current one, else the same size
// without the tombstones.
func (t *table[K, V]) rebuild() {
	old := t.cur.Load()
	size := len(old.s)
	if 4*t.live > size {
		size *= 2
	}
	d := &slots[K, V]{mask: uint64(size - 1), s: make([]slot[K, V], size)}
	for j := range old.s {
		it := old.s[j].p.Load()
		if it == nil || it == t.tomb {
			continue
		}
		h := old.s[j].h.Load()
		i := h & d.mask
		for d.s[i].p.Load() != nil {
			i = (i + 1) & d.mask
		}
		d.s[i].h.Store(h)
		d.s[i].p.Store(it)
	}
	t.used = t.live
	t.cur.Store(d)
}

// drop removes every item for which gone reports true, in one pass over
// the slots, and returns how many it removed: a purge of a lost node's
// names removes most of a table, and one by one each removal would hash
// and probe again. Each removal stores the tombstone, as remove does; a
// table left mostly tombstones is rebuilt. gone must not change the
// table. Only the writer calls it.
func (t *table[K, V]) drop(gone func(*item[K, V]) bool) int {
	d := t.cur.Load()
	removed := 0
	for i := range d.s {
		if it := d.s[i].p.Load(); it != nil && it != t.tomb && gone(it) {
			d.s[i].p.Store(t.tomb)
			removed++
		}
	}
	t.live -= removed
	if removed > 0 && t.used > 2*t.live+minTableSize {
		t.rebuild()
	}
	return removed
}

// Hash functions of the tables, seeded per process run.
var hashSeed = maphash.MakeSeed()

func hashString(s string) uint64 { return maphash.String(hashSeed, s) }

func hashMember(k memberKey) uint64 {
	index, serial := k.pid.ID()
	return mix(maphash.String(hashSeed, k.group) ^ (uint64(index)<<32 | uint64(serial)))
}

// mix spreads every bit of x over the whole word (splitmix64's finalizer),
// since a table uses the low bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// nameTable maps names to registrations.
type nameTable = table[string, nameEntry]

// memberTable maps (group, pid) to memberships, for IsMember.
type memberTable = table[memberKey, memberMeta]

// procIndex is the scope process's record of the local processes it
// monitors, indexed by the slot of the process in the node's process table
// (actor.PID.ID), which is dense: a lookup is two array loads instead of a
// hash-map probe. The records are held in pages by value, so a new
// process's record is no allocation of its own (a page holds 64); a page
// never moves, so a record's address holds until it is removed. A slot is
// reused by a new process only after the old one exited, but the old
// record stays until its Down is handled; such a second process of the
// same slot goes to the overflow map meanwhile. A page whose last record
// is removed is given up, but one is kept aside for the next page needed,
// so that a process registering and unregistering alone does not make a
// page each time: after a peak, the index keeps the records in use and one
// empty page, not every page the peak needed.
type procIndex struct {
	pages    []*procPage
	spare    *procPage // an empty page, for the next page needed
	overflow map[actor.PID]*procState
}

const procPageBits = 6

// procPage holds the records of 64 consecutive slots; a free one has the
// zero PID. live counts the others.
type procPage struct {
	slots [1 << procPageBits]procState
	live  int
}

func (x *procIndex) get(pid actor.PID) *procState {
	idx, _ := pid.ID()
	if pg := int(idx >> procPageBits); pg < len(x.pages) && x.pages[pg] != nil {
		if ps := &x.pages[pg].slots[idx&(1<<procPageBits-1)]; ps.pid == pid && !pid.IsZero() {
			return ps // (a free slot's pid is the zero PID)
		}
	}
	if len(x.overflow) > 0 {
		return x.overflow[pid]
	}
	return nil
}

// add returns a new record for pid, which has none, with only its pid
// set: in pid's slot, or in the overflow map while the slot holds the
// record of an older process.
func (x *procIndex) add(pid actor.PID) *procState {
	idx, _ := pid.ID()
	pg := int(idx >> procPageBits)
	for pg >= len(x.pages) {
		x.pages = append(x.pages, nil)
	}
	if x.pages[pg] == nil {
		if x.pages[pg] = x.spare; x.spare == nil {
			x.pages[pg] = new(procPage)
		}
		x.spare = nil
	}
	page := x.pages[pg]
	ps := &page.slots[idx&(1<<procPageBits-1)]
	if !ps.pid.IsZero() {
		if x.overflow == nil {
			x.overflow = make(map[actor.PID]*procState)
		}
		ps = &procState{pid: pid}
		x.overflow[pid] = ps
		return ps
	}
	page.live++
	ps.pid = pid
	return ps
}

// each calls fn for every record, in no particular order.
func (x *procIndex) each(fn func(*procState)) {
	for _, pg := range x.pages {
		if pg == nil {
			continue
		}
		for i := range pg.slots {
			if ps := &pg.slots[i]; !ps.pid.IsZero() {
				fn(ps)
			}
		}
	}
	for _, ps := range x.overflow {
		fn(ps)
	}
}

// remove drops pid's record; the slot's memory is then free for another
// process's, so a *procState of pid must not be used after.
func (x *procIndex) remove(pid actor.PID) {
	idx, _ := pid.ID()
	if pg := int(idx >> procPageBits); pg < len(x.pages) && x.pages[pg] != nil {
		page := x.pages[pg]
		if slot := &page.slots[idx&(1<<procPageBits-1)]; slot.pid == pid {
			*slot = procState{}
			if page.live--; page.live == 0 {
				x.pages[pg] = nil
				if x.spare == nil {
					x.spare = page // every slot is zero again
				}
			}
			return
		}
	}
	delete(x.overflow, pid)
}

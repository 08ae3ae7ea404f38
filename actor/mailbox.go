package actor

import "sync"

// msgQueue is the message part of a mailbox, guarded by the process's
// mailbox lock. Up to inlineCap messages go into a small slice that is reused
// from batch to batch; past that, messages go into fixed-size segments taken
// from a pool and linked, so a backlog grows without ever copying what is
// already queued, and the segments go back to the pool once handled.
type msgQueue struct {
	inline []envelope
	head   *segment
	tail   *segment
	n      int
}

const (
	inlineCap = 64
	segSize   = 256
)

type segment struct {
	buf  [segSize]envelope
	n    int
	next *segment
}

var segments = sync.Pool{New: func() any { return new(segment) }}

func (q *msgQueue) push(e envelope) {
	q.n++
	if q.tail == nil && len(q.inline) < inlineCap {
		q.inline = append(q.inline, e)
		return
	}
	if q.tail == nil || q.tail.n == segSize {
		s := segments.Get().(*segment)
		if q.tail == nil {
			q.head = s
		} else {
			q.tail.next = s
		}
		q.tail = s
	}
	q.tail.buf[q.tail.n] = e
	q.tail.n++
}

// batch is what the process takes from its queue in one go: the inline
// messages, then the segments, in arrival order.
type batch struct {
	inline []envelope
	segs   *segment
}

// take moves every queued message into a batch and leaves the queue empty,
// with spare (an empty slice) as its next inline buffer.
func (q *msgQueue) take(spare []envelope) batch {
	b := batch{inline: q.inline, segs: q.head}
	q.inline, q.head, q.tail, q.n = spare, nil, nil, 0
	return b
}

// release returns a handled segment to the pool.
func releaseSegment(s *segment) {
	clear(s.buf[:s.n])
	s.n, s.next = 0, nil
	segments.Put(s)
}

// failAll fails every request left in b and releases its segments.
func (b batch) failAll(reason error) {
	failRequests(b.inline, reason)
	for s := b.segs; s != nil; {
		next := s.next
		failRequests(s.buf[:s.n], reason)
		releaseSegment(s)
		s = next
	}
}

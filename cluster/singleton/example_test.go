package singleton_test

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/cluster/singleton"
	"github.com/arbor-otp/arbor/supervision"
)

// Two supervisors, as on two nodes, run the same singleton under a shared
// lock: the first holds it, the second takes over when the first stops,
// with a larger fencing token. Real deployments use consul.NewLocker; the
// example uses a lock in memory (memLocker, below) so it runs anywhere.
func ExampleSpec() {
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = node.Stop(context.Background()) }()
	locks := newMemLocks()

	started := make(chan string, 2)
	billing := func(holder string) supervision.ChildSpec {
		return supervision.ChildSpec{
			ID: "billing",
			Start: func(ctx *actor.Context) (actor.PID, error) {
				tok, err := singleton.FencingToken(ctx)
				if err != nil {
					return actor.PID{}, err
				}
				started <- fmt.Sprintf("billing runs on %s with token %d", holder, tok)
				return ctx.SpawnLink(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
			},
		}
	}
	supA, _ := supervision.Start(node, []supervision.ChildSpec{
		singleton.Spec(billing("a"), singleton.WithLock(locks.holder("a"))),
	})
	fmt.Println(<-started)
	supB, _ := supervision.Start(node, []supervision.ChildSpec{
		singleton.Spec(billing("b"), singleton.WithLock(locks.holder("b"))),
	})
	_ = supervision.Stop(context.Background(), node, supA) // a's node goes away
	fmt.Println(<-started)
	_ = supervision.Stop(context.Background(), node, supB)
	// Output:
	// billing runs on a with token 1
	// billing runs on b with token 2
}

// memLocks is a cluster.Locker in memory: one lock per key, tokens from a
// counter.
type memLocks struct {
	mu    sync.Mutex
	held  map[string]*memLease
	free  chan struct{} // closed and replaced when a lock is released
	token uint64
	last  map[string]string
}

func newMemLocks() *memLocks {
	return &memLocks{held: map[string]*memLease{}, free: make(chan struct{}), last: map[string]string{}}
}

// holder is the Locker one node uses.
func (m *memLocks) holder(name string) cluster.Locker { return memLocker{m, name} }

type memLocker struct {
	m    *memLocks
	name string
}

func (l memLocker) Acquire(ctx context.Context, key string) (cluster.Lease, error) {
	for {
		l.m.mu.Lock()
		if l.m.held[key] == nil {
			l.m.token++
			le := &memLease{m: l.m, key: key, token: l.m.token, lost: make(chan struct{})}
			if prev := l.m.last[key]; prev != l.name {
				le.previous = prev
			}
			l.m.held[key], l.m.last[key] = le, l.name
			l.m.mu.Unlock()
			return le, nil
		}
		free := l.m.free
		l.m.mu.Unlock()
		select {
		case <-free:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

type memLease struct {
	m        *memLocks
	key      string
	token    uint64
	previous string
	lost     chan struct{}
	once     sync.Once
}

func (l *memLease) Key() string           { return l.key }
func (l *memLease) Token() uint64         { return l.token }
func (l *memLease) Previous() string      { return l.previous }
func (l *memLease) Lost() <-chan struct{} { return l.lost }

func (l *memLease) Held() bool {
	select {
	case <-l.lost:
		return false
	default:
		return true
	}
}

func (l *memLease) Err() error {
	if l.Held() {
		return nil
	}
	return cluster.ErrLeaseReleased
}

func (l *memLease) Release(context.Context) error {
	l.once.Do(func() {
		l.m.mu.Lock()
		defer l.m.mu.Unlock()
		close(l.lost)
		delete(l.m.held, l.key)
		close(l.m.free)
		l.m.free = make(chan struct{})
	})
	return nil
}

// Command floor is the physical floor: every workload done with bare
// goroutines, channels, a mutex-guarded map and a raw TCP connection. No
// runtime does less work than this.
package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-otp/arbor/bench/internal/harness"
	"github.com/arbor-otp/arbor/bench/internal/wire"
)

func main() {
	harness.Main(harness.System{
		Name: "floor",
		Setting: []string{
			"goroutine per server, unbuffered request channel with a reused reply channel, 1024-slot cast channel",
			"names/groups: map under sync.RWMutex; remote: one TCP connection, 9-byte frames, bufio",
		},
		Call:    newCall,
		Cast:    newCast,
		Spawn:   newSpawner,
		Restart: newRestarter,
		Names:   newNames,
		Groups:  newGroups,
		Peer:    peer,
		Remote:  remote,
	})
}

type req struct {
	v     int
	reply chan int
}

type callSrv struct {
	in    chan req
	reply chan int
}

func newCall() (harness.CallServer, error) {
	s := &callSrv{in: make(chan req), reply: make(chan int, 1)}
	go func() {
		for r := range s.in {
			r.reply <- r.v
		}
	}()
	return s, nil
}

func (s *callSrv) Call(i int) error {
	s.in <- req{i, s.reply}
	if <-s.reply != i {
		return errors.New("wrong reply")
	}
	return nil
}
func (s *callSrv) Close() { close(s.in) }

type castSrv struct {
	in   chan int
	done chan struct{}
}

func newCast(total int) (harness.CastServer, error) {
	s := &castSrv{in: make(chan int, 1024), done: make(chan struct{})}
	go func() {
		n := 0
		for range s.in {
			n++
			if n == total {
				close(s.done)
			}
		}
	}()
	return s, nil
}

func (s *castSrv) Send(_, i int) error { s.in <- i; return nil }
func (s *castSrv) Wait() error {
	select {
	case <-s.done:
		return nil
	case <-time.After(time.Minute):
		return errors.New("timeout")
	}
}
func (s *castSrv) Close() { close(s.in) }

// idle is an initialised idle server: its state, its mailbox.
type idle struct {
	in    chan any
	state int
}

type spawner struct{ stopped atomic.Int64 }

func newSpawner() (harness.Spawner, error) { return &spawner{}, nil }

func (sp *spawner) SpawnIdle() (any, error) {
	p := &idle{in: make(chan any, 1)}
	p.state = 1 // init, done before the spawn returns
	go func() {
		for range p.in {
		}
		sp.stopped.Add(1)
	}()
	return p, nil
}
func (sp *spawner) WaitInitialised(int) error { return nil }
func (sp *spawner) Stop(h any) error          { close(h.(*idle).in); return nil }
func (sp *spawner) WaitStopped(n int) error {
	return harness.Until(time.Minute, "stopped", func() bool { return sp.stopped.Load() >= int64(n) })
}
func (sp *spawner) Close() {}

// worker answers calls until killed.
type worker struct {
	in   chan req
	kill chan struct{}
}

type restarter struct {
	cur   atomic.Pointer[worker]
	exits chan *worker
	quit  chan struct{}
	reply chan int
}

func newRestarter() (harness.Restarter, error) {
	r := &restarter{exits: make(chan *worker), quit: make(chan struct{}), reply: make(chan int, 1)}
	start := func() {
		w := &worker{in: make(chan req), kill: make(chan struct{})}
		go func() {
			for {
				select {
				case q := <-w.in:
					q.reply <- q.v
				case <-w.kill:
					r.exits <- w
					return
				}
			}
		}()
		r.cur.Store(w)
	}
	start()
	go func() { // the supervisor
		for {
			select {
			case <-r.exits:
				start()
			case <-r.quit:
				return
			}
		}
	}()
	return r, nil
}

func (r *restarter) Current() (any, error) { return r.cur.Load(), nil }
func (r *restarter) Kill(h any) error      { close(h.(*worker).kill); return nil }
func (r *restarter) TryCall(old any) (any, bool) {
	w := r.cur.Load()
	if w == old.(*worker) {
		return nil, false
	}
	w.in <- req{1, r.reply}
	<-r.reply
	return w, true
}
func (r *restarter) Close() { close(r.quit) }

type names struct {
	mu    sync.RWMutex
	m     map[string]*idle
	procs []*idle
	keys  []string
}

func newNames(n int) (harness.Names, error) {
	s := &names{m: make(map[string]*idle), procs: make([]*idle, n), keys: make([]string, n)}
	for i := range s.procs {
		s.procs[i] = &idle{in: make(chan any, 1)}
		p := s.procs[i]
		go func() {
			for range p.in {
			}
		}()
		s.keys[i] = "n" + strconv.Itoa(i)
	}
	return s, nil
}

func (s *names) Register(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[s.keys[i]]; ok {
		return errors.New("taken")
	}
	s.m[s.keys[i]] = s.procs[i]
	return nil
}
func (s *names) Lookup(i int) error {
	s.mu.RLock()
	p := s.m[s.keys[i]]
	s.mu.RUnlock()
	if p != s.procs[i] {
		return errors.New("wrong process")
	}
	return nil
}
func (s *names) Unregister(i int) error {
	s.mu.Lock()
	delete(s.m, s.keys[i])
	s.mu.Unlock()
	return nil
}
func (s *names) Close() {
	for _, p := range s.procs {
		close(p.in)
	}
}

type member struct {
	in chan *atomic.Int64
}

type groups struct {
	mu      sync.RWMutex
	g       []map[*member]struct{}
	members [][]*member
	done    chan struct{}
}

func newGroups(ng, size int) (harness.Groups, error) {
	s := &groups{g: make([]map[*member]struct{}, ng), members: make([][]*member, ng), done: make(chan struct{}, 1)}
	for g := range s.members {
		s.g[g] = map[*member]struct{}{}
		s.members[g] = make([]*member, size)
		for i := range s.members[g] {
			m := &member{in: make(chan *atomic.Int64, 16)}
			s.members[g][i] = m
			go func() {
				for left := range m.in {
					if left.Add(-1) == 0 {
						s.done <- struct{}{}
					}
				}
			}()
		}
	}
	return s, nil
}

func (s *groups) Join(g, i int) error {
	s.mu.Lock()
	s.g[g][s.members[g][i]] = struct{}{}
	s.mu.Unlock()
	return nil
}
func (s *groups) list(g int) []*member {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*member, 0, len(s.g[g]))
	for m := range s.g[g] {
		out = append(out, m)
	}
	return out
}
func (s *groups) Members(g int) (int, error) { return len(s.list(g)), nil }
func (s *groups) Leave(g, i int) error {
	s.mu.Lock()
	delete(s.g[g], s.members[g][i])
	s.mu.Unlock()
	return nil
}
func (s *groups) Publish(g int) error {
	ms := s.list(g)
	left := new(atomic.Int64)
	left.Store(int64(len(ms)))
	for _, m := range ms {
		m.in <- left
	}
	<-s.done
	return nil
}
func (s *groups) Close() {
	for _, ms := range s.members {
		for _, m := range ms {
			close(m.in)
		}
	}
}

func peer(self, _ int) error {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(self))
	if err != nil {
		return err
	}
	c, err := l.Accept()
	if err != nil {
		return err
	}
	w := wire.New(c)
	var count uint64
	for {
		op, v, err := w.Read()
		if err != nil {
			return nil
		}
		switch op {
		case wire.OpCall:
			_ = w.Write(wire.OpCall, v)
			_ = w.Flush()
		case wire.OpSend:
			count++
		case wire.OpCount:
			_ = w.Write(wire.OpCount, count)
			_ = w.Flush()
		}
	}
}

type client struct{ w *wire.Conn }

func remote(_, other int) (harness.RemoteClient, error) {
	var c net.Conn
	err := harness.Until(10*time.Second, "peer listening", func() bool {
		var err error
		c, err = net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(other))
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return &client{w: wire.New(c)}, nil
}

func (c *client) Call(i int) error {
	if err := c.w.Write(wire.OpCall, uint64(i)); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	_, v, err := c.w.Read()
	if err == nil && v != uint64(i) {
		err = fmt.Errorf("reply %d to %d", v, i)
	}
	return err
}
func (c *client) Send(i int) error { return c.w.Write(wire.OpSend, uint64(i)) }
func (c *client) WaitReceived(n int) error {
	return harness.Until(time.Minute, "sends received", func() bool {
		if c.w.Write(wire.OpCount, 0) != nil || c.w.Flush() != nil {
			return false
		}
		_, v, err := c.w.Read()
		return err == nil && v >= uint64(n)
	})
}
func (c *client) Close() { _ = c.w.Close() }

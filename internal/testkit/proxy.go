package testkit

import (
	"net"
	"sync"
	"testing"
)

// Fault is what a Proxy does to the traffic it carries.
type Fault uint8

const (
	// Pass forwards bytes both ways.
	Pass Fault = iota
	// Blackhole is a silent network cut: connections stay open and new
	// ones are accepted, but no byte crosses; bytes already read wait in
	// the proxy and cross once the fault is healed, as after a partition
	// that ends before TCP gives up.
	Blackhole
	// Reset is a loud cut: every open connection is closed and new ones
	// are closed as soon as they are accepted.
	Reset
	// Stall holds the connections open when it starts, as Blackhole does,
	// but forwards connections accepted afterwards: an old path that went
	// silent while a new one works. Bytes held on the old connections
	// cross once the fault is healed.
	Stall
)

func (f Fault) String() string {
	switch f {
	case Pass:
		return "pass"
	case Blackhole:
		return "blackhole"
	case Reset:
		return "reset"
	case Stall:
		return "stall"
	}
	return "unknown"
}

// Proxy is a fault-injecting TCP proxy on loopback: it accepts connections
// on Addr and forwards each to a target address, until told to cut the
// traffic with Cut and to let it through again with Heal. Use it to put a
// network between two nodes in one test.
type Proxy struct {
	l      net.Listener
	target string

	mu     sync.Mutex
	fault  Fault
	healed chan struct{} // closed when the current fault ends
	conns  map[*proxyConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// proxyConn is one accepted connection and its connection to the target.
type proxyConn struct {
	client net.Conn
	done   chan struct{}
	held   bool // open when a Stall started; guarded by Proxy.mu

	mu     sync.Mutex
	server net.Conn
	closed bool
}

func (c *proxyConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	close(c.done)
	_ = c.client.Close()
	if c.server != nil {
		_ = c.server.Close()
	}
}

// setServer records the connection to the target; it returns false (and
// closes server) if the connection was closed meanwhile.
func (c *proxyConn) setServer(server net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		_ = server.Close()
		return false
	}
	c.server = server
	return true
}

// NewProxy starts a proxy to target on a free loopback port, in Pass
// mode. It stops the test if it cannot listen, and closes the proxy when
// the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: listen: %v", err)
	}
	p := &Proxy{l: l, target: target, healed: make(chan struct{}), conns: make(map[*proxyConn]struct{})}
	close(p.healed)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr returns the host:port the proxy listens on.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Cut starts a fault (Blackhole, Reset or Stall; Pass heals). Calling it
// during another fault switches to the new one.
func (p *Proxy) Cut(f Fault) {
	if f == Pass {
		p.Heal()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fault == Pass {
		p.healed = make(chan struct{})
	}
	p.fault = f
	for c := range p.conns {
		switch f {
		case Reset:
			c.close()
		case Stall:
			c.held = true
		}
	}
}

// Fault returns the fault in force (Pass when none).
func (p *Proxy) Fault() Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault
}

// Heal ends the fault: bytes held by a Blackhole cross, and new
// connections are forwarded again.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fault != Pass {
		p.fault = Pass
		close(p.healed)
	}
	for c := range p.conns {
		c.held = false
	}
}

// Close stops the proxy, closes every connection and waits for its
// goroutines. It is safe to call more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		_ = p.l.Close()
		for c := range p.conns {
			c.close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.l.Accept()
		if err != nil {
			return // closed
		}
		c := &proxyConn{client: client, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed || p.fault == Reset {
			p.mu.Unlock()
			if tc, ok := client.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = client.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// serve connects to the target, once no fault stands in the way, and
// copies bytes both ways until either side closes.
func (p *Proxy) serve(c *proxyConn) {
	defer p.wg.Done()
	defer func() {
		c.close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	if !p.wait(c) {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !c.setServer(server) {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(c, server, c.client) }()
	go func() { defer wg.Done(); p.pipe(c, c.client, server) }()
	wg.Wait()
}

// wait blocks while a Blackhole or a Stall holds the connection's
// traffic. It returns false if the connection was closed meanwhile.
func (p *Proxy) wait(c *proxyConn) bool {
	for {
		p.mu.Lock()
		f, healed := p.fault, p.healed
		if f == Stall && !c.held {
			f = Pass
		}
		p.mu.Unlock()
		if f == Pass {
			return true
		}
		if f == Reset {
			return false
		}
		select {
		case <-healed:
		case <-c.done:
			return false
		}
	}
}

// pipe copies from src to dst, holding each chunk while the traffic is
// cut, and closes the connection when src ends or a write fails.
func (p *Proxy) pipe(c *proxyConn, dst, src net.Conn) {
	defer c.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(c) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection
		}
	}
}

package testkit

import (
	"slices"
	"testing"
)

// Mesh is the network between a set of nodes, with a Proxy on each
// ordered pair: node from reaches node to only at Route(from, to), a proxy
// to to's listen address that only from dials. Every connection from opens
// to to crosses that proxy, so its faults act on one direction of one
// pair:
//
//   - Cut(a, b, f) cuts what a sends to b while b's connections to a still
//     work: a one-way cut, as far as the nodes' own streams go (a node
//     sends its messages on the connections it opened, and receives on
//     those its peers opened);
//   - CutPair(a, b, f) cuts both ways between a and b only: a partial
//     netsplit when a third node still reaches both;
//   - Split(f, side...) cuts every pair with one node in side and one
//     outside: a full netsplit into two parts;
//   - Isolate(f, node) cuts node off from every other.
//
// A node is told its routes through its cluster's WithPeerAddr (one per
// peer: Routes lists them); its name keeps its own address. Heal and
// HealAll end faults. NewMesh closes every proxy when the test ends.
type Mesh struct {
	labels  []string
	proxies map[[2]string]*Proxy
}

// NewMesh starts a proxy for each ordered pair of the nodes in listen
// (label -> the address the node listens on), in Pass mode.
func NewMesh(t testing.TB, listen map[string]string) *Mesh {
	t.Helper()
	m := &Mesh{proxies: map[[2]string]*Proxy{}}
	for l := range listen {
		m.labels = append(m.labels, l)
	}
	slices.Sort(m.labels)
	for _, from := range m.labels {
		for _, to := range m.labels {
			if from != to {
				m.proxies[[2]string{from, to}] = NewProxy(t, listen[to])
			}
		}
	}
	return m
}

// Labels returns the nodes' labels, sorted.
func (m *Mesh) Labels() []string { return slices.Clone(m.labels) }

// Proxy returns the proxy that carries from's connections to to; it
// panics for an unknown pair, a mistake in the test itself.
func (m *Mesh) Proxy(from, to string) *Proxy {
	p, ok := m.proxies[[2]string{from, to}]
	if !ok {
		panic("testkit: mesh has no route " + from + " -> " + to)
	}
	return p
}

// Route returns the address from dials to reach to.
func (m *Mesh) Route(from, to string) string { return m.Proxy(from, to).Addr() }

// Routes returns from's routes: each other node's label and the address
// from dials it at.
func (m *Mesh) Routes(from string) map[string]string {
	out := map[string]string{}
	for _, to := range m.labels {
		if to != from {
			out[to] = m.Route(from, to)
		}
	}
	return out
}

// Cut starts fault f on from's connections to to only (one way).
func (m *Mesh) Cut(from, to string, f Fault) { m.Proxy(from, to).Cut(f) }

// Heal ends the fault on from's connections to to.
func (m *Mesh) Heal(from, to string) { m.Proxy(from, to).Heal() }

// CutPair starts fault f both ways between a and b, and nowhere else.
func (m *Mesh) CutPair(a, b string, f Fault) {
	m.Cut(a, b, f)
	m.Cut(b, a, f)
}

// HealPair ends the faults both ways between a and b.
func (m *Mesh) HealPair(a, b string) {
	m.Heal(a, b)
	m.Heal(b, a)
}

// Split starts fault f both ways on every pair with one node in side and
// the other outside it.
func (m *Mesh) Split(f Fault, side ...string) {
	for _, a := range side {
		for _, b := range m.labels {
			if !slices.Contains(side, b) {
				m.CutPair(a, b, f)
			}
		}
	}
}

// Isolate cuts node off from every other node, both ways.
func (m *Mesh) Isolate(f Fault, node string) { m.Split(f, node) }

// HealAll ends every fault of the mesh.
func (m *Mesh) HealAll() {
	for _, p := range m.proxies {
		p.Heal()
	}
}

// Faulty returns the ordered pairs under a fault, as "from->to:fault",
// sorted: what a failing test should print.
func (m *Mesh) Faulty() []string {
	var out []string
	for k, p := range m.proxies {
		if f := p.Fault(); f != Pass {
			out = append(out, k[0]+"->"+k[1]+":"+f.String())
		}
	}
	slices.Sort(out)
	return out
}

// Close closes every proxy of the mesh and waits for their goroutines
// (NewMesh also does so when the test ends).
func (m *Mesh) Close() {
	for _, p := range m.proxies {
		p.Close()
	}
}

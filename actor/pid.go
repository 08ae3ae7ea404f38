package actor

import (
	"strconv"
	"sync"
	"sync/atomic"
)

// nodeIdent names one boot of one node. Idents are interned, so two PIDs of
// the same node boot hold the same pointer and PID comparison is cheap.
type nodeIdent struct {
	name     string
	creation uint32
	local    atomic.Pointer[Node] // set while a Node of this OS process owns the ident
}

var idents struct {
	sync.Mutex
	m map[identKey]*nodeIdent
}

type identKey struct {
	name     string
	creation uint32
}

// internIdent returns the interned ident for a node name and creation.
func internIdent(name string, creation uint32) *nodeIdent {
	idents.Lock()
	defer idents.Unlock()
	if idents.m == nil {
		idents.m = make(map[identKey]*nodeIdent)
	}
	k := identKey{name, creation}
	if id, ok := idents.m[k]; ok {
		return id
	}
	id := &nodeIdent{name: name, creation: creation}
	idents.m[k] = id
	return id
}

// PID identifies a process: its node (name and boot), and a slot and serial
// within that node. It is a small comparable value, usable as a map key. The
// zero PID names no process.
type PID struct {
	node   *nodeIdent
	index  uint32
	serial uint32
}

// IsZero reports whether p is the zero PID.
func (p PID) IsZero() bool { return p.node == nil }

// NodeName returns the name of the node the process runs on.
func (p PID) NodeName() string {
	if p.node == nil {
		return ""
	}
	return p.node.name
}

// Creation returns the boot id of the node the process ran on when it was
// spawned.
func (p PID) Creation() uint32 {
	if p.node == nil {
		return 0
	}
	return p.node.creation
}

// ID returns the node-local identity of the process (slot and serial), as
// carried on the wire.
func (p PID) ID() (index, serial uint32) { return p.index, p.serial }

// String formats p as <node.index.serial>, after Erlang's <N.I.S>.
func (p PID) String() string {
	if p.node == nil {
		return "<nil>"
	}
	b := make([]byte, 0, len(p.node.name)+24)
	b = append(b, '<')
	b = append(b, p.node.name...)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(p.index), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(p.serial), 10)
	b = append(b, '>')
	return string(b)
}

// newRemotePID builds the PID of a process of any node from its wire form,
// for the cluster transport (through package seam).
func newRemotePID(nodeName string, creation, index, serial uint32) PID {
	return PID{node: internIdent(nodeName, creation), index: index, serial: serial}
}

// Ref is a unique reference, such as the handle of a monitor. It is
// comparable; the zero Ref refers to nothing.
type Ref struct {
	node *nodeIdent
	id   uint64
}

// IsZero reports whether r is the zero Ref.
func (r Ref) IsZero() bool { return r.node == nil }

// String formats r as #Ref<node.id>.
func (r Ref) String() string {
	if r.node == nil {
		return "#Ref<nil>"
	}
	return "#Ref<" + r.node.name + "." + strconv.FormatUint(r.id, 10) + ">"
}

// makeRef rebuilds a Ref from its wire form.
func makeRef(nodeName string, creation uint32, id uint64) Ref {
	return Ref{node: internIdent(nodeName, creation), id: id}
}

// refID returns the node name, creation and number of a Ref, as carried on
// the wire.
func refID(r Ref) (nodeName string, creation uint32, id uint64) {
	if r.node == nil {
		return "", 0, 0
	}
	return r.node.name, r.node.creation, r.id
}

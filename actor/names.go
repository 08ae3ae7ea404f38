package actor

import "fmt"

// Register gives a local process a node-wide name, released when the process
// exits. A process holds at most one name. It returns ErrBadName for an empty
// name, NoProc if pid is not a live local process, ErrAlreadyNamed if it
// already has a name, and a *NameTakenError (errors.Is ErrNameTaken) if
// another process holds name.
func (n *Node) Register(name string, pid PID) error {
	if name == "" {
		return ErrBadName
	}
	c := n.lookup(pid)
	if c == nil {
		return NoProc
	}
	return n.register(name, c)
}

// Register gives this process a name; see Node.Register.
func (c *Context) Register(name string) error {
	if name == "" {
		return ErrBadName
	}
	return c.node.register(name, &c.own)
}

func (n *Node) register(name string, c *Context) error {
	n.namesMu.Lock()
	defer n.namesMu.Unlock()
	if holder, ok := n.names[name]; ok {
		return &NameTakenError{Name: name, Holder: holder.self}
	}
	c.mu.Lock()
	dead := c.state == stDead
	c.mu.Unlock()
	if dead {
		return NoProc
	}
	if c.name != "" {
		return ErrAlreadyNamed
	}
	c.name = name
	n.names[name] = c
	return nil
}

// Unregister removes a name. It returns an error naming the name that
// matches ErrUnknownName (errors.Is) if nobody holds it.
func (n *Node) Unregister(name string) error {
	n.namesMu.Lock()
	defer n.namesMu.Unlock()
	c, ok := n.names[name]
	if !ok {
		return fmt.Errorf("unregister name %q: %w", name, ErrUnknownName)
	}
	delete(n.names, name)
	c.name = ""
	return nil
}

// WhereIs returns the process registered under name.
func (n *Node) WhereIs(name string) (PID, bool) {
	n.namesMu.RLock()
	c, ok := n.names[name]
	n.namesMu.RUnlock()
	if !ok {
		return PID{}, false
	}
	return c.self, true
}

// RegisteredNames returns every registered name.
func (n *Node) RegisteredNames() []string {
	n.namesMu.RLock()
	defer n.namesMu.RUnlock()
	out := make([]string, 0, len(n.names))
	for k := range n.names {
		out = append(out, k)
	}
	return out
}

// releaseName drops the name of an exiting process.
func (n *Node) releaseName(c *Context) {
	n.namesMu.Lock()
	if c.name != "" {
		if n.names[c.name] == c {
			delete(n.names, c.name)
		}
		c.name = ""
	}
	n.namesMu.Unlock()
}

// SendNamed sends msg to the process registered under name. If nobody holds
// the name it returns an error naming the name that matches ErrUnknownName
// (errors.Is): a named send is never dropped silently.
func (n *Node) SendNamed(name string, msg any) error {
	pid, ok := n.WhereIs(name)
	if !ok {
		return fmt.Errorf("send to name %q: %w", name, ErrUnknownName)
	}
	return n.send(PID{}, pid, msg)
}

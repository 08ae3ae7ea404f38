package actor

// WithCrashReports switches the crash reports of the node's behaviours on or
// off (on by default): a GenServer that ends abnormally logs one structured
// error event with its name, last message, state and reason, OTP's
// "generic server terminating" report. Supervisor reports are not affected.
func WithCrashReports(on bool) NodeOption {
	return func(c *nodeConfig) { c.noCrashReports = !on }
}

// CrashReports reports whether behaviours on this node log crash reports;
// see WithCrashReports.
func (n *Node) CrashReports() bool { return !n.noCrashReports }

// RegisteredName returns the node-local name the process is registered
// under, or "".
func (c *Context) RegisteredName() string {
	c.node.namesMu.RLock()
	defer c.node.namesMu.RUnlock()
	return c.name
}

package observer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/sys"
)

// Snapshot is what the page shows of a node, as GET api/snapshot and each
// event of api/events send it (JSON).
type Snapshot struct {
	Node string `json:"node"` // the node shown
	// Self is the node that serves the page; Remote is true when Node is
	// another node of its cluster, read over the cluster.
	Self           string        `json:"self"`
	Remote         bool          `json:"remote,omitempty"`
	Mutations      bool          `json:"mutations"`
	Apps           []App         `json:"apps"`
	AppsError      string        `json:"appsError,omitempty"`
	Processes      ProcessList   `json:"processes"`
	ProcessesError string        `json:"processesError,omitempty"`
	Registry       *RegistryView `json:"registry,omitempty"`
	RegistryError  string        `json:"registryError,omitempty"`
	Cluster        *ClusterView  `json:"cluster,omitempty"` // always this node's view
	Restarts       []Restart     `json:"restarts"`
}

// App is one running application and its supervision tree.
type App struct {
	Name  string    `json:"name"`
	Tree  *TreeNode `json:"tree,omitempty"`
	Error string    `json:"error,omitempty"`
}

// TreeNode is one process of a supervision tree (sys.TreeNode), with the
// restarts the observer has seen of it.
type TreeNode struct {
	PID       string     `json:"pid,omitempty"`
	ID        string     `json:"id,omitempty"`
	Behaviour string     `json:"behaviour,omitempty"`
	Type      string     `json:"type"`
	State     string     `json:"state"`
	Restarts  int        `json:"restarts"`
	Error     string     `json:"error,omitempty"`
	Children  []TreeNode `json:"children,omitempty"`
}

// ProcessList is the node's processes (sys.Processes), the longest queues
// first, at most WithMaxProcesses of them out of Total.
type ProcessList struct {
	Total int       `json:"total"`
	List  []Process `json:"list"`
}

// Process is one process of the list.
type Process struct {
	PID       string `json:"pid"`
	Name      string `json:"name,omitempty"`
	Behaviour string `json:"behaviour,omitempty"`
	Mode      string `json:"mode"`
	Queue     int    `json:"queue"`
	Links     int    `json:"links"`
	Monitors  int    `json:"monitors"`
	Memory    int    `json:"memory"`
	Answered  bool   `json:"answered"`
}

// Restart is a restart the observer saw: a child of a supervisor that
// runs under a new PID since the previous snapshot.
type Restart struct {
	Time time.Time `json:"time"`
	App  string    `json:"app"`
	Path string    `json:"path"` // child IDs from the application down, "/"-separated
	ID   string    `json:"id"`
	Old  string    `json:"old"`
	New  string    `json:"new"`
}

// maxRestarts is how many restarts the snapshot keeps, newest last.
const maxRestarts = 100

// tracker finds restarts by comparing the trees of successive snapshots;
// every snapshot of a Handler, from any request, goes through it.
type tracker struct {
	mu     sync.Mutex
	last   map[string]actor.PID // child path -> PID in the previous snapshot
	counts map[string]int       // child path -> restarts seen
	log    []Restart
}

// observe records the trees of apps, fills in their restart counts and
// returns the restart log.
func (t *tracker) observe(apps []App, raw []sys.AppTree, now time.Time) []Restart {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last, t.counts = map[string]actor.PID{}, map[string]int{}
	}
	seen := map[string]actor.PID{}
	for i, a := range raw {
		if a.Err != nil || apps[i].Tree == nil {
			continue
		}
		t.walk(a.Name, a.Name, &a.Tree, apps[i].Tree, false, seen, now)
	}
	t.last = seen
	return append([]Restart{}, t.log...) // [] rather than null in JSON
}

// walk compares the subtree n (shown as out) at path with the previous
// snapshot. A child whose parent restarted is new, not restarted itself.
func (t *tracker) walk(app, path string, n *sys.TreeNode, out *TreeNode, parentNew bool, seen map[string]actor.PID, now time.Time) {
	restarted := false
	if !n.PID.IsZero() {
		seen[path] = n.PID
		if old, ok := t.last[path]; ok && old != n.PID && !parentNew {
			restarted = true
			t.counts[path]++
			t.log = append(t.log, Restart{Time: now, App: app, Path: path, ID: n.ID, Old: old.String(), New: n.PID.String()})
			if len(t.log) > maxRestarts {
				t.log = slices.Delete(t.log, 0, len(t.log)-maxRestarts)
			}
		} else if ok && old != n.PID {
			restarted = true
		}
	}
	out.Restarts = t.counts[path]
	for i := range n.Children {
		c := &n.Children[i]
		if c.ID == "" {
			// A DynamicSupervisor's children have no identity to
			// follow across restarts.
			continue
		}
		t.walk(app, path+"/"+c.ID, c, &out.Children[i], parentNew || restarted, seen, now)
	}
}

// snapshotTimeout bounds the building of one snapshot: a process still
// busy in a handler by then is listed as not answered, a supervisor tree
// that cannot be walked shows its error.
const snapshotTimeout = 2 * time.Second

// snapshot builds the snapshot of node: this one for "", or another
// node of the cluster (target).
func (h *Handler) snapshot(ctx context.Context, node string) Snapshot {
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	s := Snapshot{Node: node, Self: h.node.Name(), Remote: node != "", Mutations: h.cfg.mutations, Apps: []App{}}
	if node == "" {
		s.Node = h.node.Name()
	}
	// Trees are read and compared with the previous ones under one lock:
	// two pages' snapshots interleaved could otherwise compare a newer
	// tree with an older one and see a restart back to an old PID.
	h.treeMu.Lock()
	raw, err := sys.ApplicationTreesOn(ctx, h.node, node)
	if err != nil {
		s.AppsError = err.Error()
	}
	for _, a := range raw {
		app := App{Name: a.Name}
		if a.Err != nil {
			app.Error = a.Err.Error()
		} else {
			t := treeOf(&a.Tree)
			app.Tree = &t
		}
		s.Apps = append(s.Apps, app)
	}
	s.Restarts = h.trackerOf(node).observe(s.Apps, raw, time.Now())
	h.treeMu.Unlock()
	s.Cluster = h.clusterView()
	if node == "" {
		s.Processes = h.processes(ctx, "queue", h.cfg.maxProcesses)
		s.Registry = h.registryView()
		return s
	}
	pl, err := sys.ProcessesOn(ctx, h.node, node, sys.ByQueue, min(h.cfg.maxProcesses, sys.MaxListLimit))
	if err != nil {
		s.ProcessesError = err.Error()
	}
	s.Processes = processList(pl)
	scopes, err := sys.ScopesOn(ctx, h.node, node, min(h.cfg.maxNames, sys.MaxListLimit))
	switch {
	case errors.Is(err, sys.ErrNoRegistry):
		s.RegistryError = fmt.Sprintf("node %s serves no registry (sys.ServeRegistry)", node)
	case err != nil:
		s.RegistryError = err.Error()
	default:
		s.Registry = scopesView(scopes)
	}
	pids := map[pidKey]actor.PID{}
	collect(pids, pl, raw, scopes)
	h.shown.keep(node, pids)
	return s
}

// trackerOf returns the restart tracker of node ("" for this one); it
// forgets those of nodes that left. The caller holds treeMu.
func (h *Handler) trackerOf(node string) *tracker {
	if node == "" {
		return &h.track
	}
	if h.tracks == nil {
		h.tracks = map[string]*tracker{}
	}
	if c := h.cfg.cluster; c != nil {
		live := c.Nodes()
		isLive := func(n string) bool { return slices.Contains(live, n) }
		for n := range h.tracks {
			if !isLive(n) {
				delete(h.tracks, n)
			}
		}
		h.shown.prune(isLive)
	}
	t := h.tracks[node]
	if t == nil {
		t = &tracker{}
		h.tracks[node] = t
	}
	return t
}

func treeOf(n *sys.TreeNode) TreeNode {
	t := TreeNode{ID: n.ID, Behaviour: n.Behaviour, Type: n.Type.String(), State: n.State.String()}
	if !n.PID.IsZero() {
		t.PID = n.PID.String()
	}
	if n.Err != nil {
		t.Error = n.Err.Error()
	}
	for i := range n.Children {
		t.Children = append(t.Children, treeOf(&n.Children[i]))
	}
	return t
}

// sortKeys are the orders api/processes takes.
var sortKeys = map[string]func(a, b *sys.ProcessInfo) int{
	"queue":  func(a, b *sys.ProcessInfo) int { return cmp.Compare(b.QueueLen, a.QueueLen) },
	"memory": func(a, b *sys.ProcessInfo) int { return cmp.Compare(b.Memory, a.Memory) },
	"name":   func(a, b *sys.ProcessInfo) int { return cmp.Compare(a.Name, b.Name) },
	"pid":    func(a, b *sys.ProcessInfo) int { return 0 }, // sys.Processes lists them in PID order
}

// processes lists the node's processes in the order key names, at most
// limit of them.
func (h *Handler) processes(ctx context.Context, key string, limit int) ProcessList {
	all := sys.Processes(ctx, h.node)
	slices.SortStableFunc(all, func(a, b sys.ProcessInfo) int { return sortKeys[key](&a, &b) })
	return processList(sys.ProcessList{Total: len(all), List: all[:min(len(all), limit)]})
}

// orders maps the sort keys to sys's orders.
var orders = map[string]sys.Order{"queue": sys.ByQueue, "memory": sys.ByMemory, "name": sys.ByName, "pid": sys.ByPID}

func processList(pl sys.ProcessList) ProcessList {
	out := ProcessList{Total: pl.Total, List: make([]Process, 0, len(pl.List))}
	for _, p := range pl.List {
		out.List = append(out.List, Process{
			PID: p.PID.String(), Name: p.Name, Behaviour: p.Behaviour, Mode: p.Mode.String(),
			Queue: p.QueueLen, Links: len(p.Links), Monitors: len(p.Monitors), Memory: p.Memory, Answered: p.Answered,
		})
	}
	return out
}

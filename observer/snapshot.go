package observer

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/sys"
)

// Snapshot is what the page shows of a node, as GET api/snapshot and each
// event of api/events send it (JSON).
type Snapshot struct {
	Node      string        `json:"node"`
	Mutations bool          `json:"mutations"`
	Apps      []App         `json:"apps"`
	AppsError string        `json:"appsError,omitempty"`
	Processes ProcessList   `json:"processes"`
	Registry  *RegistryView `json:"registry,omitempty"`
	Cluster   *ClusterView  `json:"cluster,omitempty"`
	Restarts  []Restart     `json:"restarts"`
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
	return slices.Clone(t.log)
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

// snapshot builds the node's snapshot.
func (h *Handler) snapshot(ctx context.Context) Snapshot {
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	s := Snapshot{Node: h.node.Name(), Mutations: h.cfg.mutations, Apps: []App{}}
	// Trees are read and compared with the previous ones under one lock:
	// two pages' snapshots interleaved could otherwise compare a newer
	// tree with an older one and see a restart back to an old PID.
	h.treeMu.Lock()
	raw, err := sys.ApplicationTrees(ctx, h.node)
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
	s.Restarts = h.track.observe(s.Apps, raw, time.Now())
	h.treeMu.Unlock()
	s.Processes = h.processes(ctx, "queue", h.cfg.maxProcesses)
	s.Registry = h.registryView()
	s.Cluster = h.clusterView()
	return s
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
	out := ProcessList{Total: len(all), List: make([]Process, 0, min(len(all), limit))}
	for _, p := range all[:min(len(all), limit)] {
		out.List = append(out.List, Process{
			PID: p.PID.String(), Name: p.Name, Behaviour: p.Behaviour, Mode: p.Mode.String(),
			Queue: p.QueueLen, Links: len(p.Links), Monitors: len(p.Monitors), Memory: p.Memory, Answered: p.Answered,
		})
	}
	return out
}

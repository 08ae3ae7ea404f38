package observer

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/sys"
)

// maxPIDLen bounds a pid parameter: a node name and two numbers.
const maxPIDLen = 300

// parsePID reads s, a PID as actor.PID.String prints it
// (<node.index.serial>) or its index.serial, into its node name (empty
// for the short form) and numbers.
func parsePID(s string) (node string, index, serial uint32, err error) {
	bad := func(why string) (string, uint32, uint32, error) {
		q := s
		if len(q) > 40 {
			q = q[:40] + "..."
		}
		return "", 0, 0, fmt.Errorf("%w %q: %s", ErrBadPID, q, why)
	}
	if s == "" {
		return bad("empty; want <node.index.serial>")
	}
	if len(s) > maxPIDLen {
		return bad(fmt.Sprintf("longer than %d bytes", maxPIDLen))
	}
	body := s
	if strings.HasPrefix(s, "<") {
		if !strings.HasSuffix(s, ">") {
			return bad("no closing '>'")
		}
		body = s[1 : len(s)-1]
	}
	j := strings.LastIndexByte(body, '.')
	if j < 0 {
		return bad("want <node.index.serial>")
	}
	i := strings.LastIndexByte(body[:j], '.')
	ser, err1 := strconv.ParseUint(body[j+1:], 10, 32)
	idx, err2 := strconv.ParseUint(body[i+1:j], 10, 32)
	if err1 != nil || err2 != nil {
		return bad("index and serial must be numbers")
	}
	if i >= 0 {
		node = body[:i]
	}
	return node, uint32(idx), uint32(ser), nil
}

// resolve returns the process the pid parameter names: a live process of
// this node or, if remote, a process of another node of the cluster that
// the page was shown (a mutation acts on this node's processes only).
func (h *Handler) resolve(r *http.Request, remote bool) (actor.PID, error) {
	s := r.URL.Query().Get("pid")
	if s == "" && r.Method == http.MethodPost {
		s = r.PostFormValue("pid")
	}
	node, idx, ser, err := parsePID(s)
	if err != nil {
		return actor.PID{}, err
	}
	if node != "" && node != h.node.Name() {
		if !remote {
			return actor.PID{}, fmt.Errorf("%w: %s is a process of node %q; kill, suspend and trace act on this node's processes only", ErrNoProcess, s, node)
		}
		if _, err := h.member(node); err != nil {
			return actor.PID{}, err
		}
		if pid, ok := h.shown.find(node, idx, ser); ok {
			return pid, nil
		}
		return actor.PID{}, fmt.Errorf("%w: %s is not among the processes shown of node %q; pick that node first", ErrNoProcess, s, node)
	}
	for _, pid := range h.node.Processes() {
		if i, sr := pid.ID(); i == idx && sr == ser {
			return pid, nil
		}
	}
	return actor.PID{}, fmt.Errorf("%w: %s", ErrNoProcess, s)
}

// Detail is a process as api/process shows it (sys.GetStatus).
type Detail struct {
	PID         string          `json:"pid"`
	Name        string          `json:"name,omitempty"`
	Behaviour   string          `json:"behaviour,omitempty"`
	Mode        string          `json:"mode"`
	Queue       int             `json:"queue"`
	Parent      string          `json:"parent,omitempty"`
	Links       []string        `json:"links"`
	Monitors    []string        `json:"monitors"`
	MonitoredBy []string        `json:"monitoredBy"`
	TrapExit    bool            `json:"trapExit"`
	Started     time.Time       `json:"started"`
	Uptime      string          `json:"uptime"`
	Memory      int             `json:"memory"`
	Tracing     bool            `json:"tracing"`
	State       string          `json:"state,omitempty"` // fmt's %+v, cut at maxState bytes
	Stats       *actor.SysStats `json:"stats,omitempty"`
}

// maxState bounds the printed state of a process.
const maxState = 8 << 10

func pids(ps []actor.PID) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func (h *Handler) serveProcess(w http.ResponseWriter, r *http.Request) {
	pid, err := h.resolve(r, true)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	st, err := sys.GetStatus(r.Context(), h.node, pid)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	d := Detail{
		PID: pid.String(), Name: st.Name, Behaviour: st.Behaviour, Mode: st.Mode.String(), Queue: st.QueueLen,
		Links: pids(st.Links), Monitors: pids(st.Monitors), MonitoredBy: pids(st.MonitoredBy),
		TrapExit: st.TrapExit, Started: st.Started, Uptime: st.Uptime.Round(time.Millisecond).String(),
		Memory: st.Memory, Tracing: st.Tracing, Stats: st.Stats,
	}
	if !st.Parent.IsZero() {
		d.Parent = st.Parent.String()
	}
	if st.State != nil {
		d.State = fmt.Sprintf("%+v", st.State)
		if len(d.State) > maxState {
			d.State = d.State[:maxState] + fmt.Sprintf("... (%d bytes)", len(d.State))
		}
	}
	writeJSON(w, http.StatusOK, d)
}

// done is the answer of a mutation.
type done struct {
	OK  bool   `json:"ok"`
	PID string `json:"pid"`
	Did string `json:"did"`
}

// mutate resolves the pid and runs do on it.
func (h *Handler) mutate(w http.ResponseWriter, r *http.Request, did string, do func(ctx context.Context, pid actor.PID) error) {
	pid, err := h.resolve(r, false)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	if err := do(r.Context(), pid); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	h.node.Logger().Info().Str("component", "observer").Str("did", did).Stringer("pid", pid).Str("remote", r.RemoteAddr).Msg("observer changed a process")
	writeJSON(w, http.StatusOK, done{OK: true, PID: pid.String(), Did: did})
}

func (h *Handler) serveKill(w http.ResponseWriter, r *http.Request) {
	h.mutate(w, r, "kill", func(_ context.Context, pid actor.PID) error { return h.node.Kill(pid) })
}

func (h *Handler) serveSuspend(w http.ResponseWriter, r *http.Request) {
	h.mutate(w, r, "suspend", func(ctx context.Context, pid actor.PID) error { return sys.Suspend(ctx, h.node, pid) })
}

func (h *Handler) serveResume(w http.ResponseWriter, r *http.Request) {
	h.mutate(w, r, "resume", func(ctx context.Context, pid actor.PID) error { return sys.Resume(ctx, h.node, pid) })
}

func (h *Handler) serveTrace(w http.ResponseWriter, r *http.Request) {
	on, err := strconv.ParseBool(r.URL.Query().Get("on"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: on=%q: want true or false", ErrBadQuery, r.URL.Query().Get("on")))
		return
	}
	did := "trace off"
	if on {
		did = "trace on"
	}
	h.mutate(w, r, did, func(ctx context.Context, pid actor.PID) error { return sys.Trace(ctx, h.node, pid, on) })
}

package observer

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/sys"
)

//go:embed static
var static embed.FS

// maxQuery bounds the raw query of a request; a longer one is refused
// with 414 Request-URI Too Long.
const maxQuery = 1024

// Handler serves the observer page of one node and its API. Make one with
// New; it is safe for concurrent use.
type Handler struct {
	node   *actor.Node
	cfg    config
	treeMu sync.Mutex // held while a snapshot reads and compares the trees
	track  tracker
	// tracks holds the tracker of each other node shown (under treeMu).
	tracks map[string]*tracker
	shown  shown // the PIDs shown of other nodes
	// streams counts the open event streams (at most maxStreams).
	streams atomic.Int32
	assets  http.Handler
	csrf    *http.CrossOriginProtection
}

// New returns the observer of node n. Mount it at a path ending in "/",
// with or without http.StripPrefix:
//
//	mux.Handle("/observer/", observer.New(node, observer.WithRegistry(reg)))
//
// It is read-only unless WithMutations is given; a nil Option is skipped.
// A Handler of a nil node answers every request with 500 and
// actor.ErrNilNode.
func New(n *actor.Node, opts ...Option) *Handler {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	sub, _ := fs.Sub(static, "static") // static is embedded: cannot fail
	return &Handler{node: n, cfg: cfg, assets: http.FileServerFS(sub), csrf: http.NewCrossOriginProtection()}
}

// endpoint is one route of the API, matched on the end of the path.
type endpoint struct {
	suffix string
	post   bool // a mutation: POST only, and refused without WithMutations
	serve  func(h *Handler, w http.ResponseWriter, r *http.Request)
}

var endpoints = []endpoint{
	{"/api/snapshot", false, (*Handler).serveSnapshot},
	{"/api/events", false, (*Handler).serveEvents},
	{"/api/processes", false, (*Handler).serveProcesses},
	{"/api/process", false, (*Handler).serveProcess},
	{"/api/kill", true, (*Handler).serveKill},
	{"/api/suspend", true, (*Handler).serveSuspend},
	{"/api/resume", true, (*Handler).serveResume},
	{"/api/trace", true, (*Handler).serveTrace},
}

// assetNames are the embedded files the page loads besides index.html.
var assetNames = []string{"/app.js", "/style.css"}

// ServeHTTP implements http.Handler. Routes are matched on the end of the
// request's path, so the handler works wherever it is mounted.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.node == nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("observer: %w", actor.ErrNilNode))
		return
	}
	if len(r.URL.RawQuery) > maxQuery {
		writeError(w, http.StatusRequestURITooLong, fmt.Errorf("%w: query of %d bytes, at most %d", ErrBadQuery, len(r.URL.RawQuery), maxQuery))
		return
	}
	p := r.URL.Path
	for _, e := range endpoints {
		if !strings.HasSuffix(p, e.suffix) {
			continue
		}
		if e.post {
			h.serveMutation(w, r, e)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("observer: %s %s: use GET", r.Method, e.suffix))
			return
		}
		e.serve(h, w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("observer: %s of a page: use GET", r.Method))
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	if p == "" || strings.HasSuffix(p, "/") {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/"
		h.assets.ServeHTTP(w, r2)
		return
	}
	for _, a := range assetNames {
		if strings.HasSuffix(p, a) {
			r2 := r.Clone(r.Context())
			r2.URL.Path = a
			h.assets.ServeHTTP(w, r2)
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Errorf("observer: no page %q", p))
}

// serveMutation runs a mutating endpoint: POST only, refused without
// WithMutations, and refused from another origin (a cross-site form).
func (h *Handler) serveMutation(w http.ResponseWriter, r *http.Request, e endpoint) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("observer: %s %s: use POST", r.Method, e.suffix))
		return
	}
	if !h.cfg.mutations {
		writeError(w, http.StatusForbidden, ErrMutationsOff)
		return
	}
	if err := h.csrf.Check(r); err != nil {
		writeError(w, http.StatusForbidden, fmt.Errorf("observer: %s: %w", e.suffix, err))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	e.serve(h, w, r)
}

// maxBody bounds the body of a mutation (a form with a pid, at most).
const maxBody = 4 << 10

func (h *Handler) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	node, err := h.target(r)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, h.snapshot(r.Context(), node))
}

// maxLimit bounds the limit parameter of api/processes.
const maxLimit = 100_000

func (h *Handler) serveProcesses(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := q.Get("sort")
	if key == "" {
		key = "queue"
	}
	if _, ok := sortKeys[key]; !ok {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: sort=%q: want queue, memory, name or pid", ErrBadQuery, key))
		return
	}
	node, err := h.target(r)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	limit := h.cfg.maxProcesses
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			writeError(w, http.StatusBadRequest, fmt.Errorf("%w: limit=%q: want a number from 1 to %d", ErrBadQuery, s, maxLimit))
			return
		}
		limit = n
	}
	if node == "" {
		writeJSON(w, http.StatusOK, h.processes(r.Context(), key, limit))
		return
	}
	pl, err := sys.ProcessesOn(r.Context(), h.node, node, orders[key], min(limit, sys.MaxListLimit))
	if err != nil {
		writeError(w, http.StatusBadGateway, err)
		return
	}
	writeJSON(w, http.StatusOK, processList(pl))
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, errorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"observer: encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// statusOf maps an error of a process request to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrBadPID), errors.Is(err, ErrBadQuery):
		return http.StatusBadRequest
	case errors.Is(err, ErrNoProcess), errors.Is(err, ErrUnknownNode), errors.Is(err, actor.NoProc):
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}

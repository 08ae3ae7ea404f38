package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
	"github.com/arbor-otp/arbor/registry"
)

//go:embed static/index.html
var staticFiles embed.FS

var page = template.Must(template.ParseFS(staticFiles, "static/index.html"))

// retryMillis is how soon a browser reconnects its event stream after the
// node it was connected to went away (EventSource's retry field).
const retryMillis = 300

// web serves the page, its event stream and a status document.
type web struct {
	cluster *cluster.Cluster
	reg     *registry.Registry
	b       *broadcaster
	version string
}

// Status is what GET /status returns: this node, its version, its peers,
// the cluster version recorded on its repo, the monitor's status, and the
// announcements this node's hub received.
type Status struct {
	Node           string                   `json:"node"`
	Version        string                   `json:"version"`
	Peers          []string                 `json:"peers"`
	ClusterVersion string                   `json:"cluster_version"`
	Monitor        *versionpb.MonitorStatus `json:"monitor,omitempty"`
	MonitorError   string                   `json:"monitor_error,omitempty"`
	LastNewVersion string                   `json:"last_new_version"`
	Received       uint64                   `json:"received"`
}

func (w web) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.index)
	mux.HandleFunc("GET /events", w.events)
	mux.HandleFunc("GET /status", w.status)
	return mux
}

func (w web) index(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	if err := page.Execute(rw, struct{ Version, Node string }{w.version, w.cluster.Name()}); err != nil {
		w.cluster.Node().Logger().Warn().Err(err).Msg("web: write the page")
	}
}

// events is the page's server-sent event stream: a new_version event for
// the last announcement when it connects (a browser reconnecting after its
// node was replaced learns what it missed), then one per announcement.
func (w web) events(rw http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(rw)
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("Cache-Control", "no-store")
	wake, stop := w.b.subscribe()
	defer stop()
	if _, err := fmt.Fprintf(rw, "retry: %d\n\n", retryMillis); err != nil {
		return
	}
	sent := ""
	for {
		if last, _ := w.b.latest(); last != sent {
			data, _ := json.Marshal(map[string]string{"version": last})
			if _, err := fmt.Fprintf(rw, "event: new_version\ndata: %s\n\n", data); err != nil {
				return
			}
			sent = last
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-wake:
		}
	}
}

func (w web) status(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(actor.WithNode(r.Context(), w.cluster.Node()), 3*time.Second)
	defer cancel()
	st := Status{Node: w.cluster.Name(), Version: w.version, Peers: w.cluster.Nodes()}
	if v, err := w.cluster.CallNamed(ctx, w.cluster.Name(), RepoName, &versionpb.GetVersion{}); err == nil {
		if info, ok := v.(*versionpb.VersionInfo); ok {
			st.ClusterVersion = info.GetClusterVersion()
		}
	}
	if m, err := monitorStatus(ctx, w.reg); err != nil {
		st.MonitorError = err.Error()
	} else {
		st.Monitor = m
	}
	st.LastNewVersion, st.Received = w.b.latest()
	rw.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(rw).Encode(st); err != nil {
		w.cluster.Node().Logger().Warn().Err(err).Msg("web: write the status")
	}
}

// httpServer is the process that owns the node's HTTP listener: it
// listens in Init (a taken address fails the start) and shuts the server
// down in Terminate, ending the page streams first.
type httpServer struct {
	addr string
	w    web
}

type httpState struct {
	srv        *http.Server
	endStreams context.CancelFunc
	done       chan struct{}
}

func (h httpServer) Init(ctx *actor.Context) (*httpState, error) {
	l, err := net.Listen("tcp", h.addr)
	if err != nil {
		return nil, fmt.Errorf("web: listen on %s: %w", h.addr, err)
	}
	streams, endStreams := context.WithCancel(context.Background())
	s := &httpState{
		srv: &http.Server{
			Handler:           h.w.routes(),
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return streams },
		},
		endStreams: endStreams,
		done:       make(chan struct{}),
	}
	log := ctx.Logger()
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("web: server stopped")
		}
	}()
	log.Info().Str("url", "http://"+l.Addr().String()+"/").Msg("web: listening")
	return s, nil
}

func (httpServer) Terminate(_ *actor.Context, _ error, s *httpState) {
	s.endStreams()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

func (h httpServer) start(ctx *actor.Context) (actor.PID, error) {
	return behaviour.StartLink[*httpState](ctx, h, behaviour.WithTrapExit())
}

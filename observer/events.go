package observer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// maxStreams bounds the event streams open at once: each costs a snapshot
// an interval. One more is answered 503 Service Unavailable.
const maxStreams = 32

// keepAlive is how often an idle event stream gets a comment line, so
// proxies and browsers keep it open.
const keepAlive = 15 * time.Second

// serveEvents streams the snapshot as server-sent events: one "snapshot"
// event at once, then one each interval in which it changed, until the
// client goes away.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	node, err := h.target(r)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	if h.streams.Add(1) > maxStreams {
		h.streams.Add(-1)
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("observer: %d event streams open already; close a page", maxStreams))
		return
	}
	defer h.streams.Add(-1)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := rc.Flush(); err != nil {
		return // the writer cannot stream
	}
	ctx := r.Context()
	tick := time.NewTicker(h.cfg.interval)
	defer tick.Stop()
	var last []byte
	lastWrite := time.Now()
	for {
		if node != "" {
			if _, err := h.target(r); err != nil {
				return // the node left: the page falls back to its own
			}
		}
		b, err := json.Marshal(h.snapshot(ctx, node))
		if ctx.Err() != nil {
			return
		}
		var out []byte
		switch {
		case err == nil && !bytes.Equal(b, last):
			out = append(append([]byte("event: snapshot\ndata: "), b...), "\n\n"...)
			last = b
		case time.Since(lastWrite) >= keepAlive:
			out = []byte(": keep-alive\n\n")
		}
		if out != nil {
			if _, err := w.Write(out); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			lastWrite = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

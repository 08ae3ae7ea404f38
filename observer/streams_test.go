package observer

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/arbor-otp/arbor/actor/actortest"
)

// One event stream past maxStreams is refused with 503, not served.
func TestStreamLimit(t *testing.T) {
	h := New(actortest.NewNode(t))
	h.streams.Store(maxStreams)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/events", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "event streams open") {
		t.Errorf("stream past the limit: %d %q", w.Code, w.Body.String())
	}
	if n := h.streams.Load(); n != maxStreams {
		t.Errorf("streams counter %d after a refusal, want %d", n, maxStreams)
	}
	h.streams.Store(0)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodHead, "/api/events", nil))
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/event-stream" || h.streams.Load() != 0 {
		t.Errorf("HEAD api/events: %d %q, streams %d", w.Code, w.Header().Get("Content-Type"), h.streams.Load())
	}
}

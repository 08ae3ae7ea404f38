package observer_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/actor/actortest"
	"github.com/arbor-otp/arbor/observer"
)

// TestNilInputsRefused: a nil Option is skipped (it panicked in New), and
// a Handler of a nil node answers 500 with an error naming
// actor.ErrNilNode (it panicked on the first request).
func TestNilInputsRefused(t *testing.T) {
	n := actortest.NewNode(t)
	h := observer.New(n, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/snapshot", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("snapshot with a nil option: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	observer.New(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/snapshot", nil))
	var e struct{ Error string }
	if err := json.NewDecoder(rec.Body).Decode(&e); err != nil || rec.Code != http.StatusInternalServerError || !strings.Contains(e.Error, actor.ErrNilNode.Error()) {
		t.Errorf("a nil node's handler: %d %q %v", rec.Code, e.Error, err)
	}
}

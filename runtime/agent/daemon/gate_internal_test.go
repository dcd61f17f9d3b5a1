package daemon

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestJobAPIAnswers503WhileNodeIsDown(t *testing.T) {
	d := &Daemon{}
	h := d.gate(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/jobs/", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "not running") || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("before ready: %d %q", rec.Code, rec.Body.String())
	}
	d.ready.Store(true)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/jobs/", nil))
	if rec.Code != http.StatusTeapot {
		t.Fatalf("after ready: %d, want the job API's answer", rec.Code)
	}
}

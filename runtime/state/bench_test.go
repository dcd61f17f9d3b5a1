package state

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHandler measures one page request against a cluster of the
// issue's size: 1,000 jobs and 10,000 actors (plus 10,000 tasks).
func BenchmarkHandler(b *testing.B) {
	m := NewMemorySource()
	Populate(m, 42, DemoSize{Nodes: 20, Jobs: 1000, Actors: 10000, Tasks: 10000, Objects: 5000, PlacementGroups: 50, Trials: 200}, base)
	h := Handler(m, "tok")
	for _, path := range []string{
		"/api/v0/jobs?limit=50",
		"/api/v0/jobs?limit=50&offset=900&status=FAILED",
		"/api/v0/actors?limit=100",
		"/api/v0/actors?limit=100&offset=9000",
		"/api/v0/actors?limit=100&state=ALIVE&class_name=Learner",
		"/api/v0/tasks/summary",
		"/api/v0/nodes",
	} {
		b.Run(path, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer tok")
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
			}
		})
	}
}

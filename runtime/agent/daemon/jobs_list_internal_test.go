package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/runtime/jobs"
)

// fetchPeerJobs asks a peer only for its own jobs (the forwarded header),
// passes the caller's token on, and turns every kind of failure (no answer
// in time, an error status, a body that is not a list) into an error that
// names the peer, so that the cluster list leaves that peer out instead of
// failing.
func TestFetchPeerJobs(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer ok":
			if r.Header.Get(jobs.ForwardedHeader) == "" {
				http.Error(w, "not forwarded", http.StatusBadRequest)
				return
			}
			_ = json.NewEncoder(w).Encode([]jobs.Info{{ID: "j1", Name: "one"}})
		case "Bearer stall":
			select { // a peer that never answers
			case <-release:
			case <-r.Context().Done():
			}
		case "Bearer garbage":
			_, _ = w.Write([]byte("{not a list"))
		default:
			http.Error(w, "bad token", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		auth    string
		wantErr string // "" → one job
	}{
		{"Bearer ok", ""},
		{"Bearer stall", "deadline exceeded"},
		{"Bearer garbage", "job list from " + addr},
		{"Bearer wrong", "401"},
	} {
		t.Run(tc.auth, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			list, err := fetchPeerJobs(ctx, addr, tc.auth)
			if tc.wantErr == "" {
				if err != nil || len(list) != 1 || list[0].ID != "j1" {
					t.Fatalf("got %+v, %v; want job j1", list, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %+v, %v; want an error about %q", list, err, tc.wantErr)
			}
		})
	}
}

// sortClusterJobs: oldest submission first; jobs of different daemons
// submitted at the same instant are ordered by ID, so that every daemon
// shows the same list.
func TestSortClusterJobs(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	all := []jobs.Info{
		{ID: "c", SubmitTime: t0.Add(time.Second)},
		{ID: "b", SubmitTime: t0},
		{ID: "a", SubmitTime: t0},
		{ID: "d", SubmitTime: t0.Add(-time.Second)},
	}
	sortClusterJobs(all)
	var got []string
	for _, j := range all {
		got = append(got, j.ID)
	}
	if strings.Join(got, ",") != "d,a,b,c" {
		t.Errorf("order %v; want d,a,b,c", got)
	}
}

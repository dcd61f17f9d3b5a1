package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/goray/goray/runtime/jobs"
)

// ListResponse is the body of every list endpoint.
type ListResponse[T any] struct {
	// Total counts the records that matched the filters; Items holds the
	// page of them selected by Offset and Limit.
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
	Items  []T `json:"items"`
}

// CurveResponse is the body of /api/v0/curves/{job}.
type CurveResponse struct {
	Job    string       `json:"job_id"`
	Points []CurvePoint `json:"points"`
}

// ErrorResponse is the body of every error (the job API's shape).
type ErrorResponse = jobs.APIError

// SSE pacing: events are coalesced so a burst of changes costs a client
// one refetch, and a comment line keeps idle connections (and proxies)
// alive.
const (
	eventMinGap    = 200 * time.Millisecond
	eventHeartbeat = 15 * time.Second
)

// Handler serves src as the state API under /api/v0/ (docs/state-api.md).
// When token is not empty every request must carry
// "Authorization: Bearer <token>", as for the job API.
func Handler(src Source, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v0/nodes", list(src.Nodes))
	mux.HandleFunc("GET /api/v0/actors", list(src.Actors))
	mux.HandleFunc("GET /api/v0/tasks", list(src.Tasks))
	mux.HandleFunc("GET /api/v0/tasks/summary", func(w http.ResponseWriter, r *http.Request) {
		q, err := ParseQuery(r.URL.Query())
		if err != nil {
			writeError(w, err)
			return
		}
		s, err := src.TaskSummary(r.Context(), q)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, s)
	})
	mux.HandleFunc("GET /api/v0/placement_groups", list(src.PlacementGroups))
	mux.HandleFunc("GET /api/v0/objects", list(src.Objects))
	mux.HandleFunc("GET /api/v0/jobs", list(src.Jobs))
	mux.HandleFunc("GET /api/v0/trials", list(src.Trials))
	mux.HandleFunc("GET /api/v0/demands", list(src.Demands))
	mux.HandleFunc("GET /api/v0/curves/{job}", func(w http.ResponseWriter, r *http.Request) {
		job := r.PathValue("job")
		maxPts := 0
		if s := r.URL.Query().Get("max_points"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 2 {
				writeError(w, fmt.Errorf("%w: max_points=%q: want an integer of at least 2", ErrBadQuery, s))
				return
			}
			maxPts = n
		}
		pts, err := src.Curve(r.Context(), job)
		if err != nil {
			writeError(w, err)
			return
		}
		if pts == nil {
			pts = []CurvePoint{}
		}
		if maxPts > 0 {
			pts = Downsample(pts, maxPts)
		}
		writeJSON(w, http.StatusOK, CurveResponse{Job: job, Points: pts})
	})
	mux.HandleFunc("GET /api/v0/logs", func(w http.ResponseWriter, r *http.Request) { serveLogs(src, w, r) })
	mux.HandleFunc("GET /api/v0/events", func(w http.ResponseWriter, r *http.Request) { serveEvents(src, w, r) })
	mux.HandleFunc("/api/v0/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, ErrorResponse{Error: fmt.Sprintf("no state API endpoint %s %s (see docs/state-api.md)", r.Method, r.URL.Path)})
	})
	return jobs.RequireToken(token, mux)
}

func list[T any](f func(context.Context, Query) (Page[T], error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, err := ParseQuery(r.URL.Query())
		if err != nil {
			writeError(w, err)
			return
		}
		p, err := f(r.Context(), q)
		if err != nil {
			writeError(w, err)
			return
		}
		if p.Items == nil {
			p.Items = []T{}
		}
		writeJSON(w, http.StatusOK, ListResponse[T]{Total: p.Total, Offset: q.Offset, Limit: q.EffectiveLimit(), Items: p.Items})
	}
}

func serveLogs(src Source, w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := LogQuery{Node: v.Get("node"), Job: v.Get("job"), Worker: v.Get("worker")}
	if s := v.Get("offset"); s != "" {
		off, err := strconv.ParseInt(s, 10, 64)
		if err != nil || off < 0 {
			writeError(w, fmt.Errorf("%w: offset=%q is not a byte offset", ErrBadQuery, s))
			return
		}
		q.Offset = off
	}
	switch v.Get("follow") {
	case "", "0", "false":
	default:
		q.Follow = true
	}
	// Headers go out with the first byte, so an unknown log still gets a
	// proper 404: the writer below commits the 200 lazily.
	lw := &lazyWriter{w: w}
	_, err := src.Logs(r.Context(), q, lw)
	switch {
	case err != nil && !lw.started:
		writeError(w, err)
	case !lw.started:
		lw.start() // an empty log is still a log
	}
	// An error after the first byte cannot change the status any more;
	// the client sees the stream end.
}

// lazyWriter sends the 200 header on the first write (or explicit start),
// and flushes after every chunk so followers see lines as they come.
type lazyWriter struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyWriter) start() {
	l.started = true
	l.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	l.w.Header().Set("Cache-Control", "no-cache")
	l.w.Header().Set("X-Content-Type-Options", "nosniff")
	l.w.WriteHeader(http.StatusOK)
}

// Write implements io.Writer.
func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.start()
	}
	return l.w.Write(p)
}

// Flush sends what was written so far to the client.
func (l *lazyWriter) Flush() {
	if !l.started {
		l.start()
	}
	if f, ok := l.w.(http.Flusher); ok {
		f.Flush()
	}
}

func serveEvents(src Source, w http.ResponseWriter, r *http.Request) {
	var since uint64
	if s := r.URL.Query().Get("since"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, fmt.Errorf("%w: since=%q is not a version", ErrBadQuery, s))
			return
		}
		since = v
	} else if s := r.Header.Get("Last-Event-ID"); s != "" {
		since, _ = strconv.ParseUint(s, 10, 64)
	}
	ctx := r.Context()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The first event tells a new client (or one whose version is from a
	// restarted server) the current version; a client that reconnects
	// with an older version gets the kinds it missed.
	cur, err := src.Watch(ctx, 0)
	if err != nil {
		return
	}
	switch {
	case since == 0 || since > cur.Version:
		if !sendEvent(w, rc, "state", cur) {
			return
		}
		since = cur.Version
	case since < cur.Version:
		c, err := src.Watch(ctx, since)
		if err != nil || !sendEvent(w, rc, "change", c) {
			return
		}
		since = c.Version
	default:
		if rc.Flush() != nil {
			return
		}
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, eventHeartbeat)
		c, err := src.Watch(wctx, since)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				return
			}
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			continue
		}
		since = c.Version
		if !sendEvent(w, rc, "change", c) {
			return
		}
		t := time.NewTimer(eventMinGap)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

func sendEvent(w http.ResponseWriter, rc *http.ResponseController, name string, c Change) bool {
	data, _ := json.Marshal(c)
	if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", c.Version, name, data); err != nil {
		return false
	}
	return rc.Flush() == nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadQuery):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, ErrorResponse{Error: err.Error()})
}

// Downsample keeps about n of pts (n >= 2), evenly spaced, always with
// each series' first and last point, so a chart of a long run costs the
// same as a short one and still ends at the latest result. Tune curves are
// thinned per trial, keeping at least 2 points of each, so with more than
// n/2 trials the result exceeds n.
func Downsample(pts []CurvePoint, n int) []CurvePoint {
	if n < 2 || len(pts) <= n {
		return pts
	}
	byTrial := map[string][]int{}
	var order []string
	for i, p := range pts {
		if _, ok := byTrial[p.Trial]; !ok {
			order = append(order, p.Trial)
		}
		byTrial[p.Trial] = append(byTrial[p.Trial], i)
	}
	per := max(2, n/len(order))
	keep := make([]bool, len(pts))
	for _, tr := range order {
		idx := byTrial[tr]
		if len(idx) <= per {
			for _, i := range idx {
				keep[i] = true
			}
			continue
		}
		for k := range per {
			keep[idx[k*(len(idx)-1)/(per-1)]] = true
		}
	}
	out := make([]CurvePoint, 0, n)
	for i, p := range pts {
		if keep[i] {
			out = append(out, p)
		}
	}
	return out
}

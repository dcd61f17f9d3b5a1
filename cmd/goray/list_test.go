package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/runtime/jobs"
	"github.com/goray/goray/runtime/state"
)

// stateServer serves a small in-memory cluster's state API with token
// "tok" and points GORAY_ADDRESS/GORAY_TOKEN at it.
func stateServer(t *testing.T) *state.MemorySource {
	t.Helper()
	src := state.NewMemorySource()
	state.Populate(src, 3, state.DemoSize{Nodes: 2, Jobs: 5, Actors: 30, Tasks: 40, Objects: 6, PlacementGroups: 2, Trials: 4},
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(state.Handler(src, "tok"))
	t.Cleanup(srv.Close)
	t.Setenv("GORAY_ADDRESS", srv.URL)
	t.Setenv("GORAY_TOKEN", "tok")
	return src
}

func runCmd(t *testing.T, run func(context.Context, []string, io.Writer, io.Writer) int, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	code := run(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestListTables(t *testing.T) {
	src := stateServer(t)
	ctx := t.Context()
	for _, c := range []struct {
		kind, header string
		count        int
	}{
		{"nodes", "NODE ID", 2},
		{"actors", "ACTOR ID", 30},
		{"tasks", "TASK ID", 40},
		{"objects", "OBJECT ID", 6},
		{"placement-groups", "PLACEMENT GROUP ID", 2},
		{"pgs", "PLACEMENT GROUP ID", 2},
		{"jobs", "JOB ID", 5},
		{"trials", "TRIAL ID", 4},
	} {
		out, stderr, code := runCmd(t, runList, c.kind)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || !strings.HasPrefix(lines[0], c.header) || len(lines) != c.count+1 {
			t.Errorf("goray list %s: exit %d, %d lines:\n%s%s", c.kind, code, len(lines), out, stderr)
		}
	}
	// Filters and paging happen on the server; the CLI says when it
	// shows only part of the matches.
	alive, _ := src.Actors(ctx, state.Query{Filters: map[string]string{"state": "ALIVE"}})
	out, stderr, code := runCmd(t, runList, "actors", "--filter", "state=ALIVE", "--limit", "3")
	if code != 0 || strings.Count(out, "ALIVE") != 3 || !strings.Contains(stderr, "showing 1-3 of") {
		t.Fatalf("filtered: exit %d\n%s%s", code, out, stderr)
	}
	if alive.Total <= 3 {
		t.Fatalf("fixture has only %d alive actors", alive.Total)
	}
	out, _, code = runCmd(t, runList, "actors", "--filter", "state!=ALIVE", "--limit", "100")
	if code != 0 || strings.Contains(out, " ALIVE ") || strings.Count(strings.TrimSpace(out), "\n") != 30-alive.Total {
		t.Fatalf("negated filter: exit %d\n%s", code, out)
	}
}

func TestListJSON(t *testing.T) {
	src := stateServer(t)
	out, stderr, code := runCmd(t, runList, "--json", "jobs", "--limit", "2", "--offset", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var page state.ListResponse[state.JobState]
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	want, _ := src.Jobs(t.Context(), state.Query{Limit: 2, Offset: 1})
	if page.Total != 5 || len(page.Items) != 2 || page.Items[0].ID != want.Items[0].ID {
		t.Fatalf("json page: %+v", page)
	}
	out, _, code = runCmd(t, runList, "tasks", "--summary", "--json")
	var s state.TaskSummary
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.Total != 40 {
		t.Fatalf("summary json: exit %d\n%s", code, out)
	}
	out, _, code = runCmd(t, runList, "tasks", "--summary")
	if code != 0 || !strings.HasPrefix(out, "40 tasks:") || !strings.Contains(out, "FUNCTION") {
		t.Fatalf("summary: exit %d\n%s", code, out)
	}
}

func TestListErrors(t *testing.T) {
	stateServer(t)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"widgets"}, 2, "unknown resource"},
		{[]string{}, 2, "Usage"},
		{[]string{"actors", "--filter", "colour=red"}, 2, "unknown filter field"},
		{[]string{"actors", "--filter", "nokey"}, 2, "not key=value"},
		{[]string{"actors", "--limit", "-4"}, 2, "limit"},
		{[]string{"nodes", "--summary"}, 2, "tasks only"},
		{[]string{"nodes", "--token", "wrong"}, 1, "token was rejected"},
	}
	for _, c := range cases {
		_, stderr, code := runCmd(t, runList, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("goray list %q: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.msg, stderr)
		}
	}
	t.Setenv("GORAY_ADDRESS", "127.0.0.1:1")
	if _, stderr, code := runCmd(t, runList, "nodes"); code != 1 || !strings.Contains(stderr, jobs.ErrUnreachable.Error()) {
		t.Errorf("unreachable: exit %d %s", code, stderr)
	}
}

func TestLogsCommand(t *testing.T) {
	src := stateServer(t)
	key := state.LogQuery{Node: "node-00", Job: "j1"}
	src.AppendLog(key, "step 1\nstep 2\n")
	out, stderr, code := runCmd(t, runLogs, "j1")
	if code != 0 || out != "step 1\nstep 2\n" {
		t.Fatalf("logs j1: exit %d %q %s", code, out, stderr)
	}
	out, _, code = runCmd(t, runLogs, "--job", "j1", "--node", "node-00", "--offset", "7")
	if code != 0 || out != "step 2\n" {
		t.Fatalf("logs with offset: exit %d %q", code, out)
	}
	// --follow prints lines written after it started and returns when
	// the log ends.
	w := &notifyWriter{wrote: make(chan struct{}, 16)}
	done := make(chan int)
	go func() {
		done <- runLogs(t.Context(), []string{"--follow", "j1"}, w, io.Discard)
	}()
	for !strings.Contains(w.String(), "step 2\n") {
		select {
		case <-w.wrote:
		case <-time.After(15 * time.Second):
			t.Fatalf("follower printed %q", w.String())
		}
	}
	src.AppendLog(key, "step 3\n")
	src.CloseLog(key)
	select {
	case fcode := <-done:
		if fcode != 0 || w.String() != "step 1\nstep 2\nstep 3\n" {
			t.Fatalf("follow: exit %d %q", fcode, w.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("goray logs --follow did not return after the log closed")
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, 2, "name a log"},
		{[]string{"nope"}, 1, "not found"},
		{[]string{"a", "b"}, 2, "Usage"},
		{[]string{"j1", "--offset", "-1"}, 2, "negative"},
	} {
		_, stderr, code := runCmd(t, runLogs, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("goray logs %q: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.msg, stderr)
		}
	}
}

// notifyWriter is a concurrency-safe buffer that signals each write.
type notifyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return w.buf.Write(p)
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// `goray list demands` shows what waits for resources, one row per node
// and shape, from the state API's /demands list.
func TestListDemands(t *testing.T) {
	src := stateServer(t)
	src.PutNode(state.NodeState{ID: "n-gpu", Name: "gpu-box", State: state.NodeAlive, PendingDemands: []state.ResourceDemand{
		{Shape: map[string]float64{"CPU": 1, "GPU": 1}, Count: 3}}})
	out, stderr, code := runCmd(t, runList, "demands")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || !strings.HasPrefix(lines[0], "SHAPE") || len(lines) != 2 ||
		!strings.Contains(lines[1], "CPU=1,GPU=1") || !strings.Contains(lines[1], " 3 ") || !strings.Contains(lines[1], "gpu-box") {
		t.Fatalf("goray list demands: exit %d\n%s%s", code, out, stderr)
	}
}

package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/runtime/jobs"
)

type fakeJobs struct {
	mu   sync.Mutex
	list []jobs.Info
	logs map[string]string
}

func (f *fakeJobs) List() []jobs.Info {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]jobs.Info(nil), f.list...)
}

func (f *fakeJobs) Logs(_ context.Context, id string, off int64, _ bool, w io.Writer) (int64, error) {
	f.mu.Lock()
	text, ok := f.logs[id]
	f.mu.Unlock()
	if !ok {
		return off, fmt.Errorf("%w: %s", jobs.ErrJobNotFound, id)
	}
	n, err := io.WriteString(w, text[off:])
	return off + int64(n), err
}

func TestSyncJobs(t *testing.T) {
	f := &fakeJobs{list: []jobs.Info{{ID: "a", State: jobs.Running}, {ID: "b", State: jobs.Pending}}, logs: map[string]string{"a": "driver output\n"}}
	m := NewMemorySource()
	if !m.syncJobsOnce(f) {
		t.Fatal("the first sync found no change")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- m.SyncJobs(ctx, f, 5*time.Millisecond) }()
	c, _ := m.Watch(t.Context(), 0)
	p, _ := m.Jobs(t.Context(), Query{})
	if p.Total != 2 || p.Items[0].ID != "b" {
		t.Fatalf("synced jobs, newest first: %+v", p.Items)
	}
	// An unchanged list does not bump the version; a change does.
	if m.syncJobsOnce(f) {
		t.Fatal("an unchanged job list counted as a change")
	}
	f.mu.Lock()
	f.list[0].State = jobs.Succeeded
	f.mu.Unlock()
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	c2, err := m.Watch(wctx, c.Version)
	if err != nil || fmt.Sprint(c2.Kinds) != "[jobs]" {
		t.Fatalf("after a state change: %+v %v", c2, err)
	}
	if p, _ := m.Jobs(t.Context(), Query{Filters: map[string]string{"status": "SUCCEEDED"}}); p.Total != 1 {
		t.Fatalf("SUCCEEDED jobs: %d", p.Total)
	}
	// Job logs come from the manager; a log the source holds wins.
	var buf bytes.Buffer
	if _, err := m.Logs(t.Context(), LogQuery{Job: "a", Offset: 7}, &buf); err != nil || buf.String() != "output\n" {
		t.Fatalf("job log from the manager: %q %v", buf.String(), err)
	}
	if _, err := m.Logs(t.Context(), LogQuery{Job: "zz"}, &buf); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown job's log: %v", err)
	}
	m.AppendLog(LogQuery{Node: "n1", Job: "a"}, "held here\n")
	buf.Reset()
	if _, err := m.Logs(t.Context(), LogQuery{Job: "a"}, &buf); err != nil || !strings.HasPrefix(buf.String(), "held here") {
		t.Fatalf("held log: %q %v", buf.String(), err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("SyncJobs returned %v", err)
	}
}

func TestSyncNodes(t *testing.T) {
	m := NewMemorySource()
	var mu sync.Mutex
	cpu := 10.0
	fetch := func(context.Context) []NodeState {
		mu.Lock()
		defer mu.Unlock()
		return []NodeState{{ID: "n1", State: NodeAlive, CPUPercent: cpu}, {ID: "n2", State: NodeDead}}
	}
	if !m.syncNodesOnce(fetch(t.Context())) || m.syncNodesOnce(fetch(t.Context())) {
		t.Fatal("first sync must change, an identical second must not")
	}
	c, _ := m.Watch(t.Context(), 0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- m.SyncNodes(ctx, fetch, 5*time.Millisecond) }()
	mu.Lock()
	cpu = 55
	mu.Unlock()
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	if c2, err := m.Watch(wctx, c.Version); err != nil || fmt.Sprint(c2.Kinds) != "[nodes]" {
		t.Fatalf("after the CPU moved: %+v %v", c2, err)
	}
	p, _ := m.Nodes(t.Context(), Query{Filters: map[string]string{"node_id": "n1"}})
	if p.Items[0].CPUPercent != 55 {
		t.Fatalf("node n1: %+v", p.Items[0])
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("SyncNodes returned %v", err)
	}
}

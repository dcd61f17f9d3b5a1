package actorexec_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/tune"
	"github.com/goray/goray/libs/tune/actorexec"
)

// Every result line of an actor trial records where the trial ran, as
// Ray's result.json does: node_ip holds the goray node ID (the table's loc
// column), pid and hostname are the trial actor's worker process, not the
// driver's.
func TestResultsRecordTheTrialProcess(t *testing.T) {
	ctx, rt := initRT(t)
	tuner, err := tune.NewTuner("actorexec-test.trivial", map[string]any{"x": tune.GridSearch(1.0, 2.0)},
		tune.Config{Metric: "v", Mode: "max", Executor: actorexec.New(rt)},
		tune.RunConfig{Name: "where", StoragePath: t.TempDir(), NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	node := goray.NodeID(ctx)
	if grid.Len() != 2 || grid.NumTerminated() != 2 {
		t.Fatalf("%d trials, %d terminated: %v", grid.Len(), grid.NumTerminated(), grid.Errors())
	}
	for _, r := range grid.Results {
		if r.Location != node {
			t.Errorf("%s: location %q, want node %q", r.Name, r.Location, node)
		}
		f, err := os.Open(filepath.Join(r.Path, tune.ResultFile))
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v", r.Name, err)
			}
			lines++
			pid, _ := m[tune.KeyPID].(float64)
			if pid <= 0 || int(pid) == os.Getpid() {
				t.Errorf("%s: pid %v; want the trial actor's worker, not the driver %d", r.Name, m[tune.KeyPID], os.Getpid())
			}
			if m[tune.KeyHostname] != host {
				t.Errorf("%s: hostname %v, want %q", r.Name, m[tune.KeyHostname], host)
			}
			if m[tune.KeyNodeIP] != node {
				t.Errorf("%s: %s %v, want the node ID %q", r.Name, tune.KeyNodeIP, m[tune.KeyNodeIP], node)
			}
		}
		f.Close()
		if lines == 0 {
			t.Errorf("%s: result.json is empty", r.Name)
		}
	}
}

// gated reports once the file named by its "gate" param exists: its first
// step lasts as long as the test wants, without a sleep deciding it.
func gated(ctx context.Context, p tune.Params, s tune.Session) error {
	gate, _ := p["gate"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(gate); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("gate never opened")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return s.Report(ctx, tune.Metrics{"v": 1.0}, nil)
}

func init() { tune.RegisterFunc("actorexec-test.gated", gated) }

// syncBuffer is a bytes.Buffer for one writer and one polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The live table names a trial's node while its first step still runs:
// the executor asks the actor where it is as soon as it is created.
func TestTableShowsNodeBeforeFirstResult(t *testing.T) {
	ctx, rt := initRT(t)
	gate := filepath.Join(t.TempDir(), "gate")
	var table syncBuffer
	tuner, err := tune.NewTuner("actorexec-test.gated", map[string]any{"gate": gate},
		tune.Config{Metric: "v", Mode: "max", Executor: actorexec.New(rt)},
		tune.RunConfig{Name: "early", StoragePath: t.TempDir(), NoPlot: true, Progress: &table, ProgressInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	type fit struct {
		grid *tune.ResultGrid
		err  error
	}
	done := make(chan fit, 1)
	go func() {
		g, err := tuner.Fit(ctx)
		done <- fit{g, err}
	}()
	node := goray.NodeID(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for !runningOn(table.String(), node) {
		if time.Now().After(deadline) {
			os.WriteFile(gate, nil, 0o644)
			<-done
			t.Fatalf("no table row shows the trial RUNNING on %s:\n%s", node, table.String())
		}
		time.Sleep(5 * time.Millisecond) // polling the table, with a deadline
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f := <-done
	if f.err != nil {
		t.Fatal(f.err)
	}
	if f.grid.NumTerminated() != 1 {
		t.Fatalf("%d terminated: %v", f.grid.NumTerminated(), f.grid.Errors())
	}
}

// runningOn reports whether a table row shows a RUNNING trial on node
// with no result yet: name, status and loc, the iteration, time and
// metric columns empty (the experiment varies no param).
func runningOn(table, node string) bool {
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[1] == string(tune.Running) && f[2] == node {
			return true
		}
	}
	return false
}

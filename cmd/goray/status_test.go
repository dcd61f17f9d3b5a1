package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/agent"
)

type statusEngine struct{ r agent.EngineReport }

func (e statusEngine) Report() agent.EngineReport { return e.r }

func runStatusCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runStatus(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestStatusCommand(t *testing.T) {
	c := testutil.NewLocalCluster(t, 2, testutil.WithToken("tok"))
	c.Agents[1].SetEngine(statusEngine{agent.EngineReport{
		Available:      map[string]float64{"CPU": 1, "memory": 1 << 30, "object_store_memory": 128 << 20},
		PendingDemands: []agent.Demand{{Shape: map[string]float64{"CPU": 8, "GPU": 1}, Count: 3}},
	}})
	// Demands are the cluster's: the same shape waiting on two nodes is
	// one line with the sum.
	c.Agents[0].SetEngine(statusEngine{agent.EngineReport{
		PendingDemands: []agent.Demand{{Shape: map[string]float64{"CPU": 8, "GPU": 1}, Count: 2}, {Shape: map[string]float64{"CPU": 0.5}, Count: 1}},
	}})
	addr := c.Agents[0].HTTPAddr()
	t.Setenv("GORAY_ADDRESS", addr)
	t.Setenv("GORAY_TOKEN", "tok")

	testutil.WaitFor(t, 5*time.Second, func() bool {
		out, _, code := runStatusCmd(t)
		return code == 0 && strings.Contains(out, "1.0/4.0 CPU")
	}, "status shows node1's CPU in use")
	out, stderr, code := runStatusCmd(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"Alive:", "alive node0", "alive node1", "[this node]", "(no dead nodes)",
		"1.0/4.0 CPU", "0B/2.00GiB memory", "128.00MiB/512.00MiB object_store_memory", "object store: 0B/512.00MiB in use",
		`{"CPU": 8, "GPU": 1}: 5+ pending tasks/actors (`, `{"CPU": 0.5}: 1+ pending tasks/actors (`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}

	if i, j := strings.Index(out, `{"CPU": 8, "GPU": 1}`), strings.Index(out, `{"CPU": 0.5}`); i < 0 || j < i {
		t.Errorf("demands not ordered by count:\n%s", out)
	}

	// --json prints the API's document.
	out, _, code = runStatusCmd(t, "--json", "--address", "http://"+addr)
	var st agent.StatusResponse
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Alive) != 2 {
		t.Fatalf("--json: exit %d, output %s", code, out)
	}
	if len(st.PendingDemands) != 3 || len(st.Demands) != 2 || st.Demands[0].Count != 5 || st.Demands[1].Count != 1 {
		t.Errorf("--json demands: per node %+v, summed %+v", st.PendingDemands, st.Demands)
	}

	// A wrong token gives the server's message and exit 1.
	_, stderr, code = runStatusCmd(t, "--token", "nope")
	if code != 1 || !strings.Contains(stderr, "401") || !strings.Contains(stderr, "bearer token") {
		t.Fatalf("wrong token: exit %d, stderr %q", code, stderr)
	}
	// Nothing listening: a clear error, not a hang.
	_, stderr, code = runStatusCmd(t, "--address", "127.0.0.1:1", "--timeout", "2s")
	if code != 1 || !strings.Contains(stderr, "cannot reach gorayd at 127.0.0.1:1") {
		t.Fatalf("unreachable: exit %d, stderr %q", code, stderr)
	}
}

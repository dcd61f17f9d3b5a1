package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/cluster"
)

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestHTTPTokenProtectsAPI(t *testing.T) {
	c := testutil.NewLocalCluster(t, 1, testutil.WithToken("s3cret"))
	base := "http://" + c.Agents[0].HTTPAddr()
	// An API mounted after Start is served and protected like the rest.
	c.Agents[0].Handle("GET /api/v0/hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello"))
	}))
	if code, body := get(t, base+"/api/v0/hello", "s3cret"); code != http.StatusOK || string(body) != "hello" {
		t.Fatalf("mounted handler: %d %s", code, body)
	}
	if code, _ := get(t, base+"/api/v0/hello", ""); code != http.StatusUnauthorized {
		t.Fatalf("mounted handler without token: %d, want 401", code)
	}
	if code, _ := get(t, base+"/v1/health", ""); code != http.StatusOK {
		t.Fatalf("/v1/health without token: %d, want 200", code)
	}
	for _, path := range []string{"/v1/nodes", "/v1/status"} {
		code, body := get(t, base+path, "")
		if code != http.StatusUnauthorized || !strings.Contains(string(body), "bearer token") {
			t.Errorf("%s without token: %d %s, want 401 with a message", path, code, body)
		}
		if code, body := get(t, base+path, "wrong"); code != http.StatusUnauthorized || !strings.Contains(string(body), "wrong bearer token") {
			t.Errorf("%s with a wrong token: %d %s, want 401 saying the token is wrong", path, code, body)
		}
		if code, body := get(t, base+path, "s3cret"); code != http.StatusOK {
			t.Errorf("%s with the token: %d %s", path, code, body)
		}
	}
}

// fakeEngine reports whatever the test sets.
type fakeEngine struct {
	mu sync.Mutex
	r  agent.EngineReport
}

func (f *fakeEngine) Report() agent.EngineReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.r
}

func TestStatusShowsRemoteUsageAndDemands(t *testing.T) {
	c := testutil.NewLocalCluster(t, 2)
	eng := &fakeEngine{r: agent.EngineReport{
		Available:      map[string]float64{"CPU": 0.5, "memory": 1 << 30, "object_store_memory": 256 << 20},
		Load:           cluster.Load{RunningTasks: 3, ObjectStoreUsed: 64 << 20},
		PendingDemands: []agent.Demand{{Shape: map[string]float64{"CPU": 4}, Count: 2}},
	}}
	c.Agents[1].SetEngine(eng)
	base := "http://" + c.Agents[0].HTTPAddr()
	var st agent.StatusResponse
	took := testutil.WaitFor(t, 3*time.Second, func() bool {
		code, body := get(t, base+"/v1/status", "")
		if code != http.StatusOK || json.Unmarshal(body, &st) != nil {
			return false
		}
		return st.Used["CPU"] == 1.5 && len(st.PendingDemands) == 1
	}, "node1's usage and demand visible from node0")
	t.Logf("engine report visible on a peer after %v", took)
	if len(st.Alive) != 2 || len(st.Dead) != 0 || st.Total["CPU"] != 4 {
		t.Fatalf("status: %+v", st)
	}
	d := st.PendingDemands[0]
	if d.NodeID != c.Agents[1].NodeID() || d.Count != 2 || d.Shape["CPU"] != 4 {
		t.Fatalf("demand %+v", d)
	}
	if st.ObjectStore.Used != 64<<20 || st.ObjectStore.Limit != 2*(256<<20) {
		t.Fatalf("object store %+v", st.ObjectStore)
	}
	var nodes agent.NodesResponse
	_, body := get(t, base+"/v1/nodes", "")
	if err := json.Unmarshal(body, &nodes); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Nodes {
		if n.ID == c.Agents[1].NodeID() && (n.Load.RunningTasks != 3 || n.StateAgeMS < 0 || n.StateAgeMS > 1000) {
			t.Fatalf("node1 as seen by node0: %+v", n)
		}
	}
}

func TestAgentLifecycleErrors(t *testing.T) {
	c := testutil.NewLocalCluster(t, 1)
	a := c.Agents[0]
	if err := a.Start(t.Context()); !errors.Is(err, agent.ErrStarted) {
		t.Fatalf("second Start: %v, want ErrStarted", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Binding a port that is taken fails Start cleanly.
	cfg := c.Config(6)
	cfg.HTTP.Port = mustPort(t, a.HTTPAddr())
	cfg.HTTP.BindAddr = strings.Split(a.HTTPAddr(), ":")[0]
	d, err := agent.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err == nil {
		t.Fatal("Start on a taken HTTP port succeeded")
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	b, err := agent.New(c.Config(5), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(ctx); !errors.Is(err, agent.ErrNotRunning) {
		t.Fatalf("Shutdown before Start: %v, want ErrNotRunning", err)
	}
}

func mustPort(t *testing.T, hostport string) int {
	t.Helper()
	i := strings.LastIndexByte(hostport, ':')
	var p int
	for _, ch := range hostport[i+1:] {
		p = p*10 + int(ch-'0')
	}
	return p
}

func TestInProcessFailureAndLeaveEvents(t *testing.T) {
	c := testutil.NewLocalCluster(t, 3)
	events, cancel := c.Agents[0].Membership().Subscribe()
	defer cancel()
	leaver, crasher := c.Agents[1], c.Agents[2]
	ctx, stop := context.WithTimeout(t.Context(), 5*time.Second)
	defer stop()
	if err := leaver.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	crasher.Abort()
	got := map[string]cluster.EventType{}
	deadline := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case ev := <-events:
			if ev.Type == cluster.EventLeave || ev.Type == cluster.EventFailed {
				got[ev.Member.ID] = ev.Type
			}
		case <-deadline:
			t.Fatalf("events so far: %v", got)
		}
	}
	if got[leaver.NodeID()] != cluster.EventLeave || got[crasher.NodeID()] != cluster.EventFailed {
		t.Fatalf("leave/fail events: %v", got)
	}
}

func TestUseNodeIDAnnouncesTheEnginesID(t *testing.T) {
	c := testutil.NewLocalCluster(t, 1)
	a, err := agent.New(c.Config(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := cluster.NewNodeID()
	if err := a.UseNodeID(id); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Shutdown(ctx) }()
	if a.NodeID() != id {
		t.Fatalf("NodeID %q, want %q", a.NodeID(), id)
	}
	testutil.WaitFor(t, 5*time.Second, func() bool {
		for _, n := range c.Agents[0].Nodes() {
			if n.ID == id && n.State == "alive" {
				return true
			}
		}
		return false
	}, "the peer lists the fixed ID")
	if err := a.UseNodeID(cluster.NewNodeID()); !errors.Is(err, agent.ErrStarted) {
		t.Fatalf("UseNodeID after Start: %v, want ErrStarted", err)
	}
}

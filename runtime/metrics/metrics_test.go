package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandlerExposesMovingCounters(t *testing.T) {
	m := New("node-a")
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return string(b)
	}
	m.TaskState("f", "", "RUNNING")
	m.TaskState("f", "", "RUNNING")
	m.TaskState("f", "RUNNING", "FINISHED")
	m.ObserveScheduling(50 * time.Microsecond)
	m.AddEnvSteps(4000)
	m.SetResources(map[string]float64{"CPU": 2}, map[string]float64{"CPU": 1})
	out := scrape()
	for _, want := range []string{
		`goray_tasks{name="f",node="node-a",state="RUNNING"} 1`,
		`goray_tasks{name="f",node="node-a",state="FINISHED"} 1`,
		`goray_scheduling_latency_seconds_count{node="node-a"} 1`,
		`goray_rllib_env_steps_total{node="node-a"} 4000`,
		`goray_resources_available{node="node-a",resource="CPU"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	m.AddEnvSteps(1)
	if !strings.Contains(scrape(), `goray_rllib_env_steps_total{node="node-a"} 4001`) {
		t.Error("counter did not move")
	}
}

func TestNilMetricsIsSafe(t *testing.T) {
	var m *Metrics
	m.TaskState("f", "", "RUNNING")
	m.ObserveScheduling(time.Millisecond)
	m.AddEnvSteps(1)
	m.SetResources(nil, nil)
	if m.Registry() != nil {
		t.Fatal("nil metrics has a registry")
	}
}

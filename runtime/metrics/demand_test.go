package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestShapeLabel(t *testing.T) {
	for _, tc := range []struct {
		shape map[string]float64
		want  string
	}{
		{nil, "none"},
		{map[string]float64{"CPU": 0}, "none"},
		{map[string]float64{"CPU": 1}, "CPU=1"},
		{map[string]float64{"GPU": 1, "CPU": 0.5, "memory": 0}, "CPU=0.5,GPU=1"},
	} {
		if got := shapeLabel(tc.shape); got != tc.want {
			t.Errorf("shapeLabel(%v) = %q, want %q", tc.shape, got, tc.want)
		}
	}
}

// The pending demand appears by shape and summed by resource, and a shape
// no longer waited for disappears rather than keeping its last count.
func TestPendingDemandMetrics(t *testing.T) {
	m := New("node-a")
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return string(b)
	}
	m.SetPendingDemand([]Demand{
		{Shape: map[string]float64{"CPU": 1}, Count: 3},
		{Shape: map[string]float64{"CPU": 2, "GPU": 1}, Count: 2},
		{Shape: map[string]float64{"CPU": 4}, Count: 0},
	})
	out := scrape()
	for _, want := range []string{
		`goray_pending_demand{node="node-a",shape="CPU=1"} 3`,
		`goray_pending_demand{node="node-a",shape="CPU=2,GPU=1"} 2`,
		`goray_pending_resources{node="node-a",resource="CPU"} 7`,
		`goray_pending_resources{node="node-a",resource="GPU"} 2`,
		`goray_pending_resources{node="node-a",resource="memory"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(out, `shape="CPU=4"`) {
		t.Error("a shape with no count is exported")
	}
	m.SetPendingDemand([]Demand{{Shape: map[string]float64{"CPU": 1}, Count: 1}})
	out = scrape()
	if strings.Contains(out, `shape="CPU=2,GPU=1"`) || !strings.Contains(out, `goray_pending_demand{node="node-a",shape="CPU=1"} 1`) ||
		!strings.Contains(out, `goray_pending_resources{node="node-a",resource="GPU"} 0`) {
		t.Errorf("after the demand changed:\n%s", grepLines(out, "goray_pending"))
	}
	m.SetPendingDemand(nil)
	if out := scrape(); strings.Contains(out, "goray_pending_demand{") || !strings.Contains(out, `goray_pending_resources{node="node-a",resource="CPU"} 0`) {
		t.Errorf("idle node:\n%s", grepLines(out, "goray_pending"))
	}
	var nilM *Metrics
	nilM.SetPendingDemand([]Demand{{Shape: map[string]float64{"CPU": 1}, Count: 1}})
}

func grepLines(text, sub string) string {
	var out []string
	for l := range strings.Lines(text) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

package metrics

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Demand is one resource shape that requests wait for on the node, and
// how many wait for it (runtime.Node.PendingDemand, without importing the
// runtime).
type Demand struct {
	Shape map[string]float64
	Count int
}

// SetPendingDemand publishes the node's pending demand, replacing the last
// one: shapes no longer waited for disappear from goray_pending_demand
// (rather than lingering at their last count), and goray_pending_resources
// keeps one series per standard resource (CPU, GPU, memory) at 0 on an idle
// node, so a dashboard's query for it has data.
func (m *Metrics) SetPendingDemand(ds []Demand) {
	if m == nil {
		return
	}
	m.PendingDemand.Reset()
	res := map[string]float64{"CPU": 0, "GPU": 0, "memory": 0}
	for _, d := range ds {
		if d.Count <= 0 {
			continue
		}
		m.PendingDemand.WithLabelValues(shapeLabel(d.Shape)).Add(float64(d.Count))
		for k, v := range d.Shape {
			res[k] += v * float64(d.Count)
		}
	}
	m.PendingResources.Reset()
	for k, v := range res {
		m.PendingResources.WithLabelValues(k).Set(v)
	}
}

// shapeLabel writes a shape as "CPU=1,GPU=1": keys sorted, zero amounts
// left out, "none" for a shape that asks for nothing (so the label is
// never empty, which Prometheus would treat as absent).
func shapeLabel(shape map[string]float64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(shape)) {
		if shape[k] == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + strconv.FormatFloat(shape[k], 'g', -1, 64))
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

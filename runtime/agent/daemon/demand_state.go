package daemon

import (
	"math"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/metrics"
	"github.com/goray/goray/runtime/state"
)

// nodeDemands is the node's pending demand as its state API record
// carries it (NodeState.PendingDemands, and so /api/v0/demands).
func nodeDemands(n *grt.Node) []state.ResourceDemand {
	pd := n.PendingDemand()
	if len(pd) == 0 {
		return nil
	}
	out := make([]state.ResourceDemand, 0, len(pd))
	for _, d := range pd {
		// Whole milliseconds: the record is compared for changes each
		// second, and nanosecond noise would be a change every time.
		oldest := math.Round(d.Oldest.Seconds()*1000) / 1000
		out = append(out, state.ResourceDemand{Shape: d.Shape, Count: d.Count, OldestSeconds: oldest})
	}
	return out
}

// refreshDemandMetrics publishes the node's pending demand to /metrics
// (goray_pending_demand, goray_pending_resources).
func (o *observer) refreshDemandMetrics() {
	node := o.d.Node()
	if node == nil {
		return
	}
	pd := node.PendingDemand()
	ds := make([]metrics.Demand, 0, len(pd))
	for _, d := range pd {
		ds = append(ds, metrics.Demand{Shape: d.Shape, Count: d.Count})
	}
	o.met.SetPendingDemand(ds)
}

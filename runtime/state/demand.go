package state

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Pending demand in the state API.
//
// Ray's autoscaler state lists the cluster's "resource demands": shapes of
// work that waits for resources, with counts. Here each node reports its
// own in its NodeState (the daemon fills its record from
// runtime.Node.PendingDemand and takes peers' from their own records, as
// for their host figures), and /api/v0/demands flattens the alive nodes'
// demands into rows, one per node and shape. The rows are derived from the
// nodes table whenever it changes, so they are never out of step with
// /api/v0/nodes and move under the "nodes" change kind.

// ShapeKey is a resource shape as stable text: "CPU=1,GPU=0.5", keys
// sorted, zero amounts left out (so {CPU: 1, GPU: 0} and {CPU: 1} are one
// shape). The empty shape is "".
func ShapeKey(shape map[string]float64) string {
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
	return b.String()
}

// DemandRows flattens the pending demands of the alive nodes in ns into
// /api/v0/demands rows, in node order and, within a node, in the order the
// node reported them (most numerous first). Dead and left nodes wait for
// nothing; rows with no count are dropped.
func DemandRows(ns []NodeState) []DemandState {
	var out []DemandState
	for _, n := range ns {
		if n.State != NodeAlive {
			continue
		}
		for _, d := range n.PendingDemands {
			if d.Count <= 0 {
				continue
			}
			out = append(out, DemandState{Node: n.ID, NodeName: n.Name, Shape: maps.Clone(d.Shape),
				ShapeKey: ShapeKey(d.Shape), Count: d.Count, OldestSeconds: d.OldestSeconds})
		}
	}
	return out
}

// refreshDemands rebuilds the demand rows from the nodes table.
func (m *MemorySource) refreshDemands() {
	var ns []NodeState
	_ = m.nodes.Scan(nil, func(n NodeState) bool { ns = append(ns, n); return true })
	m.demands.Replace(DemandRows(ns))
}

// Demands implements Source.
func (m *MemorySource) Demands(_ context.Context, q Query) (Page[DemandState], error) {
	return m.demands.List(q)
}

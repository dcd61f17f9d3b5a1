package daemon

import (
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/jobs"
)

// jobResources is what the job manager needs from the daemon to check and
// hold drivers' resources: the live members' totals, as the membership
// gossips them, for the submit check; holds on this daemon's node, which
// runs the drivers. The manager exists before the node (its driver
// address is fixed first), so the node is looked up at each call.
type jobResources struct{ d *Daemon }

// Nodes implements jobs.ResourceHolder: the alive members (a suspect or
// dead node cannot take a driver), this node's totals from its engine.
func (r jobResources) Nodes() []jobs.NodeResources {
	var out []jobs.NodeResources
	self := false
	for _, n := range r.d.agent.Nodes() {
		if n.State != string(cluster.StatusAlive) {
			continue
		}
		nr := jobs.NodeResources{ID: n.ID, Name: n.Name, Addr: n.HTTPAddr, Total: n.ResourcesTotal, Self: n.IsSelf}
		if n.IsSelf {
			self = true
			if node := r.d.Node(); node != nil {
				nr.Total = node.TotalResources()
			}
		}
		out = append(out, nr)
	}
	if !self {
		// Before the agent announces this node, it still runs the
		// drivers submitted to it.
		if node := r.d.Node(); node != nil {
			out = append(out, jobs.NodeResources{ID: node.ID(), Name: r.d.cfg.NodeName, Total: node.TotalResources(), Self: true})
		}
	}
	return out
}

// TryHold implements jobs.ResourceHolder on this daemon's node.
func (r jobResources) TryHold(res map[string]float64) (func(), map[string]float64, error) {
	node := r.d.Node()
	if node == nil {
		return nil, nil, ErrNotReady
	}
	return node.TryHold(res)
}

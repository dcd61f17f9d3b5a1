package task

import "math"

// FeasibleElsewhere picks the node that should hold a request which fits
// no node's free resources now but fits some node's totals (the policy's
// Wait), when the requesting node itself can never hold it: the request
// then waits in that node's queue instead of failing as infeasible on a
// node that is merely too small. Feasibility is a property of the whole
// cluster, not of the node a request happens to arrive at.
//
// Among the alive, non-draining nodes whose totals fit demand it picks
// the one with the most room for it now (the largest number of such
// requests its free resources would hold, fractional), ties broken by
// ID so that the choice is deterministic. It reports false if no node
// fits.
func FeasibleElsewhere(demand Resources, nodes []NodeView) (string, bool) {
	best, bestRoom := "", math.Inf(-1)
	for i := range nodes {
		n := &nodes[i]
		if !n.schedulable() || !demand.Fits(n.Total) {
			continue
		}
		room := math.Inf(1)
		for k, v := range demand {
			if need := fix(v); need > 0 {
				room = min(room, float64(fix(n.Available[k]))/float64(need))
			}
		}
		if room > bestRoom || room == bestRoom && n.ID < best {
			best, bestRoom = n.ID, room
		}
	}
	return best, best != ""
}

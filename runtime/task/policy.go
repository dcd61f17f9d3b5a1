package task

import (
	"fmt"
	"math"
	"strconv"
)

// NodeView is what the policy knows about one node: a snapshot the caller
// builds from its own tables (the local node) and from resource broadcasts
// (peers). Available must already exclude resources reserved by placement
// group bundles (see PGTable.ReservedOn); the policy never mutates a view.
type NodeView struct {
	ID        string
	Total     Resources
	Available Resources
	Alive     bool
	Labels    map[string]string
	// Draining nodes finish what they run but accept no new work. They still
	// count for feasibility, so work that only they could hold waits rather
	// than failing.
	Draining bool
}

// schedulable reports whether the node may receive new work.
func (n *NodeView) schedulable() bool { return n.Alive && !n.Draining }

// StrategyKind selects the scheduling strategy of a request.
type StrategyKind int

// Scheduling strategies, mirroring Ray's scheduling_strategy option.
const (
	// StrategyDefault is Ray's hybrid policy: local first, then top-k least loaded.
	StrategyDefault StrategyKind = iota
	// StrategySpread round-robins requests over the nodes that can take them.
	StrategySpread
	// StrategyNodeAffinity pins a request to Strategy.Node (hard or soft).
	StrategyNodeAffinity
	// StrategyPlacementGroup runs a request inside a placement group bundle.
	StrategyPlacementGroup
)

// String names the strategy as Ray spells it.
func (k StrategyKind) String() string {
	switch k {
	case StrategyDefault:
		return "DEFAULT"
	case StrategySpread:
		return "SPREAD"
	case StrategyNodeAffinity:
		return "NODE_AFFINITY"
	case StrategyPlacementGroup:
		return "PLACEMENT_GROUP"
	}
	return "StrategyKind(" + strconv.Itoa(int(k)) + ")"
}

// AnyBundle as Strategy.Bundle lets a placement-group request use whichever
// bundle of the group has room.
const AnyBundle = -1

// Strategy is a request's scheduling strategy. Node and Soft apply to
// StrategyNodeAffinity; PG and Bundle to StrategyPlacementGroup.
type Strategy struct {
	Kind   StrategyKind
	Node   string
	Soft   bool
	PG     string
	Bundle int // bundle index, or AnyBundle (-1)
}

// Request is one unit of work to place: a task, or an actor's creation.
type Request struct {
	ID       string
	Demand   Resources
	Strategy Strategy
	// PreferredNodes hold the request's large arguments, best first. Tasks
	// (not actors) prefer the first live node here that can ever fit them,
	// so that big arguments need not move.
	PreferredNodes []string
	IsActor        bool
}

// Outcome is the kind of a scheduling Decision.
type Outcome int

// Outcomes. The zero value is deliberately not a valid outcome, so a zero
// Decision is never mistaken for "schedule on node \"\"".
const (
	// Schedule: run the request on Decision.Node now.
	Schedule Outcome = iota + 1
	// Wait: the request fits some node's totals but no node has it free now;
	// keep it queued and ask again when resources or nodes change.
	Wait
	// Infeasible: no live node can ever hold the request; fail it at once
	// with Decision.Reason.
	Infeasible
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Schedule:
		return "Schedule"
	case Wait:
		return "Wait"
	case Infeasible:
		return "Infeasible"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Decision is the policy's answer for one request. Reason is empty for
// Schedule on the fast paths and explains Wait and Infeasible. Bundle is the
// chosen bundle index for placement-group requests and -1 otherwise.
type Decision struct {
	Node    string
	Outcome Outcome
	Reason  string
	Bundle  int
}

// Default policy parameters (Ray's scheduler_spread_threshold,
// scheduler_top_k_fraction and scheduler_top_k_absolute).
const (
	DefaultSpreadThreshold = 0.5
	DefaultTopKFraction    = 0.2
	DefaultTopKAbsolute    = 1
)

// Policy places requests on nodes. It holds a little state (the random
// source, the SPREAD cursor and scratch space reused across calls), so it is
// not safe for concurrent use: each scheduler loop owns one.
type Policy struct {
	// SpreadThreshold: the preferred (local) node keeps receiving work while
	// its critical-resource utilisation is below this fraction.
	SpreadThreshold float64
	// TopKFraction and TopKAbsolute size the candidate set once work spills:
	// k = max(TopKAbsolute, floor(TopKFraction × live nodes)).
	TopKFraction float64
	TopKAbsolute int
	// AvoidGPUNodes makes requests that need no GPU try nodes without GPUs
	// first, keeping GPU nodes free for GPU work (Ray's
	// scheduler_avoid_gpu_nodes).
	AvoidGPUNodes bool
	// Rand picks among equally good candidates.
	Rand Rand
	// PGs resolves placement-group requests; nil makes them infeasible.
	PGs *PGTable

	spreadLast string      // SPREAD cursor: ID of the node chosen last
	scratch    []candidate // reused by the hybrid policy to avoid allocation
	dem        demand      // the current request's demand, flattened
}

// demand is a request's positive quantities in fixed point, flattened once
// per Place so that testing a node costs one map lookup per resource rather
// than a map iteration.
type demand []demandEntry

type demandEntry struct {
	name string
	need int64
}

// fits reports whether every demanded quantity is available in avail.
func (d demand) fits(avail Resources) bool {
	for _, e := range d {
		if fix(avail[e.name]) < e.need {
			return false
		}
	}
	return true
}

// DefaultPolicy returns a policy with Ray's defaults and a deterministic
// random source seeded with seed.
func DefaultPolicy(seed int64) *Policy {
	return &Policy{
		SpreadThreshold: DefaultSpreadThreshold,
		TopKFraction:    DefaultTopKFraction,
		TopKAbsolute:    DefaultTopKAbsolute,
		AvoidGPUNodes:   true,
		Rand:            NewRand(seed),
	}
}

// Place decides where req should run given the cluster view nodes, where
// local is the ID of the node asking (it may be empty for cluster-level
// placement with no local preference). Place never mutates nodes: the caller
// commits a Schedule decision by subtracting req.Demand from the chosen
// node's Available (or, for placement groups, calling PGTable.Acquire).
func (p *Policy) Place(req Request, nodes []NodeView, local string) Decision {
	dem := p.dem[:0]
	for k, v := range req.Demand {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > MaxQuantity || k == "" {
			return Decision{Outcome: Infeasible, Bundle: -1,
				Reason: fmt.Sprintf("request %s: %v", req.ID, req.Demand.Validate())}
		}
		if x := fix(v); x > 0 {
			dem = append(dem, demandEntry{k, x})
		}
	}
	p.dem = dem
	switch req.Strategy.Kind {
	case StrategyDefault:
		return p.hybrid(req, nodes, p.preferredNode(req, nodes, local))
	case StrategySpread:
		return p.spread(req, nodes)
	case StrategyNodeAffinity:
		return p.affinity(req, nodes, local)
	case StrategyPlacementGroup:
		return p.inBundle(req, nodes)
	}
	return Decision{Outcome: Infeasible, Bundle: -1,
		Reason: fmt.Sprintf("request %s: unknown scheduling strategy %v", req.ID, req.Strategy.Kind)}
}

// findNode returns the index of the node with the given ID, or -1.
func findNode(nodes []NodeView, id string) int {
	if id == "" {
		return -1
	}
	for i := range nodes {
		if nodes[i].ID == id {
			return i
		}
	}
	return -1
}

// preferredNode applies the locality rule: a task prefers the first node in
// PreferredNodes that is live and could ever hold it; actors ignore locality
// (their arguments are consumed once, their placement lasts).
func (p *Policy) preferredNode(req Request, nodes []NodeView, local string) string {
	if req.IsActor {
		return local
	}
	for _, id := range req.PreferredNodes {
		if i := findNode(nodes, id); i >= 0 && nodes[i].schedulable() && p.dem.fits(nodes[i].Total) {
			return id
		}
	}
	return local
}

// utilisationKeys are the resources whose utilisation scores a node, as
// in Ray: GPUs and custom resources do not make a node "busy" for spreading.
var utilisationKeys = [...]string{CPU, Memory, ObjectStoreMemory}

// criticalUtilisation is the highest used/total fraction over the
// utilisation keys. Values below threshold count as zero: every lightly
// loaded node is equally good.
func criticalUtilisation(n *NodeView, threshold float64) float64 {
	hi := 0.0
	for _, k := range utilisationKeys {
		total := n.Total[k]
		if !(total > 0) {
			continue
		}
		// Plain floats suffice here: a score, not a fit decision.
		if u := 1 - n.Available[k]/total; u > hi {
			hi = u
		}
	}
	if hi < threshold {
		return 0
	}
	return hi
}

// candidate is a node that can take the request now, with its score.
type candidate struct {
	id    string
	score float64
}

// less orders candidates by score, ties by node ID, so the choice does not
// depend on the order of the caller's node slice.
func (a candidate) less(b candidate) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.id < b.id
}

// hybrid is Ray's default policy. Among nodes that have the resources now,
// the preferred node wins if its score is no worse than the best (always
// so while it is under SpreadThreshold); otherwise a random node among the
// k best. Requests that need no GPU try GPU-less nodes first when
// AvoidGPUNodes is set.
func (p *Policy) hybrid(req Request, nodes []NodeView, preferred string) Decision {
	if p.AvoidGPUNodes && fix(req.Demand[GPU]) <= 0 {
		if d, ok := p.hybridPass(req, nodes, preferred, true); ok {
			return d
		}
	}
	d, _ := p.hybridPass(req, nodes, preferred, false)
	return d
}

// hybridPass runs one pass of the hybrid policy; with noGPU it only
// considers nodes with no GPUs and reports ok only for a Schedule decision.
func (p *Policy) hybridPass(req Request, nodes []NodeView, preferred string, noGPU bool) (Decision, bool) {
	eligible := func(n *NodeView) bool {
		return n.schedulable() && (!noGPU || fix(n.Total[GPU]) <= 0)
	}
	prefScore := -1.0 // < 0: preferred node not available
	if i := findNode(nodes, preferred); i >= 0 {
		n := &nodes[i]
		if eligible(n) && p.dem.fits(n.Available) {
			prefScore = criticalUtilisation(n, p.SpreadThreshold)
			if prefScore == 0 { // fast path: nothing can beat an unloaded preferred node
				return Decision{Node: n.ID, Outcome: Schedule, Bundle: -1}, true
			}
		}
	}
	cands := p.scratch[:0]
	live := 0
	for i := range nodes {
		n := &nodes[i]
		if !n.Alive {
			continue
		}
		live++
		if !eligible(n) || !p.dem.fits(n.Available) {
			continue
		}
		cands = append(cands, candidate{n.ID, criticalUtilisation(n, p.SpreadThreshold)})
	}
	p.scratch = cands
	if len(cands) == 0 {
		if noGPU {
			return Decision{}, false
		}
		return p.notNow(req, nodes), true
	}
	if prefScore >= 0 && prefScore <= minScore(cands) {
		return Decision{Node: preferred, Outcome: Schedule, Bundle: -1}, true
	}
	k := min(max(p.TopKAbsolute, int(p.TopKFraction*float64(live)), 1), len(cands))
	pick := 0
	if k > 1 && p.Rand != nil {
		pick = p.Rand.Intn(k)
	}
	// The pick-th best in (score, ID) order: independent of slice order.
	nth(cands, pick)
	return Decision{Node: cands[pick].id, Outcome: Schedule, Bundle: -1}, true
}

func minScore(c []candidate) float64 {
	m := c[0].score
	for _, x := range c[1:] {
		m = min(m, x.score)
	}
	return m
}

// nth reorders c so that c[t] is the element that would be at index t if c
// were sorted, everything before it is no greater and everything after no
// smaller: a deterministic quickselect, O(n) and allocation-free.
func nth(c []candidate, t int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		// Median of three as pivot, moved to hi.
		mid := lo + (hi-lo)/2
		if c[mid].less(c[lo]) {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if c[hi].less(c[lo]) {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if c[mid].less(c[hi]) {
			c[mid], c[hi] = c[hi], c[mid]
		}
		pivot := c[hi]
		store := lo
		for i := lo; i < hi; i++ {
			if c[i].less(pivot) {
				c[i], c[store] = c[store], c[i]
				store++
			}
		}
		c[store], c[hi] = c[hi], c[store]
		switch {
		case store == t:
			return
		case store < t:
			lo = store + 1
		default:
			hi = store - 1
		}
	}
}

// notNow turns "no node has it available" into Wait or Infeasible: Wait when
// some live node's totals could hold the demand, Infeasible otherwise.
func (p *Policy) notNow(req Request, nodes []NodeView) Decision {
	feasible, schedulable := 0, 0
	for i := range nodes {
		n := &nodes[i]
		if n.Alive && req.Demand.Fits(n.Total) {
			feasible++
			if !n.Draining {
				schedulable++
			}
		}
	}
	if feasible == 0 {
		return Decision{Outcome: Infeasible, Bundle: -1, Reason: infeasibleReason(req, nodes)}
	}
	if schedulable == 0 {
		return Decision{Outcome: Wait, Bundle: -1, Reason: fmt.Sprintf(
			"request %s: demand %s fits only draining nodes; waiting for a node that can take it", req.ID, req.Demand)}
	}
	return Decision{Outcome: Wait, Bundle: -1, Reason: fmt.Sprintf(
		"request %s: demand %s fits %d node(s) but none has it available now", req.ID, req.Demand, schedulable)}
}

// infeasibleReason names the demand and the live node that comes closest to
// holding it, so "fits nowhere" errors say what to change.
func infeasibleReason(req Request, nodes []NodeView) string {
	best, bestScore := -1, -1.0
	for i := range nodes {
		n := &nodes[i]
		if !n.Alive {
			continue
		}
		s := 0.0
		for k, v := range req.Demand {
			need := fix(v)
			if need <= 0 {
				continue
			}
			s += min(1, float64(fix(n.Total[k]))/float64(need))
		}
		if s > bestScore {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		return fmt.Sprintf("request %s: demand %s is infeasible: no alive nodes", req.ID, req.Demand)
	}
	return fmt.Sprintf("request %s: demand %s is infeasible: no alive node can ever hold it; largest node %s has total %s",
		req.ID, req.Demand, nodes[best].ID, nodes[best].Total)
}

// spread round-robins over schedulable nodes that have the demand free, in
// node-ID order starting after the node chosen last, so the rotation
// survives nodes joining and leaving and the caller's slice order does not
// matter.
func (p *Policy) spread(req Request, nodes []NodeView) Decision {
	next, first := -1, -1
	for i := range nodes {
		n := &nodes[i]
		if !n.schedulable() || !p.dem.fits(n.Available) {
			continue
		}
		if first < 0 || n.ID < nodes[first].ID {
			first = i
		}
		if n.ID > p.spreadLast && (next < 0 || n.ID < nodes[next].ID) {
			next = i
		}
	}
	if next < 0 {
		next = first
	}
	if next < 0 {
		return p.notNow(req, nodes)
	}
	p.spreadLast = nodes[next].ID
	return Decision{Node: nodes[next].ID, Outcome: Schedule, Bundle: -1}
}

// affinity implements NodeAffinity. Hard affinity fails unless the node is
// alive, accepting work and big enough; it waits while the node is merely
// busy. Soft affinity behaves the same on a usable node (Ray's default
// spill_on_unavailable=false) and falls back to the hybrid policy when the
// node is unknown, dead, draining or too small.
func (p *Policy) affinity(req Request, nodes []NodeView, local string) Decision {
	target := req.Strategy.Node
	i := findNode(nodes, target)
	var why string
	switch {
	case i < 0:
		why = "is unknown"
	case !nodes[i].Alive:
		why = "is dead"
	case nodes[i].Draining:
		why = "is draining"
	case !req.Demand.Fits(nodes[i].Total):
		why = "can never hold " + req.Demand.String() + " (total " + nodes[i].Total.String() + ")"
	}
	if why == "" {
		if req.Demand.Fits(nodes[i].Available) {
			return Decision{Node: target, Outcome: Schedule, Bundle: -1}
		}
		return Decision{Outcome: Wait, Bundle: -1, Reason: fmt.Sprintf(
			"request %s: waiting for %s on node %s (affinity)", req.ID, req.Demand, target)}
	}
	if req.Strategy.Soft {
		return p.hybrid(req, nodes, p.preferredNode(req, nodes, local))
	}
	return Decision{Outcome: Infeasible, Bundle: -1, Reason: fmt.Sprintf(
		"request %s: hard node affinity: node %q %s", req.ID, target, why)}
}

// inBundle places a placement-group request inside a bundle's reservation.
// The demand is checked against the bundle, not the node: the node's own
// Available already excludes the reservation.
func (p *Policy) inBundle(req Request, nodes []NodeView) Decision {
	pgID := req.Strategy.PG
	infeasible := func(format string, args ...any) Decision {
		return Decision{Outcome: Infeasible, Bundle: -1,
			Reason: fmt.Sprintf("request %s: placement group %s: ", req.ID, pgID) + fmt.Sprintf(format, args...)}
	}
	if p.PGs == nil {
		return infeasible("no placement group table")
	}
	g, ok := p.PGs.groups[pgID]
	if !ok {
		return infeasible("unknown or removed")
	}
	want := req.Strategy.Bundle
	if want < AnyBundle || want >= len(g.bundles) {
		return infeasible("bundle index %d out of range [0, %d)", want, len(g.bundles))
	}
	nodeUp := func(b *bundleState) bool {
		if b.node == "" {
			return false
		}
		i := findNode(nodes, b.node)
		return i >= 0 && nodes[i].Alive
	}
	lo, hi := 0, len(g.bundles)
	if want >= 0 {
		lo, hi = want, want+1
	}
	fitsSome := false
	for b := lo; b < hi; b++ {
		bs := &g.bundles[b]
		if !req.Demand.Fits(bs.total) {
			continue
		}
		fitsSome = true
		if nodeUp(bs) && req.Demand.Fits(bs.avail) {
			return Decision{Node: bs.node, Outcome: Schedule, Bundle: b}
		}
	}
	if !fitsSome {
		if want >= 0 {
			return infeasible("demand %s exceeds bundle %d's reservation %s", req.Demand, want, g.bundles[want].total)
		}
		return infeasible("demand %s exceeds every bundle's reservation", req.Demand)
	}
	return Decision{Outcome: Wait, Bundle: -1, Reason: fmt.Sprintf(
		"request %s: placement group %s: waiting for room in a bundle (group state %s)", req.ID, pgID, g.state)}
}

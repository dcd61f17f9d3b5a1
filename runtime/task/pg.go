package task

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

// PGStrategy is a placement group's bundle-placement strategy.
type PGStrategy string

// Placement group strategies, spelled as in Ray.
const (
	// Pack puts all bundles on as few nodes as possible (one if it can).
	Pack PGStrategy = "PACK"
	// Spread puts bundles on distinct nodes where possible.
	Spread PGStrategy = "SPREAD"
	// StrictPack puts all bundles on one node or not at all.
	StrictPack PGStrategy = "STRICT_PACK"
	// StrictSpread puts every bundle on a different node or not at all.
	StrictSpread PGStrategy = "STRICT_SPREAD"
)

// Valid reports whether s is one of the four strategies.
func (s PGStrategy) Valid() bool {
	switch s {
	case Pack, Spread, StrictPack, StrictSpread:
		return true
	}
	return false
}

// PlaceBundles decides where every bundle of a new placement group goes.
// It is atomic: either assignment names a node for every bundle (Schedule)
// or it is nil (Wait or Infeasible) and nothing should be reserved.
//
// Infeasible means the group can never be placed on the live nodes'
// totals because of capacity: some bundle (or, for STRICT_PACK, the sum of
// all bundles) is larger than every live node. A shortfall in the number of
// nodes (STRICT_SPREAD with more bundles than nodes) or in free resources
// is Wait: nodes may join and work may finish. Draining nodes count for
// feasibility but receive no bundles.
func PlaceBundles(bundles []Resources, strategy PGStrategy, nodes []NodeView) (assignment []string, outcome Outcome, reason string) {
	return placeBundles(bundles, strategy, nodes, nil)
}

// placeBundles is PlaceBundles with some bundles already placed: fixed[i]
// non-empty pins bundle i to that node (its reservation is already out of the
// node's Available). Strategy constraints hold across fixed and new bundles.
func placeBundles(bundles []Resources, strategy PGStrategy, nodes []NodeView, fixed []string) ([]string, Outcome, string) {
	if !strategy.Valid() {
		return nil, Infeasible, fmt.Sprintf("unknown placement group strategy %q", string(strategy))
	}
	if len(bundles) == 0 {
		return nil, Infeasible, "placement group has no bundles"
	}
	for i, b := range bundles {
		if err := b.Validate(); err != nil {
			return nil, Infeasible, fmt.Sprintf("bundle %d: %v", i, err)
		}
		if b.IsZero() {
			return nil, Infeasible, fmt.Sprintf("bundle %d is empty", i)
		}
	}
	isFixed := func(i int) bool { return fixed != nil && fixed[i] != "" }

	// Capacity feasibility against the totals of live nodes.
	for i, b := range bundles {
		if isFixed(i) {
			continue
		}
		ok := false
		for j := range nodes {
			if nodes[j].Alive && b.Fits(nodes[j].Total) {
				ok = true
				break
			}
		}
		if !ok {
			return nil, Infeasible, "bundle " + strconv.Itoa(i) + ": " +
				infeasibleReason(Request{ID: "placement group", Demand: b}, nodes)
		}
	}
	if strategy == StrictPack {
		var sum Resources
		for _, b := range bundles {
			sum = sum.Add(b)
		}
		ok := false
		for j := range nodes {
			if nodes[j].Alive && sum.Fits(nodes[j].Total) {
				ok = true
				break
			}
		}
		if !ok {
			return nil, Infeasible, "STRICT_PACK: " + infeasibleReason(Request{ID: "placement group", Demand: sum}, nodes)
		}
	}

	// Working copies of what schedulable nodes have free, least utilised
	// first (ties by ID) so placement is deterministic and groups spread
	// over the cluster.
	type slot struct {
		id    string
		avail Resources
		util  float64
		used  int // bundles of this group on the node
	}
	var slots []*slot
	byID := map[string]*slot{}
	for j := range nodes {
		n := &nodes[j]
		if !n.schedulable() {
			continue
		}
		s := &slot{id: n.ID, avail: n.Available.Clone(), util: criticalUtilisation(n, 0)}
		slots = append(slots, s)
		byID[n.ID] = s
	}
	slices.SortFunc(slots, func(a, b *slot) int {
		if c := cmp.Compare(a.util, b.util); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	assign := make([]string, len(bundles))
	var usedOrder []*slot // nodes holding bundles, in order of first use
	for i := range bundles {
		if !isFixed(i) {
			continue
		}
		assign[i] = fixed[i]
		s := byID[fixed[i]]
		if s == nil { // fixed on a node we cannot schedule on: still counts for spread
			s = &slot{id: fixed[i]}
			byID[fixed[i]] = s
		}
		if s.used == 0 {
			usedOrder = append(usedOrder, s)
		}
		s.used++
	}

	// Place big bundles first (first-fit decreasing): size is the bundle's
	// share of the largest live node, summed over its resources.
	maxTotal := Resources{}
	for j := range nodes {
		if nodes[j].Alive {
			for k, v := range nodes[j].Total {
				maxTotal[k] = max(maxTotal[k], v)
			}
		}
	}
	size := func(b Resources) float64 {
		s := 0.0
		for k, v := range b {
			if m := maxTotal[k]; m > 0 {
				s += v / m
			}
		}
		return s
	}
	var order []int
	for i := range bundles {
		if !isFixed(i) {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(size(bundles[b]), size(bundles[a])) })
	if len(order) == 0 {
		return assign, Schedule, ""
	}

	take := func(s *slot, i int) {
		s.avail, _ = s.avail.Sub(bundles[i]) // cannot fail: caller checked Fits
		if s.used == 0 {
			usedOrder = append(usedOrder, s)
		}
		s.used++
		assign[i] = s.id
	}
	wait := func(why string) ([]string, Outcome, string) {
		return nil, Wait, string(strategy) + ": " + why
	}

	switch strategy {
	case StrictPack:
		var sum Resources
		for _, i := range order {
			sum = sum.Add(bundles[i])
		}
		var target *slot
		if len(usedOrder) > 0 {
			target = usedOrder[0]
			if target.avail == nil || !sum.Fits(target.avail) {
				return wait(fmt.Sprintf("node %s, which holds the group, has no room for %s", target.id, sum))
			}
		} else {
			for _, s := range slots {
				if sum.Fits(s.avail) {
					target = s
					break
				}
			}
		}
		if target == nil {
			return wait(fmt.Sprintf("no node has %s free for all bundles together", sum))
		}
		for _, i := range order {
			take(target, i)
		}

	case Pack:
		// One node if any can hold everything not yet placed.
		var sum Resources
		for _, i := range order {
			sum = sum.Add(bundles[i])
		}
		var one *slot
		for _, s := range usedOrder {
			if s.avail != nil && sum.Fits(s.avail) {
				one = s
				break
			}
		}
		if one == nil {
			for _, s := range slots {
				if sum.Fits(s.avail) {
					one = s
					break
				}
			}
		}
		for _, i := range order {
			if one != nil {
				take(one, i)
				continue
			}
			var got *slot
			for _, s := range usedOrder {
				if s.avail != nil && bundles[i].Fits(s.avail) {
					got = s
					break
				}
			}
			if got == nil {
				for _, s := range slots {
					if s.used == 0 && bundles[i].Fits(s.avail) {
						got = s
						break
					}
				}
			}
			if got == nil {
				return wait(fmt.Sprintf("no room for bundle %d (%s)", i, bundles[i]))
			}
			take(got, i)
		}

	case Spread:
		for _, i := range order {
			var got *slot
			for _, s := range slots { // a fresh node first
				if s.used == 0 && bundles[i].Fits(s.avail) {
					got = s
					break
				}
			}
			if got == nil { // else the node with the fewest of our bundles
				for _, s := range slots {
					if bundles[i].Fits(s.avail) && (got == nil || s.used < got.used) {
						got = s
					}
				}
			}
			if got == nil {
				return wait(fmt.Sprintf("no room for bundle %d (%s)", i, bundles[i]))
			}
			take(got, i)
		}

	case StrictSpread:
		var free []*slot
		for _, s := range slots {
			if s.used == 0 {
				free = append(free, s)
			}
		}
		if len(free) < len(order) {
			return wait(fmt.Sprintf("needs %d distinct nodes for %d bundles, only %d schedulable node(s) without one of its bundles",
				len(order), len(order), len(free)))
		}
		// Bipartite matching (augmenting paths): greedy can miss a valid
		// spread when bundles differ in shape.
		match := make([]int, len(free)) // free node -> position in order, or -1
		for j := range match {
			match[j] = -1
		}
		var try func(p int, seen []bool) bool
		try = func(p int, seen []bool) bool {
			for j, s := range free { // an unused node first: keeps the greedy order when it works
				if match[j] < 0 && bundles[order[p]].Fits(s.avail) {
					seen[j] = true
					match[j] = p
					return true
				}
			}
			for j, s := range free {
				if seen[j] || !bundles[order[p]].Fits(s.avail) {
					continue
				}
				seen[j] = true
				if match[j] < 0 || try(match[j], seen) {
					match[j] = p
					return true
				}
			}
			return false
		}
		for p := range order {
			if !try(p, make([]bool, len(free))) {
				return wait(fmt.Sprintf("no set of %d distinct nodes has room for the bundles", len(order)))
			}
		}
		for j, p := range match {
			if p >= 0 {
				take(free[j], order[p])
			}
		}
	}
	return assign, Schedule, ""
}

// PGState is the lifecycle state of a placement group in a PGTable.
type PGState int

// Placement group states.
const (
	// PGPending: added, waiting for PlaceBundles to succeed and Commit.
	PGPending PGState = iota + 1
	// PGCreated: every bundle is reserved on a node; Ready() may return.
	PGCreated
	// PGRescheduling: some bundles were lost with their node and await
	// placement again (PlaceMissing + Commit).
	PGRescheduling
)

// String names the state as Ray spells it.
func (s PGState) String() string {
	switch s {
	case PGPending:
		return "PENDING"
	case PGCreated:
		return "CREATED"
	case PGRescheduling:
		return "RESCHEDULING"
	}
	return "PGState(" + strconv.Itoa(int(s)) + ")"
}

type bundleState struct {
	node  string    // "" while unplaced
	total Resources // the reservation
	avail Resources // what tasks in the bundle have not taken
}

type pgEntry struct {
	strategy PGStrategy
	state    PGState
	bundles  []bundleState
}

// BundleInfo describes one bundle of a placement group.
type BundleInfo struct {
	Node      string // "" while unplaced
	Total     Resources
	Available Resources
}

// PGTable tracks placement groups: which node holds each bundle, what each
// node has reserved for bundles, and what each bundle still has free for
// tasks scheduled into it. Like the rest of the package it does no I/O and
// is not safe for concurrent use; the owner serialises access.
type PGTable struct {
	groups   map[string]*pgEntry
	reserved map[string]Resources // node -> sum of bundle reservations on it
}

// NewPGTable returns an empty table.
func NewPGTable() *PGTable {
	return &PGTable{groups: map[string]*pgEntry{}, reserved: map[string]Resources{}}
}

// Add registers a pending placement group. Bundles must be valid and
// non-empty and the strategy one of the four.
func (t *PGTable) Add(id string, bundles []Resources, strategy PGStrategy) error {
	if _, ok := t.groups[id]; ok {
		return fmt.Errorf("placement group %s: %w", id, ErrPlacementGroupExists)
	}
	if !strategy.Valid() {
		return fmt.Errorf("placement group %s: strategy %q: %w", id, string(strategy), ErrInvalidResources)
	}
	if len(bundles) == 0 {
		return fmt.Errorf("placement group %s: no bundles: %w", id, ErrInvalidResources)
	}
	e := &pgEntry{strategy: strategy, state: PGPending, bundles: make([]bundleState, len(bundles))}
	for i, b := range bundles {
		if err := b.Validate(); err != nil {
			return fmt.Errorf("placement group %s: bundle %d: %w", id, i, err)
		}
		if b.IsZero() {
			return fmt.Errorf("placement group %s: bundle %d is empty: %w", id, i, ErrInvalidResources)
		}
		e.bundles[i] = bundleState{total: b.Clone(), avail: b.Clone()}
	}
	t.groups[id] = e
	return nil
}

// Place computes an assignment for the group's unplaced bundles (all of them
// while pending, the lost ones while rescheduling), honouring the strategy
// with respect to bundles that are still placed. On Schedule the caller
// commits it with Commit.
func (t *PGTable) Place(id string, nodes []NodeView) ([]string, Outcome, string) {
	e, ok := t.groups[id]
	if !ok {
		return nil, Infeasible, fmt.Sprintf("placement group %s: unknown or removed", id)
	}
	bundles := make([]Resources, len(e.bundles))
	fixed := make([]string, len(e.bundles))
	for i := range e.bundles {
		bundles[i] = e.bundles[i].total
		fixed[i] = e.bundles[i].node
	}
	a, out, why := placeBundles(bundles, e.strategy, nodes, fixed)
	if why != "" {
		why = "placement group " + id + ": " + why
	}
	return a, out, why
}

// Commit reserves the bundles of a group on the nodes in assignment (one
// entry per bundle; already-placed bundles must keep their node) and marks
// the group created. The caller subtracts the returned per-node amounts from
// its nodes' Available.
func (t *PGTable) Commit(id string, assignment []string) (reserve map[string]Resources, err error) {
	e, ok := t.groups[id]
	if !ok {
		return nil, fmt.Errorf("placement group %s: %w", id, ErrUnknownPlacementGroup)
	}
	if len(assignment) != len(e.bundles) {
		return nil, fmt.Errorf("placement group %s: %d nodes for %d bundles: %w", id, len(assignment), len(e.bundles), ErrBadAssignment)
	}
	for i, n := range assignment {
		b := &e.bundles[i]
		if n == "" || (b.node != "" && b.node != n) {
			return nil, fmt.Errorf("placement group %s: bundle %d: node %q (placed on %q): %w", id, i, n, b.node, ErrBadAssignment)
		}
	}
	reserve = map[string]Resources{}
	for i, n := range assignment {
		b := &e.bundles[i]
		if b.node != "" {
			continue
		}
		b.node = n
		reserve[n] = reserve[n].Add(b.total)
	}
	for n, r := range reserve {
		t.reserved[n] = t.reserved[n].Add(r)
	}
	e.state = PGCreated
	return reserve, nil
}

// Remove forgets a group and returns, per node, the reservations to give
// back to the nodes' Available. Work still running in its bundles should be
// killed by the caller (Ray's remove_placement_group semantics).
func (t *PGTable) Remove(id string) (release map[string]Resources, err error) {
	e, ok := t.groups[id]
	if !ok {
		return nil, fmt.Errorf("placement group %s: %w", id, ErrUnknownPlacementGroup)
	}
	release = map[string]Resources{}
	for i := range e.bundles {
		b := &e.bundles[i]
		if b.node == "" {
			continue
		}
		release[b.node] = release[b.node].Add(b.total)
	}
	for n, r := range release {
		left, err := t.reserved[n].Sub(r)
		if err != nil { // bookkeeping bug; keep the table consistent anyway
			left = nil
		}
		t.setReserved(n, left)
	}
	delete(t.groups, id)
	return release, nil
}

func (t *PGTable) setReserved(node string, r Resources) {
	if r.IsZero() {
		delete(t.reserved, node)
		return
	}
	t.reserved[node] = r
}

// bundle returns bundle i of group id, or an error naming what is wrong.
func (t *PGTable) bundle(id string, i int) (*bundleState, error) {
	e, ok := t.groups[id]
	if !ok {
		return nil, fmt.Errorf("placement group %s: %w", id, ErrUnknownPlacementGroup)
	}
	if i < 0 || i >= len(e.bundles) {
		return nil, fmt.Errorf("placement group %s: bundle %d of %d: %w", id, i, len(e.bundles), ErrBadBundle)
	}
	return &e.bundles[i], nil
}

// Acquire takes demand out of bundle i's free resources when a task or actor
// scheduled into it (a Schedule decision from Policy.Place) starts.
func (t *PGTable) Acquire(id string, i int, demand Resources) error {
	b, err := t.bundle(id, i)
	if err != nil {
		return err
	}
	if b.node == "" {
		return fmt.Errorf("placement group %s: bundle %d is not placed: %w", id, i, ErrBadBundle)
	}
	left, err := b.avail.Sub(demand)
	if err != nil {
		return fmt.Errorf("placement group %s: bundle %d: %w", id, i, err)
	}
	b.avail = left
	return nil
}

// Release returns demand to bundle i when work that Acquired it ends. It
// refuses to grow the bundle past its reservation.
func (t *PGTable) Release(id string, i int, demand Resources) error {
	b, err := t.bundle(id, i)
	if err != nil {
		return err
	}
	back := b.avail.Add(demand)
	if !back.Fits(b.total) {
		return fmt.Errorf("placement group %s: bundle %d: releasing %s would exceed its reservation %s: %w",
			id, i, demand, b.total, ErrInsufficientResources)
	}
	b.avail = back
	return nil
}

// Bundle describes bundle i of group id.
func (t *PGTable) Bundle(id string, i int) (BundleInfo, error) {
	b, err := t.bundle(id, i)
	if err != nil {
		return BundleInfo{}, err
	}
	return BundleInfo{Node: b.node, Total: b.total.Clone(), Available: b.avail.Clone()}, nil
}

// NumBundles returns the number of bundles of group id (0 if unknown).
func (t *PGTable) NumBundles(id string) int {
	if e, ok := t.groups[id]; ok {
		return len(e.bundles)
	}
	return 0
}

// State returns the group's state, and false if the table does not hold it.
func (t *PGTable) State(id string) (PGState, bool) {
	e, ok := t.groups[id]
	if !ok {
		return 0, false
	}
	return e.state, true
}

// Strategy returns the group's strategy ("" if unknown).
func (t *PGTable) Strategy(id string) PGStrategy {
	if e, ok := t.groups[id]; ok {
		return e.strategy
	}
	return ""
}

// ReservedOn returns what bundles have reserved on node (a copy; empty if
// none). The caller's NodeView.Available for node must exclude it.
func (t *PGTable) ReservedOn(node string) Resources {
	return t.reserved[node].Clone()
}

// NodeDied unplaces every bundle held by node, resets those bundles' free
// resources (their work died with the node), moves the affected groups to
// PGRescheduling and returns their IDs in sorted order.
func (t *PGTable) NodeDied(node string) []string {
	var hit []string
	for id, e := range t.groups {
		lost := false
		for i := range e.bundles {
			b := &e.bundles[i]
			if b.node == node {
				b.node = ""
				b.avail = b.total.Clone()
				lost = true
			}
		}
		if lost {
			e.state = PGRescheduling
			hit = append(hit, id)
		}
	}
	delete(t.reserved, node)
	slices.Sort(hit)
	return hit
}

// Pending returns the IDs of groups waiting for placement (pending or
// rescheduling), sorted, for the scheduler loop and `goray status`.
func (t *PGTable) Pending() []string {
	var out []string
	for id, e := range t.groups {
		if e.state != PGCreated {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Groups returns the IDs of all groups, sorted.
func (t *PGTable) Groups() []string {
	out := make([]string, 0, len(t.groups))
	for id := range t.groups {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

package task

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPolicySimulation drives Place the way a scheduler loop does, with
// random demands, strategies, completions and node failures, and checks
// every decision against a brute-force oracle: Schedule never overcommits
// and names a schedulable node, Wait only when no schedulable node has the
// demand free but some live node could hold it, Infeasible only when no
// live node could ever hold it.
func TestPolicySimulation(t *testing.T) {
	steps := 20000
	if testing.Short() {
		steps = 3000
	}
	rng := rand.New(rand.NewPCG(11, 12))
	var nodes []NodeView
	for i := range 12 {
		total := Resources{CPU: float64(2 + i%4*2), Memory: 16 << 30, ObjectStoreMemory: 4 << 30}
		if i%5 == 0 {
			total[GPU] = 2
		}
		if i == 7 {
			total["accelerator_type:H200"] = 1
		}
		nodes = append(nodes, NodeView{ID: fmt.Sprintf("n%02d", i), Total: total, Available: total.Clone(), Alive: true})
	}
	shapes := []Resources{
		{CPU: 1}, {CPU: 0.5}, {CPU: 0.1}, {CPU: 2, Memory: 1 << 30}, {CPU: 1, GPU: 1}, {GPU: 0.25},
		{CPU: 8}, {CPU: 9}, {"accelerator_type:H200": 0.5, CPU: 1}, {"accelerator_type:A100": 1},
	}
	type running struct {
		node   string
		demand Resources
	}
	var live []running
	p := DefaultPolicy(99)
	counts := map[Outcome]int{}
	for step := range steps {
		switch r := rng.IntN(100); {
		case r < 35 && len(live) > 0: // a task finishes
			i := rng.IntN(len(live))
			ru := live[i]
			live = append(live[:i], live[i+1:]...)
			if j := findNode(nodes, ru.node); j >= 0 && nodes[j].Alive {
				nodes[j].Available = nodes[j].Available.Add(ru.demand)
			}
			continue
		case r < 37: // a node dies, its work with it
			j := rng.IntN(len(nodes))
			nodes[j].Alive = false
			kept := live[:0]
			for _, ru := range live {
				if ru.node != nodes[j].ID {
					kept = append(kept, ru)
				}
			}
			live = kept
			continue
		case r < 39: // a dead node comes back empty, or a live one toggles draining
			j := rng.IntN(len(nodes))
			if !nodes[j].Alive {
				nodes[j].Alive, nodes[j].Draining, nodes[j].Available = true, false, nodes[j].Total.Clone()
			} else {
				nodes[j].Draining = !nodes[j].Draining
			}
			continue
		}
		req := Request{ID: fmt.Sprint("t", step), Demand: shapes[rng.IntN(len(shapes))]}
		switch rng.IntN(6) {
		case 0:
			req.Strategy = Strategy{Kind: StrategySpread}
		case 1:
			req.Strategy = Strategy{Kind: StrategyNodeAffinity, Node: nodes[rng.IntN(len(nodes))].ID, Soft: rng.IntN(2) == 0}
		case 2:
			req.PreferredNodes = []string{nodes[rng.IntN(len(nodes))].ID}
		}
		local := nodes[rng.IntN(len(nodes))].ID
		d := p.Place(req, nodes, local)
		counts[d.Outcome]++

		freeSomewhere, fitsSomewhere := false, false
		for _, n := range nodes {
			if n.Alive && req.Demand.Fits(n.Total) {
				fitsSomewhere = true
				if !n.Draining && req.Demand.Fits(n.Available) {
					freeSomewhere = true
				}
			}
		}
		hard := req.Strategy.Kind == StrategyNodeAffinity && !req.Strategy.Soft
		switch d.Outcome {
		case Schedule:
			j := findNode(nodes, d.Node)
			if j < 0 || !nodes[j].Alive || nodes[j].Draining {
				t.Fatalf("step %d: scheduled %v on unusable node %q", step, req, d.Node)
			}
			if hard && d.Node != req.Strategy.Node {
				t.Fatalf("step %d: hard affinity to %s placed on %s", step, req.Strategy.Node, d.Node)
			}
			left, err := nodes[j].Available.Sub(req.Demand)
			if err != nil {
				t.Fatalf("step %d: overcommit of %s: %v", step, d.Node, err)
			}
			nodes[j].Available = left
			live = append(live, running{d.Node, req.Demand})
		case Wait:
			if !fitsSomewhere {
				t.Fatalf("step %d: Wait for %v that no live node can hold (%s)", step, req.Demand, d.Reason)
			}
			if freeSomewhere && req.Strategy.Kind != StrategyNodeAffinity {
				t.Fatalf("step %d: Wait for %v while a node has it free (%s)", step, req.Demand, d.Reason)
			}
		case Infeasible:
			if fitsSomewhere && !hard {
				t.Fatalf("step %d: Infeasible for %v that a live node can hold (%s)", step, req.Demand, d.Reason)
			}
		default:
			t.Fatalf("step %d: outcome %v", step, d.Outcome)
		}
	}
	if counts[Schedule] == 0 || counts[Wait] == 0 || counts[Infeasible] == 0 {
		t.Fatalf("simulation did not exercise every outcome: %v", counts)
	}
}

// TestPlaceBundlesOracle checks PlaceBundles against brute force on small
// random clusters: any Schedule is a valid, non-overcommitting assignment
// that honours the strategy, and the strict strategies schedule exactly
// when some valid assignment exists.
func TestPlaceBundlesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rounds := 3000
	if testing.Short() {
		rounds = 500
	}
	strategies := []PGStrategy{Pack, Spread, StrictPack, StrictSpread}
	for round := range rounds {
		var nodes []NodeView
		for i := range 1 + rng.IntN(4) {
			total := Resources{CPU: float64(1 + rng.IntN(4)), GPU: float64(rng.IntN(2))}
			avail := Resources{CPU: float64(rng.IntN(int(total[CPU]) + 1)), GPU: float64(rng.IntN(int(total[GPU]) + 1))}
			n := NodeView{ID: fmt.Sprintf("n%d", i), Total: total, Available: avail, Alive: rng.IntN(8) != 0}
			nodes = append(nodes, n)
		}
		var bundles []Resources
		for range 1 + rng.IntN(4) {
			b := Resources{CPU: float64(rng.IntN(3))}
			if rng.IntN(4) == 0 {
				b[GPU] = 1
			}
			if b.IsZero() {
				b[CPU] = 1
			}
			bundles = append(bundles, b)
		}
		s := strategies[rng.IntN(len(strategies))]
		assign, out, why := PlaceBundles(bundles, s, nodes)

		valid := func(a []string) bool {
			free := map[string]Resources{}
			for _, n := range nodes {
				if n.Alive {
					free[n.ID] = n.Available
				}
			}
			used := map[string]bool{}
			for i, id := range a {
				f, ok := free[id]
				if !ok {
					return false
				}
				var err error
				if free[id], err = f.Sub(bundles[i]); err != nil {
					return false
				}
				if s == StrictSpread && used[id] {
					return false
				}
				used[id] = true
			}
			return s != StrictPack || len(used) == 1
		}
		exists := false
		var live []string
		for _, n := range nodes {
			if n.Alive {
				live = append(live, n.ID)
			}
		}
		if len(live) > 0 {
			idx := make([]int, len(bundles))
			for !exists {
				a := make([]string, len(bundles))
				for i, j := range idx {
					a[i] = live[j]
				}
				exists = valid(a)
				k := 0
				for k < len(idx) {
					idx[k]++
					if idx[k] < len(live) {
						break
					}
					idx[k] = 0
					k++
				}
				if k == len(idx) {
					break
				}
			}
		}
		switch out {
		case Schedule:
			if !valid(assign) {
				t.Fatalf("round %d: %s %v on %v: invalid assignment %v", round, s, bundles, nodes, assign)
			}
		case Wait, Infeasible:
			// PACK and SPREAD are best effort (first-fit decreasing), but
			// on these small clusters they too find a placement whenever
			// one exists.
			if exists {
				t.Fatalf("round %d: %s %v on %v: %v (%s) but a valid assignment exists", round, s, bundles, nodes, out, why)
			}
			if out == Infeasible && exists {
				t.Fatalf("round %d: Infeasible but placeable now", round)
			}
		}
	}
}

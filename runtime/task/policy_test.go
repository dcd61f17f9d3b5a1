package task

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func nv(id string, total, avail Resources) NodeView {
	return NodeView{ID: id, Total: total, Available: avail, Alive: true}
}

func cpu(n float64) Resources { return Resources{CPU: n} }

// fixedRand returns v mod n and records every n it was asked for.
type fixedRand struct {
	v     int
	calls []int
}

func (r *fixedRand) Intn(n int) int { r.calls = append(r.calls, n); return r.v % n }

func dead(n NodeView) NodeView     { n.Alive = false; return n }
func draining(n NodeView) NodeView { n.Draining = true; return n }

func TestPlaceHybrid(t *testing.T) {
	many := []NodeView{nv("L", cpu(4), cpu(0))}
	for i := range 10 {
		many = append(many, nv(fmt.Sprintf("n%d", i), cpu(4), cpu(4)))
	}
	gpuNode := nv("G", Resources{CPU: 8, GPU: 1}, Resources{CPU: 8, GPU: 1})
	tests := []struct {
		name     string
		req      Request
		nodes    []NodeView
		local    string
		avoidGPU bool
		randV    int
		want     Outcome
		node     string
		reason   string // substring of Decision.Reason
		randN    []int  // expected Intn arguments
	}{
		{name: "single node, local free", req: Request{Demand: cpu(1)},
			nodes: []NodeView{nv("A", cpu(4), cpu(4))}, local: "A", want: Schedule, node: "A"},
		{name: "local below threshold stays local", req: Request{Demand: cpu(1)},
			nodes: []NodeView{nv("A", cpu(4), cpu(2.5)), nv("B", cpu(4), cpu(4))}, local: "A", want: Schedule, node: "A"},
		{name: "local at threshold spills to least loaded", req: Request{Demand: cpu(1)},
			nodes: []NodeView{nv("A", cpu(4), cpu(2)), nv("C", cpu(4), cpu(3)), nv("B", cpu(4), cpu(4))},
			local: "A", want: Schedule, node: "B"},
		{name: "local over threshold but as good as the best stays local", req: Request{Demand: cpu(1)},
			nodes: []NodeView{nv("A", cpu(4), cpu(1)), nv("B", cpu(4), cpu(1))}, local: "A", want: Schedule, node: "A"},
		{name: "spill picks lower utilisation over threshold", req: Request{Demand: cpu(1)},
			nodes: []NodeView{nv("A", cpu(4), cpu(1)), nv("B", cpu(4), cpu(1.5)), nv("C", cpu(4), cpu(1))},
			local: "A", want: Schedule, node: "B"},
		{name: "memory counts for utilisation", req: Request{Demand: cpu(1)},
			nodes: []NodeView{
				nv("A", Resources{CPU: 4, Memory: 100}, Resources{CPU: 4, Memory: 10}),
				nv("B", Resources{CPU: 4, Memory: 100}, Resources{CPU: 4, Memory: 100})},
			local: "A", want: Schedule, node: "B"},
		{name: "GPU use does not count for utilisation", req: Request{Demand: Resources{CPU: 1, GPU: 1}},
			nodes: []NodeView{
				nv("A", Resources{CPU: 4, GPU: 4}, Resources{CPU: 4, GPU: 1}),
				nv("B", Resources{CPU: 4, GPU: 4}, Resources{CPU: 4, GPU: 4})},
			local: "A", want: Schedule, node: "A"},
		{name: "local full goes elsewhere", req: Request{Demand: cpu(1)},
			nodes: []NodeView{nv("A", cpu(4), cpu(0)), nv("B", cpu(4), cpu(4))}, local: "A", want: Schedule, node: "B"},
		{name: "top-k random among k best", req: Request{Demand: cpu(1)}, nodes: many, local: "L",
			randV: 1, want: Schedule, node: "n1", randN: []int{2}},
		{name: "top-k random first", req: Request{Demand: cpu(1)}, nodes: many, local: "L",
			randV: 0, want: Schedule, node: "n0", randN: []int{2}},
		{name: "no local preference", req: Request{Demand: cpu(1)},
			nodes: []NodeView{nv("B", cpu(4), cpu(1)), nv("A", cpu(4), cpu(4))}, local: "", want: Schedule, node: "A"},
		{name: "unknown local", req: Request{Demand: cpu(1)},
			nodes: []NodeView{nv("B", cpu(4), cpu(4))}, local: "zzz", want: Schedule, node: "B"},
		{name: "feasible but busy waits", req: Request{Demand: cpu(2)},
			nodes: []NodeView{nv("A", cpu(4), cpu(0)), nv("B", cpu(4), cpu(1))}, local: "A",
			want: Wait, reason: "fits 2 node(s) but none has it available now"},
		{name: "infeasible names demand and largest node", req: Request{ID: "t1", Demand: cpu(8)},
			nodes: []NodeView{nv("small", cpu(2), cpu(2)), nv("big", cpu(4), cpu(4))}, local: "small",
			want: Infeasible, reason: "demand {CPU: 8} is infeasible: no alive node can ever hold it; largest node big has total {CPU: 4}"},
		{name: "infeasible custom resource", req: Request{Demand: Resources{CPU: 1, "accelerator_type:H200": 1}},
			nodes: []NodeView{nv("A", cpu(4), cpu(4))}, local: "A",
			want: Infeasible, reason: "{CPU: 1, accelerator_type:H200: 1}"},
		{name: "no alive nodes", req: Request{Demand: cpu(1)},
			nodes: []NodeView{dead(nv("A", cpu(4), cpu(4)))}, local: "A", want: Infeasible, reason: "no alive nodes"},
		{name: "empty cluster", req: Request{Demand: cpu(1)}, want: Infeasible, reason: "no alive nodes"},
		{name: "dead node capacity does not count", req: Request{Demand: cpu(8)},
			nodes: []NodeView{nv("A", cpu(4), cpu(4)), dead(nv("B", cpu(16), cpu(16)))}, local: "A",
			want: Infeasible, reason: "largest node A"},
		{name: "dead local is skipped", req: Request{Demand: cpu(1)},
			nodes: []NodeView{dead(nv("A", cpu(4), cpu(4))), nv("B", cpu(4), cpu(4))}, local: "A", want: Schedule, node: "B"},
		{name: "draining local is skipped", req: Request{Demand: cpu(1)},
			nodes: []NodeView{draining(nv("A", cpu(4), cpu(4))), nv("B", cpu(4), cpu(4))}, local: "A", want: Schedule, node: "B"},
		{name: "only draining nodes fit: wait", req: Request{Demand: cpu(8)},
			nodes: []NodeView{draining(nv("A", cpu(8), cpu(8))), nv("B", cpu(4), cpu(4))}, local: "B",
			want: Wait, reason: "fits only draining nodes"},
		{name: "zero demand fits anywhere", req: Request{Demand: nil},
			nodes: []NodeView{nv("A", nil, nil)}, local: "A", want: Schedule, node: "A"},
		{name: "invalid demand", req: Request{Demand: cpu(-1)},
			nodes: []NodeView{nv("A", cpu(4), cpu(4))}, local: "A", want: Infeasible, reason: "CPU is negative"},
		{name: "locality: task goes to the node with its args", req: Request{Demand: cpu(1), PreferredNodes: []string{"B"}},
			nodes: []NodeView{nv("A", cpu(4), cpu(4)), nv("B", cpu(4), cpu(4))}, local: "A", want: Schedule, node: "B"},
		{name: "locality: actors ignore it", req: Request{Demand: cpu(1), PreferredNodes: []string{"B"}, IsActor: true},
			nodes: []NodeView{nv("A", cpu(4), cpu(4)), nv("B", cpu(4), cpu(4))}, local: "A", want: Schedule, node: "A"},
		{name: "locality: dead arg holder falls back to local", req: Request{Demand: cpu(1), PreferredNodes: []string{"B"}},
			nodes: []NodeView{nv("A", cpu(4), cpu(4)), dead(nv("B", cpu(4), cpu(4)))}, local: "A", want: Schedule, node: "A"},
		{name: "locality: too-small holder skipped for the next", req: Request{Demand: cpu(2), PreferredNodes: []string{"B", "C"}},
			nodes: []NodeView{nv("A", cpu(4), cpu(4)), nv("B", cpu(1), cpu(1)), nv("C", cpu(4), cpu(4))}, local: "A",
			want: Schedule, node: "C"},
		{name: "locality: busy holder spills", req: Request{Demand: cpu(1), PreferredNodes: []string{"B"}},
			nodes: []NodeView{nv("A", cpu(4), cpu(4)), nv("B", cpu(4), cpu(0))}, local: "A", want: Schedule, node: "A"},
		{name: "avoid GPU nodes for CPU work", req: Request{Demand: cpu(1)}, avoidGPU: true,
			nodes: []NodeView{gpuNode, nv("C", cpu(4), cpu(4))}, local: "G", want: Schedule, node: "C"},
		{name: "GPU work goes to GPU node", req: Request{Demand: Resources{CPU: 1, GPU: 1}}, avoidGPU: true,
			nodes: []NodeView{gpuNode, nv("C", cpu(4), cpu(4))}, local: "C", want: Schedule, node: "G"},
		{name: "CPU work falls back to GPU node when CPU nodes are full", req: Request{Demand: cpu(1)}, avoidGPU: true,
			nodes: []NodeView{gpuNode, nv("C", cpu(4), cpu(0))}, local: "C", want: Schedule, node: "G"},
		{name: "avoidance off keeps local GPU node", req: Request{Demand: cpu(1)},
			nodes: []NodeView{gpuNode, nv("C", cpu(4), cpu(4))}, local: "G", want: Schedule, node: "G"},
		{name: "avoid GPU: busy everywhere still waits", req: Request{Demand: cpu(2)}, avoidGPU: true,
			nodes: []NodeView{nv("G", Resources{CPU: 2, GPU: 1}, Resources{CPU: 1, GPU: 1}), nv("C", cpu(4), cpu(0))},
			local: "C", want: Wait},
		{name: "unknown strategy", req: Request{Demand: cpu(1), Strategy: Strategy{Kind: 42}},
			nodes: []NodeView{nv("A", cpu(4), cpu(4))}, local: "A", want: Infeasible, reason: "unknown scheduling strategy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fixedRand{v: tt.randV}
			p := DefaultPolicy(1)
			p.Rand = r
			p.AvoidGPUNodes = tt.avoidGPU
			d := p.Place(tt.req, tt.nodes, tt.local)
			if d.Outcome != tt.want || d.Node != tt.node {
				t.Fatalf("Place = %+v, want %v on %q", d, tt.want, tt.node)
			}
			if d.Bundle != -1 {
				t.Errorf("Bundle = %d for a non-PG request", d.Bundle)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tt.reason)
			}
			if tt.want != Schedule && d.Reason == "" {
				t.Error("no reason for a non-Schedule decision")
			}
			if fmt.Sprint(r.calls) != fmt.Sprint(tt.randN) {
				t.Errorf("Rand.Intn calls %v, want %v", r.calls, tt.randN)
			}
		})
	}
}

// TestPlaceHybridOrderIndependent: the same cluster in any slice order gives
// the same decisions for the same random stream.
func TestPlaceHybridOrderIndependent(t *testing.T) {
	var nodes []NodeView
	for i := range 50 {
		nodes = append(nodes, nv(fmt.Sprintf("n%02d", i), cpu(8), cpu(float64(i%9))))
	}
	run := func(ns []NodeView) []string {
		p := DefaultPolicy(7)
		var got []string
		for range 30 {
			d := p.Place(Request{Demand: cpu(1)}, ns, "n00")
			got = append(got, d.Node)
		}
		return got
	}
	want := run(nodes)
	shuffled := append([]NodeView(nil), nodes...)
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got := run(shuffled); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("decisions depend on slice order:\n%v\n%v", want, got)
	}
	// 50 live nodes → k = 10. Nodes with more than 4 of 8 CPUs free are
	// under the threshold (score 0); the 10 best by (score, ID) are the
	// first ten such IDs. Every pick must come from them, and the random
	// source must spread picks among them.
	top := map[string]bool{}
	for _, i := range []int{5, 6, 7, 8, 14, 15, 16, 17, 23, 24} {
		top[fmt.Sprintf("n%02d", i)] = true
	}
	seen := map[string]bool{}
	for _, n := range want {
		if !top[n] {
			t.Errorf("picked %s, outside the top k %v", n, top)
		}
		seen[n] = true
	}
	if len(seen) < 4 {
		t.Errorf("top-k picks not spread: %v", want)
	}
}

// TestPlaceLocalFillsThenSpills drives the policy the way the node loop does:
// commit each decision and watch the local node fill to the threshold first.
func TestPlaceLocalFillsThenSpills(t *testing.T) {
	nodes := []NodeView{nv("local", cpu(4), cpu(4)), nv("r1", cpu(4), cpu(4)), nv("r2", cpu(4), cpu(4))}
	p := DefaultPolicy(42)
	var got []string
	for range 12 {
		d := p.Place(Request{Demand: cpu(1)}, nodes, "local")
		if d.Outcome != Schedule {
			t.Fatalf("Place = %+v after %v", d, got)
		}
		got = append(got, d.Node)
		i := findNode(nodes, d.Node)
		var err error
		if nodes[i].Available, err = nodes[i].Available.Sub(cpu(1)); err != nil {
			t.Fatal(err)
		}
	}
	// local takes work at 0%, 25% (both < 50%), then spills.
	if got[0] != "local" || got[1] != "local" || got[2] == "local" {
		t.Fatalf("placements %v: want local twice, then spill", got)
	}
	if d := p.Place(Request{Demand: cpu(1)}, nodes, "local"); d.Outcome != Wait {
		t.Fatalf("full cluster: %+v, want Wait", d)
	}
}

func TestPlaceSpread(t *testing.T) {
	nodes := []NodeView{nv("C", cpu(4), cpu(4)), nv("A", cpu(4), cpu(4)), nv("B", cpu(4), cpu(4))}
	p := DefaultPolicy(1)
	req := Request{Demand: cpu(1), Strategy: Strategy{Kind: StrategySpread}}
	var got []string
	for range 6 {
		got = append(got, p.Place(req, nodes, "A").Node)
	}
	if want := "[A B C A B C]"; fmt.Sprint(got) != want {
		t.Fatalf("spread order %v, want %s", got, want)
	}
	// A busy node is skipped; the rotation continues after the last pick (C).
	nodes[2].Available = cpu(0) // B
	got = got[:0]
	for range 4 {
		got = append(got, p.Place(req, nodes, "A").Node)
	}
	if want := "[A C A C]"; fmt.Sprint(got) != want {
		t.Fatalf("spread with B busy %v, want %s", got, want)
	}
	// Dead and draining nodes are skipped.
	nodes[0] = dead(nodes[0])     // C
	nodes[1] = draining(nodes[1]) // A
	if d := p.Place(req, nodes, "A"); d.Outcome != Wait {
		t.Fatalf("only busy B schedulable: %+v, want Wait", d)
	}
	if d := p.Place(Request{Demand: cpu(5), Strategy: Strategy{Kind: StrategySpread}}, nodes, "A"); d.Outcome != Infeasible {
		t.Fatalf("too big: %+v, want Infeasible", d)
	}
}

func TestPlaceNodeAffinity(t *testing.T) {
	nodes := []NodeView{
		nv("local", cpu(4), cpu(4)),
		nv("free", cpu(4), cpu(4)),
		nv("busy", cpu(4), cpu(0)),
		dead(nv("gone", cpu(4), cpu(4))),
		draining(nv("drain", cpu(4), cpu(4))),
		nv("small", cpu(1), cpu(1)),
	}
	tests := []struct {
		target string
		soft   bool
		want   Outcome
		node   string
		reason string
	}{
		{"free", false, Schedule, "free", ""},
		{"busy", false, Wait, "", "waiting for {CPU: 2} on node busy"},
		{"gone", false, Infeasible, "", `node "gone" is dead`},
		{"nope", false, Infeasible, "", `node "nope" is unknown`},
		{"drain", false, Infeasible, "", `node "drain" is draining`},
		{"small", false, Infeasible, "", `node "small" can never hold {CPU: 2}`},
		{"free", true, Schedule, "free", ""},
		{"busy", true, Wait, "", "on node busy"},
		{"gone", true, Schedule, "local", ""},
		{"nope", true, Schedule, "local", ""},
		{"drain", true, Schedule, "local", ""},
		{"small", true, Schedule, "local", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/soft=%v", tt.target, tt.soft), func(t *testing.T) {
			p := DefaultPolicy(1)
			d := p.Place(Request{ID: "t", Demand: cpu(2), Strategy: Strategy{Kind: StrategyNodeAffinity, Node: tt.target, Soft: tt.soft}},
				nodes, "local")
			if d.Outcome != tt.want || d.Node != tt.node || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("Place = %+v, want %v on %q with reason containing %q", d, tt.want, tt.node, tt.reason)
			}
		})
	}
}

func TestPlaceInPlacementGroup(t *testing.T) {
	nodes := []NodeView{nv("A", cpu(8), cpu(4)), nv("B", cpu(8), cpu(6))}
	pgs := NewPGTable()
	if err := pgs.Add("pg", []Resources{cpu(2), cpu(2)}, Spread); err != nil {
		t.Fatal(err)
	}
	if err := pgs.Add("pending", []Resources{cpu(1)}, Pack); err != nil {
		t.Fatal(err)
	}
	if _, err := pgs.Commit("pg", []string{"A", "B"}); err != nil {
		t.Fatal(err)
	}
	pgReq := func(pg string, bundle int, demand Resources) Request {
		return Request{ID: "t", Demand: demand, Strategy: Strategy{Kind: StrategyPlacementGroup, PG: pg, Bundle: bundle}}
	}
	p := DefaultPolicy(1)
	p.PGs = pgs
	tests := []struct {
		name   string
		req    Request
		nodes  []NodeView
		want   Outcome
		node   string
		bundle int
		reason string
	}{
		{"bundle 0", pgReq("pg", 0, cpu(1)), nodes, Schedule, "A", 0, ""},
		{"bundle 1", pgReq("pg", 1, cpu(2)), nodes, Schedule, "B", 1, ""},
		{"any bundle", pgReq("pg", AnyBundle, cpu(2)), nodes, Schedule, "A", 0, ""},
		{"exceeds bundle", pgReq("pg", 0, cpu(3)), nodes, Infeasible, "", -1, "exceeds bundle 0's reservation {CPU: 2}"},
		{"exceeds every bundle", pgReq("pg", AnyBundle, cpu(3)), nodes, Infeasible, "", -1, "exceeds every bundle"},
		{"index out of range", pgReq("pg", 2, cpu(1)), nodes, Infeasible, "", -1, "out of range"},
		{"unknown group", pgReq("nope", 0, cpu(1)), nodes, Infeasible, "", -1, "unknown or removed"},
		{"pending group waits", pgReq("pending", 0, cpu(1)), nodes, Wait, "", -1, "PENDING"},
		{"bundle node dead waits", pgReq("pg", 0, cpu(1)), []NodeView{dead(nodes[0]), nodes[1]}, Wait, "", -1, "waiting"},
		{"any bundle skips dead node", pgReq("pg", AnyBundle, cpu(1)), []NodeView{dead(nodes[0]), nodes[1]}, Schedule, "B", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Place(tt.req, tt.nodes, "A")
			if d.Outcome != tt.want || d.Node != tt.node || d.Bundle != tt.bundle || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("Place = %+v, want %v on %q bundle %d reason ~%q", d, tt.want, tt.node, tt.bundle, tt.reason)
			}
		})
	}
	// Filling bundle 0 makes the next request wait, or go to bundle 1 when any will do.
	if err := pgs.Acquire("pg", 0, cpu(2)); err != nil {
		t.Fatal(err)
	}
	if d := p.Place(pgReq("pg", 0, cpu(1)), nodes, "A"); d.Outcome != Wait {
		t.Fatalf("full bundle: %+v, want Wait", d)
	}
	if d := p.Place(pgReq("pg", AnyBundle, cpu(1)), nodes, "A"); d.Outcome != Schedule || d.Bundle != 1 {
		t.Fatalf("any bundle with 0 full: %+v, want bundle 1", d)
	}
	if err := pgs.Release("pg", 0, cpu(2)); err != nil {
		t.Fatal(err)
	}
	if d := p.Place(pgReq("pg", 0, cpu(2)), nodes, "A"); d.Outcome != Schedule {
		t.Fatalf("after release: %+v", d)
	}
	// No table configured.
	if d := DefaultPolicy(1).Place(pgReq("pg", 0, cpu(1)), nodes, "A"); d.Outcome != Infeasible ||
		!strings.Contains(d.Reason, "no placement group table") {
		t.Fatalf("nil table: %+v", d)
	}
}

func TestStringers(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{StrategyDefault.String(), "DEFAULT"}, {StrategySpread.String(), "SPREAD"},
		{StrategyNodeAffinity.String(), "NODE_AFFINITY"}, {StrategyPlacementGroup.String(), "PLACEMENT_GROUP"},
		{StrategyKind(9).String(), "StrategyKind(9)"},
		{Schedule.String(), "Schedule"}, {Wait.String(), "Wait"}, {Infeasible.String(), "Infeasible"},
		{Outcome(0).String(), "Outcome(0)"},
		{PGPending.String(), "PENDING"}, {PGCreated.String(), "CREATED"}, {PGRescheduling.String(), "RESCHEDULING"},
		{PGState(0).String(), "PGState(0)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func benchNodes(n int, localBusy bool) []NodeView {
	nodes := make([]NodeView, n)
	for i := range nodes {
		avail := 16.0 - float64(i%16)
		if i == 0 {
			avail = 16
			if localBusy {
				avail = 4
			}
		}
		nodes[i] = nv(fmt.Sprintf("node-%04d", i),
			Resources{CPU: 16, Memory: 64 << 30, ObjectStoreMemory: 16 << 30},
			Resources{CPU: avail, Memory: 48 << 30, ObjectStoreMemory: 16 << 30})
	}
	return nodes
}

// BenchmarkPlace measures Policy.Place on the submission hot path: "local"
// is the fast path (local node under the spread threshold), "spill" makes
// the local node busy so every call scores the whole cluster and picks among
// the top k.
func BenchmarkPlace(b *testing.B) {
	req := Request{ID: "t", Demand: Resources{CPU: 1}}
	for _, n := range []int{1, 10, 1000} {
		for _, mode := range []string{"local", "spill"} {
			if n == 1 && mode == "spill" {
				continue
			}
			b.Run(fmt.Sprintf("nodes=%d/%s", n, mode), func(b *testing.B) {
				nodes := benchNodes(n, mode == "spill")
				p := DefaultPolicy(1)
				b.ReportAllocs()
				for b.Loop() {
					if d := p.Place(req, nodes, "node-0000"); d.Outcome != Schedule {
						b.Fatalf("Place = %+v", d)
					}
				}
			})
		}
	}
}

func TestPlaceFastPathAllocatesNothing(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	nodes := benchNodes(1, false)
	p := DefaultPolicy(1)
	req := Request{ID: "t", Demand: Resources{CPU: 1}}
	if n := testing.AllocsPerRun(100, func() { p.Place(req, nodes, "node-0000") }); n != 0 {
		t.Fatalf("single-node Place allocates %v times per call", n)
	}
	many := benchNodes(100, true)
	p.Place(req, many, "node-0000") // warm the scratch buffer
	if n := testing.AllocsPerRun(100, func() { p.Place(req, many, "node-0000") }); n != 0 {
		t.Fatalf("100-node spill Place allocates %v times per call", n)
	}
}

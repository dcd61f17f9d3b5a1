package task

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPlaceBundles(t *testing.T) {
	three := []NodeView{nv("A", cpu(8), cpu(8)), nv("B", cpu(8), cpu(8)), nv("C", cpu(8), cpu(8))}
	tests := []struct {
		name     string
		bundles  []Resources
		strategy PGStrategy
		nodes    []NodeView
		want     Outcome
		assign   string // fmt of the assignment
		reason   string
	}{
		{"PACK on one node when it fits", []Resources{cpu(2), cpu(2), cpu(2)}, Pack, three, Schedule, "[A A A]", ""},
		{"PACK prefers the least loaded node", []Resources{cpu(2), cpu(2)}, Pack,
			[]NodeView{nv("A", cpu(8), cpu(5)), nv("B", cpu(8), cpu(8))}, Schedule, "[B B]", ""},
		{"PACK spills to others", []Resources{cpu(3), cpu(3), cpu(3)}, Pack,
			[]NodeView{nv("A", cpu(8), cpu(4)), nv("B", cpu(8), cpu(8))}, Schedule, "[B B A]", ""},
		{"PACK big bundles first", []Resources{cpu(1), cpu(4), cpu(4)}, Pack,
			[]NodeView{nv("A", cpu(8), cpu(5)), nv("B", cpu(8), cpu(4))}, Schedule, "[A A B]", ""},
		{"PACK waits when the free total is short", []Resources{cpu(6), cpu(6)}, Pack,
			[]NodeView{nv("A", cpu(8), cpu(6)), nv("B", cpu(8), cpu(2))}, Wait, "[]", "no room for bundle"},
		{"STRICT_PACK on one node", []Resources{cpu(3), cpu(3)}, StrictPack, three, Schedule, "[A A]", ""},
		{"STRICT_PACK waits when no node has it all free", []Resources{cpu(3), cpu(3)}, StrictPack,
			[]NodeView{nv("A", cpu(8), cpu(4)), nv("B", cpu(8), cpu(4))}, Wait, "[]", "no node has {CPU: 6} free"},
		{"STRICT_PACK infeasible when no node can hold it all", []Resources{cpu(6), cpu(6)}, StrictPack, three,
			Infeasible, "[]", "STRICT_PACK: request placement group: demand {CPU: 12} is infeasible"},
		{"SPREAD on distinct nodes", []Resources{cpu(1), cpu(1), cpu(1)}, Spread, three, Schedule, "[A B C]", ""},
		{"SPREAD reuses the least used node when nodes run out", []Resources{cpu(1), cpu(1), cpu(1), cpu(1)}, Spread,
			three, Schedule, "[A B C A]", ""},
		{"SPREAD best effort onto a busy cluster", []Resources{cpu(4), cpu(4)}, Spread,
			[]NodeView{nv("A", cpu(8), cpu(8)), nv("B", cpu(8), cpu(1))}, Schedule, "[A A]", ""},
		{"SPREAD waits when there is no room", []Resources{cpu(4), cpu(4)}, Spread,
			[]NodeView{nv("A", cpu(8), cpu(4)), nv("B", cpu(8), cpu(1))}, Wait, "[]", "no room for bundle 1"},
		{"STRICT_SPREAD on distinct nodes", []Resources{cpu(1), cpu(1), cpu(1)}, StrictSpread, three, Schedule, "[A B C]", ""},
		{"STRICT_SPREAD 4 bundles over 3 nodes waits", []Resources{cpu(1), cpu(1), cpu(1), cpu(1)}, StrictSpread,
			three, Wait, "[]", "needs 4 distinct nodes for 4 bundles, only 3"},
		{"STRICT_SPREAD waits when a node is busy", []Resources{cpu(4), cpu(4)}, StrictSpread,
			[]NodeView{nv("A", cpu(8), cpu(8)), nv("B", cpu(8), cpu(2))}, Wait, "[]", "no set of 2 distinct nodes"},
		{"STRICT_SPREAD matches shapes greedy would miss", []Resources{cpu(1), {GPU: 1}}, StrictSpread,
			[]NodeView{nv("A", Resources{CPU: 4, GPU: 1}, Resources{CPU: 4, GPU: 1}), nv("B", cpu(4), cpu(4))},
			Schedule, "[B A]", ""},
		{"dead nodes get nothing", []Resources{cpu(1), cpu(1)}, StrictSpread,
			[]NodeView{nv("A", cpu(8), cpu(8)), dead(nv("B", cpu(8), cpu(8))), nv("C", cpu(8), cpu(8))}, Schedule, "[A C]", ""},
		{"draining nodes get nothing but count for feasibility", []Resources{cpu(16)}, Pack,
			[]NodeView{draining(nv("A", cpu(16), cpu(16))), nv("B", cpu(8), cpu(8))}, Wait, "[]", ""},
		{"bundle larger than every node", []Resources{cpu(1), cpu(9)}, Pack, three, Infeasible, "[]",
			"bundle 1: request placement group: demand {CPU: 9} is infeasible: no alive node can ever hold it; largest node"},
		{"dead node capacity does not count", []Resources{cpu(9)}, Pack,
			[]NodeView{nv("A", cpu(8), cpu(8)), dead(nv("B", cpu(16), cpu(16)))}, Infeasible, "[]", "largest node A"},
		{"no bundles", nil, Pack, three, Infeasible, "[]", "no bundles"},
		{"empty bundle", []Resources{cpu(1), {}}, Pack, three, Infeasible, "[]", "bundle 1 is empty"},
		{"invalid bundle", []Resources{cpu(-1)}, Pack, three, Infeasible, "[]", "bundle 0: invalid resources: CPU is negative"},
		{"unknown strategy", []Resources{cpu(1)}, "BEST", three, Infeasible, "[]", `unknown placement group strategy "BEST"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprint(tt.nodes)
			a, out, why := PlaceBundles(tt.bundles, tt.strategy, tt.nodes)
			if out != tt.want || fmt.Sprint(a) != tt.assign || !strings.Contains(why, tt.reason) {
				t.Fatalf("PlaceBundles = %v, %v, %q; want %s, %v, ~%q", a, out, why, tt.assign, tt.want, tt.reason)
			}
			if out != Schedule && (a != nil || why == "") {
				t.Errorf("non-Schedule outcome must have no assignment and a reason: %v %q", a, why)
			}
			if after := fmt.Sprint(tt.nodes); after != before {
				t.Errorf("PlaceBundles mutated the node views:\n%s\n%s", before, after)
			}
			if out == Schedule { // the assignment must really fit, all at once
				free := map[string]Resources{}
				for _, n := range tt.nodes {
					free[n.ID] = n.Available
				}
				for i, n := range a {
					var err error
					if free[n], err = free[n].Sub(tt.bundles[i]); err != nil {
						t.Fatalf("assignment overcommits %s: %v", n, err)
					}
				}
			}
		})
	}
}

func TestPGTableLifecycle(t *testing.T) {
	nodes := []NodeView{nv("A", cpu(8), cpu(8)), nv("B", cpu(8), cpu(8)), nv("C", cpu(8), cpu(8))}
	tbl := NewPGTable()
	if err := tbl.Add("pg", []Resources{cpu(2), cpu(3)}, StrictSpread); err != nil {
		t.Fatal(err)
	}
	if st, ok := tbl.State("pg"); !ok || st != PGPending {
		t.Fatalf("state %v %v, want PENDING", st, ok)
	}
	if got := fmt.Sprint(tbl.Pending()); got != "[pg]" {
		t.Fatalf("Pending = %s", got)
	}
	a, out, why := tbl.Place("pg", nodes)
	if out != Schedule || fmt.Sprint(a) != "[B A]" {
		t.Fatalf("Place = %v %v %q", a, out, why)
	}
	reserve, err := tbl.Commit("pg", a)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(reserve); got != "map[A:{CPU: 3} B:{CPU: 2}]" {
		t.Fatalf("Commit reserve = %s", got)
	}
	if st, _ := tbl.State("pg"); st != PGCreated || len(tbl.Pending()) != 0 {
		t.Fatalf("after commit: state %v pending %v", st, tbl.Pending())
	}
	if !tbl.ReservedOn("A").Equal(cpu(3)) || !tbl.ReservedOn("C").IsZero() {
		t.Fatalf("ReservedOn A=%v C=%v", tbl.ReservedOn("A"), tbl.ReservedOn("C"))
	}
	// Tasks in bundle 0 take from its reservation and give it back.
	if err := tbl.Acquire("pg", 0, cpu(1.5)); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Acquire("pg", 0, cpu(1)); !errors.Is(err, ErrInsufficientResources) {
		t.Fatalf("over-acquire: %v", err)
	}
	if b, _ := tbl.Bundle("pg", 0); b.Node != "B" || !b.Available.Equal(cpu(0.5)) || !b.Total.Equal(cpu(2)) {
		t.Fatalf("Bundle 0 = %+v", b)
	}
	if err := tbl.Release("pg", 0, cpu(1.5)); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Release("pg", 0, cpu(0.1)); !errors.Is(err, ErrInsufficientResources) {
		t.Fatalf("release past reservation: %v", err)
	}
	// Node A dies: bundle 1 is lost and must be re-placed on a node other
	// than B (STRICT_SPREAD), i.e. C.
	if err := tbl.Acquire("pg", 1, cpu(1)); err != nil {
		t.Fatal(err)
	}
	if hit := tbl.NodeDied("A"); fmt.Sprint(hit) != "[pg]" {
		t.Fatalf("NodeDied = %v", hit)
	}
	if st, _ := tbl.State("pg"); st != PGRescheduling {
		t.Fatalf("state %v, want RESCHEDULING", st)
	}
	if b, _ := tbl.Bundle("pg", 1); b.Node != "" || !b.Available.Equal(cpu(3)) {
		t.Fatalf("lost bundle = %+v, want unplaced and fully free", b)
	}
	if err := tbl.Acquire("pg", 1, cpu(1)); !errors.Is(err, ErrBadBundle) {
		t.Fatalf("acquire on unplaced bundle: %v", err)
	}
	nodes[0] = dead(nodes[0])
	nodes[1].Available = cpu(6) // B holds bundle 0's reservation
	a, out, _ = tbl.Place("pg", nodes)
	if out != Schedule || fmt.Sprint(a) != "[B C]" {
		t.Fatalf("re-place = %v %v", a, out)
	}
	if _, err := tbl.Commit("pg", []string{"C", "C"}); !errors.Is(err, ErrBadAssignment) {
		t.Fatalf("moving a placed bundle: %v", err)
	}
	if reserve, err = tbl.Commit("pg", a); err != nil || fmt.Sprint(reserve) != "map[C:{CPU: 3}]" {
		t.Fatalf("re-commit = %v, %v", reserve, err)
	}
	release, err := tbl.Remove("pg")
	if err != nil || fmt.Sprint(release) != "map[B:{CPU: 2} C:{CPU: 3}]" {
		t.Fatalf("Remove = %v, %v", release, err)
	}
	if !tbl.ReservedOn("B").IsZero() || !tbl.ReservedOn("C").IsZero() || len(tbl.Groups()) != 0 {
		t.Fatalf("after Remove: B=%v C=%v groups=%v", tbl.ReservedOn("B"), tbl.ReservedOn("C"), tbl.Groups())
	}
}

func TestPGTableStrictSpreadReplacementWaits(t *testing.T) {
	tbl := NewPGTable()
	if err := tbl.Add("pg", []Resources{cpu(1), cpu(1)}, StrictSpread); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Commit("pg", []string{"A", "B"}); err != nil {
		t.Fatal(err)
	}
	tbl.NodeDied("B")
	// Only A is left and it already holds bundle 0.
	a, out, why := tbl.Place("pg", []NodeView{nv("A", cpu(8), cpu(7))})
	if out != Wait || a != nil || !strings.Contains(why, "placement group pg: STRICT_SPREAD") {
		t.Fatalf("Place = %v %v %q, want Wait", a, out, why)
	}
	// STRICT_PACK's survivors pin the lost bundles to their node.
	if err := tbl.Add("sp", []Resources{cpu(1), cpu(1)}, StrictPack); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Commit("sp", []string{"A", "A"}); err != nil {
		t.Fatal(err)
	}
	a, out, _ = tbl.Place("sp", []NodeView{nv("A", cpu(8), cpu(5)), nv("C", cpu(8), cpu(8))})
	if out != Schedule || fmt.Sprint(a) != "[A A]" {
		t.Fatalf("fully placed group Place = %v %v", a, out)
	}
}

func TestPGTableErrors(t *testing.T) {
	tbl := NewPGTable()
	if err := tbl.Add("pg", []Resources{cpu(1)}, Pack); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"duplicate", tbl.Add("pg", []Resources{cpu(1)}, Pack), ErrPlacementGroupExists},
		{"bad strategy", tbl.Add("x", []Resources{cpu(1)}, "NOPE"), ErrInvalidResources},
		{"no bundles", tbl.Add("x", nil, Pack), ErrInvalidResources},
		{"invalid bundle", tbl.Add("x", []Resources{cpu(-1)}, Pack), ErrInvalidResources},
		{"empty bundle", tbl.Add("x", []Resources{{}}, Pack), ErrInvalidResources},
		{"commit unknown", second(tbl.Commit("nope", []string{"A"})), ErrUnknownPlacementGroup},
		{"commit wrong length", second(tbl.Commit("pg", []string{"A", "B"})), ErrBadAssignment},
		{"commit empty node", second(tbl.Commit("pg", []string{""})), ErrBadAssignment},
		{"remove unknown", second(tbl.Remove("nope")), ErrUnknownPlacementGroup},
		{"acquire unknown", tbl.Acquire("nope", 0, cpu(1)), ErrUnknownPlacementGroup},
		{"acquire bad index", tbl.Acquire("pg", 1, cpu(1)), ErrBadBundle},
		{"acquire negative index", tbl.Acquire("pg", -1, cpu(1)), ErrBadBundle},
		{"acquire unplaced", tbl.Acquire("pg", 0, cpu(1)), ErrBadBundle},
		{"release unknown", tbl.Release("nope", 0, cpu(1)), ErrUnknownPlacementGroup},
		{"bundle unknown", second(tbl.Bundle("nope", 0)), ErrUnknownPlacementGroup},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if _, ok := tbl.State("x"); ok {
		t.Error("a failed Add left a group behind")
	}
	if _, out, why := tbl.Place("nope", nil); out != Infeasible || !strings.Contains(why, "unknown") {
		t.Errorf("Place unknown = %v %q", out, why)
	}
	if tbl.NumBundles("pg") != 1 || tbl.NumBundles("nope") != 0 || tbl.Strategy("pg") != Pack || tbl.Strategy("nope") != "" {
		t.Error("NumBundles/Strategy")
	}
}

func second[T any](_ T, err error) error { return err }

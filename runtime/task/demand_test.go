package task

import (
	"testing"
	"time"
)

func TestFeasibleElsewhere(t *testing.T) {
	cpu := func(total, avail float64) (Resources, Resources) {
		return Resources{CPU: total}, Resources{CPU: avail}
	}
	node := func(id string, total, avail float64, alive, draining bool) NodeView {
		tot, av := cpu(total, avail)
		return NodeView{ID: id, Total: tot, Available: av, Alive: alive, Draining: draining}
	}
	tests := []struct {
		name   string
		demand Resources
		nodes  []NodeView
		want   string
		ok     bool
	}{
		{"none fits", Resources{CPU: 8}, []NodeView{node("a", 2, 2, true, false), node("b", 4, 4, true, false)}, "", false},
		{"only the big one fits", Resources{CPU: 4}, []NodeView{node("a", 2, 2, true, false), node("b", 4, 0, true, false)}, "b", true},
		{"most room wins", Resources{CPU: 2}, []NodeView{node("a", 4, 1, true, false), node("b", 4, 3, true, false), node("c", 4, 2, true, false)}, "b", true},
		{"tie by ID", Resources{CPU: 2}, []NodeView{node("c", 4, 0, true, false), node("b", 4, 0, true, false)}, "b", true},
		{"dead and draining skipped", Resources{CPU: 4}, []NodeView{node("a", 8, 8, false, false), node("b", 8, 8, true, true), node("c", 4, 0, true, false)}, "c", true},
		{"only a draining node fits", Resources{CPU: 4}, []NodeView{node("b", 8, 8, true, true)}, "", false},
		{"custom resource", Resources{CPU: 1, "TPU": 1}, []NodeView{node("a", 8, 8, true, false),
			{ID: "t", Total: Resources{CPU: 1, "TPU": 4}, Available: Resources{"TPU": 4}, Alive: true}}, "t", true},
		{"zero demand fits anywhere", Resources{}, []NodeView{node("b", 1, 0, true, false), node("a", 1, 1, true, false)}, "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FeasibleElsewhere(tt.demand, tt.nodes)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("FeasibleElsewhere(%s) = %q, %v; want %q, %v", tt.demand, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// The pending-demand tracker warns each waiting request once, after the
// timeout, and forgets requests that stopped waiting.
func TestPendingDemandWarnsOnceAfterTimeout(t *testing.T) {
	clk := NewFakeClock(time.Unix(1000, 0))
	p := NewPendingDemand(clk, 10*time.Second)
	steps := []struct {
		advance time.Duration
		wait    map[string]Resources // requests (still) waiting at this step
		done    []string
		overdue []string
		summary map[string]int // shape → count
	}{
		{0, map[string]Resources{"t1": {CPU: 8}}, nil, nil, map[string]int{"{CPU: 8}": 1}},
		{5 * time.Second, map[string]Resources{"t1": {CPU: 8}, "t2": {CPU: 8}, "a1": {GPU: 1}}, nil, nil,
			map[string]int{"{CPU: 8}": 2, "{GPU: 1}": 1}},
		{5 * time.Second, nil, nil, []string{"t1"}, nil},
		{time.Second, nil, nil, nil, nil}, // t1 is not reported again
		{4 * time.Second, nil, []string{"a1"}, []string{"t2"}, map[string]int{"{CPU: 8}": 2}},
		{time.Hour, nil, []string{"t1", "t2"}, nil, map[string]int{}},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		for id, d := range s.wait {
			p.Wait(id, d, "waiting")
		}
		for _, id := range s.done {
			if _, ok := p.Done(id); !ok {
				t.Fatalf("step %d: Done(%s): not waiting", i, id)
			}
		}
		var got []string
		for _, it := range p.Overdue() {
			got = append(got, it.ID)
		}
		if len(got) != len(s.overdue) {
			t.Fatalf("step %d: overdue %v, want %v", i, got, s.overdue)
		}
		for j := range got {
			if got[j] != s.overdue[j] {
				t.Fatalf("step %d: overdue %v, want %v", i, got, s.overdue)
			}
		}
		if s.summary != nil {
			sum := p.Summary()
			if len(sum) != len(s.summary) {
				t.Fatalf("step %d: summary %+v, want %v", i, sum, s.summary)
			}
			for _, d := range sum {
				if s.summary[d.Demand.String()] != d.Count {
					t.Fatalf("step %d: summary %+v, want %v", i, sum, s.summary)
				}
			}
		}
	}
	if p.Len() != 0 {
		t.Fatalf("%d requests left", p.Len())
	}
}

package state

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestShapeKey(t *testing.T) {
	for _, tc := range []struct {
		shape map[string]float64
		want  string
	}{
		{nil, ""},
		{map[string]float64{"CPU": 1}, "CPU=1"},
		{map[string]float64{"GPU": 0.5, "CPU": 2}, "CPU=2,GPU=0.5"},
		{map[string]float64{"CPU": 1, "GPU": 0}, "CPU=1"},
		{map[string]float64{"accelerator_type:H200": 1, "CPU": 1e-4}, "CPU=0.0001,accelerator_type:H200=1"},
	} {
		if got := ShapeKey(tc.shape); got != tc.want {
			t.Errorf("ShapeKey(%v) = %q, want %q", tc.shape, got, tc.want)
		}
	}
}

func TestDemandRows(t *testing.T) {
	cpu1 := map[string]float64{"CPU": 1}
	gpu := map[string]float64{"CPU": 1, "GPU": 1}
	for _, tc := range []struct {
		name  string
		nodes []NodeState
		want  []DemandState
	}{
		{"no nodes", nil, nil},
		{"idle nodes", []NodeState{{ID: "a", State: NodeAlive}, {ID: "b", State: NodeAlive}}, nil},
		{"one node, two shapes, in its order",
			[]NodeState{{ID: "a", Name: "na", State: NodeAlive, PendingDemands: []ResourceDemand{
				{Shape: cpu1, Count: 3, OldestSeconds: 12.5}, {Shape: gpu, Count: 1}}}},
			[]DemandState{
				{Node: "a", NodeName: "na", Shape: cpu1, ShapeKey: "CPU=1", Count: 3, OldestSeconds: 12.5},
				{Node: "a", NodeName: "na", Shape: gpu, ShapeKey: "CPU=1,GPU=1", Count: 1}}},
		{"dead and left nodes wait for nothing; zero counts dropped",
			[]NodeState{
				{ID: "a", State: NodeDead, PendingDemands: []ResourceDemand{{Shape: cpu1, Count: 2}}},
				{ID: "b", State: NodeLeft, PendingDemands: []ResourceDemand{{Shape: cpu1, Count: 2}}},
				{ID: "c", State: NodeAlive, PendingDemands: []ResourceDemand{{Shape: cpu1, Count: 0}, {Shape: gpu, Count: 4}}}},
			[]DemandState{{Node: "c", Shape: gpu, ShapeKey: "CPU=1,GPU=1", Count: 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DemandRows(tc.nodes)
			if len(got) != len(tc.want) {
				t.Fatalf("DemandRows = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Node != w.Node || g.NodeName != w.NodeName || g.ShapeKey != w.ShapeKey || g.Count != w.Count ||
					g.OldestSeconds != w.OldestSeconds || ShapeKey(g.Shape) != ShapeKey(w.Shape) {
					t.Errorf("row %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// /api/v0/demands follows the nodes table (SetNodes and PutNode alike),
// filters on node_id, count and shape_key, pages, rejects unknown fields,
// and each node's record carries its own demands.
func TestDemandsEndpoint(t *testing.T) {
	m := NewMemorySource()
	srv := httptest.NewServer(Handler(m, "s3cret"))
	t.Cleanup(srv.Close)
	if l := getList[DemandState](t, srv, "/api/v0/demands"); l.Total != 0 || len(l.Items) != 0 {
		t.Fatalf("empty source: %+v", l)
	}
	m.SetNodes([]NodeState{
		{ID: "a", Name: "alpha", State: NodeAlive, PendingDemands: []ResourceDemand{
			{Shape: map[string]float64{"CPU": 1}, Count: 5, OldestSeconds: 3}, {Shape: map[string]float64{"GPU": 1}, Count: 1}}},
		{ID: "b", Name: "beta", State: NodeAlive, PendingDemands: []ResourceDemand{{Shape: map[string]float64{"CPU": 1}, Count: 2}}},
		{ID: "c", Name: "gamma", State: NodeAlive},
	})
	all := getList[DemandState](t, srv, "/api/v0/demands")
	if all.Total != 3 {
		t.Fatalf("demands: %+v, want 3 rows", all)
	}
	sum := 0
	for _, d := range all.Items {
		if d.ShapeKey == "CPU=1" {
			sum += d.Count
		}
	}
	if sum != 7 {
		t.Fatalf("CPU=1 counts add up to %d over the nodes, want 7", sum)
	}
	if l := getList[DemandState](t, srv, "/api/v0/demands?node_id=b"); l.Total != 1 || l.Items[0].Count != 2 || l.Items[0].NodeName != "beta" {
		t.Fatalf("node_id=b: %+v", l)
	}
	if l := getList[DemandState](t, srv, "/api/v0/demands?shape_key=GPU%3D1"); l.Total != 1 || l.Items[0].Node != "a" {
		t.Fatalf("shape_key=GPU=1: %+v", l)
	}
	if l := getList[DemandState](t, srv, "/api/v0/demands?count=5"); l.Total != 1 || l.Items[0].OldestSeconds != 3 {
		t.Fatalf("count=5: %+v", l)
	}
	if l := getList[DemandState](t, srv, "/api/v0/demands?limit=1&offset=1"); l.Total != 3 || len(l.Items) != 1 {
		t.Fatalf("paged: %+v", l)
	}
	if resp, body := get(t, srv, "/api/v0/demands?colour=red", "s3cret"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown filter: %d %s", resp.StatusCode, body)
	}
	if _, err := m.Demands(t.Context(), Query{Filters: map[string]string{"colour": "red"}}); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("unknown filter from the source: %v, want ErrBadQuery", err)
	}
	nodes := getList[NodeState](t, srv, "/api/v0/nodes?node_id=a")
	if len(nodes.Items) != 1 || len(nodes.Items[0].PendingDemands) != 2 || nodes.Items[0].PendingDemands[0].Count != 5 {
		t.Fatalf("node a's record: %+v", nodes.Items)
	}
	// A node's demand drains: its rows go.
	m.PutNode(NodeState{ID: "a", Name: "alpha", State: NodeAlive})
	if l := getList[DemandState](t, srv, "/api/v0/demands"); l.Total != 1 || l.Items[0].Node != "b" {
		t.Fatalf("after node a drained: %+v", l)
	}
	// A node that dies waits for nothing any more.
	m.PutNode(NodeState{ID: "b", Name: "beta", State: NodeDead, PendingDemands: []ResourceDemand{{Shape: map[string]float64{"CPU": 1}, Count: 2}}})
	if l := getList[DemandState](t, srv, "/api/v0/demands"); l.Total != 0 {
		t.Fatalf("after node b died: %+v", l)
	}
}

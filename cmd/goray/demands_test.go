package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/goray/goray/runtime/agent"
)

// printDemands names, for each summed shape, every node where it waits,
// matching shapes as SumDemands groups them: a zero amount does not make
// another shape.
func TestPrintDemandsBreakdown(t *testing.T) {
	st := agent.StatusResponse{PendingDemands: []agent.NodeDemand{
		{NodeID: "aaaaaaaaaaaaaaaa", Demand: agent.Demand{Shape: map[string]float64{"CPU": 1}, Count: 3}},
		{NodeID: "bbbbbbbbbbbbbbbb", Demand: agent.Demand{Shape: map[string]float64{"CPU": 1, "GPU": 0}, Count: 2}},
	}}
	var buf bytes.Buffer
	printDemands(&buf, st) // no Demands: summed from PendingDemands, as for an older daemon
	out := buf.String()
	if n := strings.Count(out, "pending tasks/actors"); n != 1 {
		t.Fatalf("%d demand lines, want 1 (one shape):\n%s", n, out)
	}
	for _, want := range []string{"5+ pending tasks/actors", shortID("aaaaaaaaaaaaaaaa") + ": 3", shortID("bbbbbbbbbbbbbbbb") + ": 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

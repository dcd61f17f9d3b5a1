package agent_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/runtime/agent"
)

func TestSumDemands(t *testing.T) {
	cpu8 := map[string]float64{"CPU": 8}
	gpu := map[string]float64{"CPU": 1, "GPU": 1}
	tests := []struct {
		name string
		in   []agent.NodeDemand
		want []agent.Demand
	}{
		{"none", nil, []agent.Demand{}},
		{"one node", []agent.NodeDemand{{Demand: agent.Demand{Shape: cpu8, Count: 2}, NodeID: "a"}}, []agent.Demand{{Shape: cpu8, Count: 2}}},
		{"same shape on two nodes is summed", []agent.NodeDemand{
			{Demand: agent.Demand{Shape: cpu8, Count: 2}, NodeID: "a"},
			{Demand: agent.Demand{Shape: gpu, Count: 1}, NodeID: "a"},
			{Demand: agent.Demand{Shape: map[string]float64{"CPU": 8}, Count: 3}, NodeID: "b"},
		}, []agent.Demand{{Shape: cpu8, Count: 5}, {Shape: gpu, Count: 1}}},
		{"zero amounts are the same shape", []agent.NodeDemand{
			{Demand: agent.Demand{Shape: map[string]float64{"CPU": 8, "GPU": 0}, Count: 1}, NodeID: "a"},
			{Demand: agent.Demand{Shape: cpu8, Count: 1}, NodeID: "b"},
		}, []agent.Demand{{Shape: map[string]float64{"CPU": 8, "GPU": 0}, Count: 2}}},
		{"ties ordered by shape, empty counts dropped", []agent.NodeDemand{
			{Demand: agent.Demand{Shape: gpu, Count: 1}, NodeID: "a"},
			{Demand: agent.Demand{Shape: cpu8, Count: 1}, NodeID: "b"},
			{Demand: agent.Demand{Shape: map[string]float64{"X": 1}, Count: 0}, NodeID: "b"},
		}, []agent.Demand{{Shape: gpu, Count: 1}, {Shape: cpu8, Count: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := agent.SumDemands(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("SumDemands = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSchedulerKeys(t *testing.T) {
	cfg, err := load("-resources.gpu", "0")
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Scheduler; time.Duration(s.PendingWarning) != agent.DefaultPendingWarning || time.Duration(s.DrainTimeout) != agent.DefaultDrainTimeout {
		t.Fatalf("defaults: %+v", s)
	}
	path := writeFile(t, "[scheduler]\npending_warning = \"250ms\"\ndrain_timeout = \"1m\"\n")
	cfg, err = load("-resources.gpu", "0", "-config", path, "-scheduler.drain_timeout", "2s")
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Scheduler; time.Duration(s.PendingWarning) != 250*time.Millisecond || time.Duration(s.DrainTimeout) != 2*time.Second {
		t.Fatalf("file then flag: %+v", s)
	}
	for _, tt := range []struct {
		file string
		args []string
		want string
	}{
		{file: "[scheduler]\ndrain_timeout = \"soon\"\n", want: ":2: scheduler.drain_timeout"},
		{file: "\n[scheduler]\ndrain_timeout = \"-1s\"\n", want: ":3: scheduler.drain_timeout: -1s: must not be negative"},
		{file: "[scheduler]\ndrain_timout = \"1s\"\n", want: ":2: scheduler.drain_timout: unknown key"},
		{args: []string{"-scheduler.pending_warning", "10"}, want: "is not a duration"},
	} {
		args := append([]string{"-resources.gpu", "0"}, tt.args...)
		if tt.file != "" {
			args = append(args, "-config", writeFile(t, tt.file))
		}
		_, err := load(args...)
		if !errors.Is(err, agent.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q %v: error %v, want %q", tt.file, tt.args, err, tt.want)
		}
	}
}

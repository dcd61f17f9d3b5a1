package agent_test

import (
	"testing"

	"github.com/goray/goray/runtime/agent"
)

func TestParseGPUList(t *testing.T) {
	tests := []struct {
		out   string
		n     int
		model string
	}{
		{"", 0, ""},
		{"NVIDIA H200\n", 1, "H200"},
		{"NVIDIA H200\nNVIDIA H200\n", 2, "H200"},
		{"NVIDIA A100-SXM4-80GB\nTesla T4\n", 2, ""},
		{"NVIDIA GeForce RTX 4090\n", 1, "GeForce-RTX-4090"},
	}
	for _, tc := range tests {
		n, m := agent.ParseGPUList(tc.out)
		if n != tc.n || m != tc.model {
			t.Errorf("parseGPUList(%q) = %d, %q; want %d, %q", tc.out, n, m, tc.n, tc.model)
		}
	}
}

func TestKeyLines(t *testing.T) {
	src := "# comment\nnode_name = \"a\" # trailing = sign\n[gossip]\n  port = 1\n[resources.custom]\n\"accelerator_type:H200\" = 1\na.b = 2\n"
	got := agent.KeyLines(src)
	want := map[string]int{"node_name": 2, "gossip": 3, "gossip.port": 4, "resources.custom": 5, `resources.custom."accelerator_type:H200"`: 6, "resources.custom.a.b": 7}
	for k, line := range want {
		if got[k] != line {
			t.Errorf("line of %s = %d, want %d (all: %v)", k, got[k], line, got)
		}
	}
}

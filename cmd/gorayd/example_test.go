package main_test

import (
	"context"
	"io"
	"testing"

	"github.com/goray/goray/runtime/agent"
)

// The shipped example config must stay valid.
func TestExampleConfigLoads(t *testing.T) {
	cfg, err := agent.LoadConfig(context.Background(), "gorayd", []string{"-config", "gorayd.example.toml", "-resources.gpu", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Join) != 2 || cfg.TotalResources()["accelerator_type:H200"] != 1 || cfg.ObjectStore.Memory != 32<<30 {
		t.Fatalf("example config decoded to %+v", cfg)
	}
}

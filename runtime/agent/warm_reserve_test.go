package agent_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/goray/goray/runtime/agent"
)

// TestWarmReserveKey covers object_store.warm_reserve: its default follows the
// store's memory, file and flag set it, 0 turns it off, and out-of-range
// values are field errors.
func TestWarmReserveKey(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		args    []string
		want    agent.ByteSize
		wantErr bool
	}{
		{"default small store", "[object_store]\nmemory = \"512MiB\"\n", nil, 128 << 20, false},
		{"default capped", "[object_store]\nmemory = \"8GiB\"\n", nil, 256 << 20, false},
		{"file", "[object_store]\nmemory = \"8GiB\"\nwarm_reserve = \"64MiB\"\n", nil, 64 << 20, false},
		{"off", "[object_store]\nmemory = \"8GiB\"\nwarm_reserve = 0\n", nil, 0, false},
		{"flag overrides file", "[object_store]\nmemory = \"8GiB\"\nwarm_reserve = 0\n", []string{"-object_store.warm_reserve", "1GiB"}, 1 << 30, false},
		{"above memory", "[object_store]\nmemory = \"1GiB\"\nwarm_reserve = \"2GiB\"\n", nil, 0, true},
		{"negative", "[object_store]\nmemory = \"1GiB\"\nwarm_reserve = -5\n", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "node_name = \"n\"\n"+tt.file)
			cfg, err := load(append([]string{"-config", path}, tt.args...)...)
			if tt.wantErr {
				var fe *agent.FieldError
				if !errors.As(err, &fe) || !errors.Is(err, agent.ErrInvalidConfig) || !strings.Contains(err.Error(), "object_store.warm_reserve") {
					t.Fatalf("err = %v; want a field error for object_store.warm_reserve", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ObjectStore.WarmReserve != tt.want {
				t.Fatalf("warm_reserve = %d; want %d", cfg.ObjectStore.WarmReserve, tt.want)
			}
		})
	}
}

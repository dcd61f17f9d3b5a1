package runtime

import (
	"context"
	"testing"
)

// TestNodeWarmReserve pins NodeConfig.WarmReserve's mapping onto the store:
// 0 is the store's default, negative is off, a value is used up to the
// store's limit.
func TestNodeWarmReserve(t *testing.T) {
	const limit = 64 << 20
	tests := []struct {
		name string
		in   int64
		want int64
	}{
		{"default", 0, limit / 4},
		{"off", -1, 0},
		{"set", 4 << 20, 4 << 20},
		{"clamped to the limit", 2 * limit, limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NewNode(NodeConfig{NumCPUs: 1, PrestartWorkers: -1, ObjectStoreMemory: limit, WarmReserve: tt.in}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Stop(context.Background())
			if got := n.Store().Config().WarmReserve; got != tt.want {
				t.Fatalf("store warm_reserve = %d; want %d", got, tt.want)
			}
		})
	}
}

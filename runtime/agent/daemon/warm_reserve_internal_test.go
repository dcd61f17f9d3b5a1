package daemon

import (
	"testing"

	"github.com/goray/goray/runtime/agent"
)

// TestWarmReserveMapping: the daemon's 0 means off, which NodeConfig spells
// as a negative value; NodeConfig's 0 is the default.
func TestWarmReserveMapping(t *testing.T) {
	tests := []struct {
		in   agent.ByteSize
		want int64
	}{
		{0, -1},
		{agent.WarmReserveAuto, 0},
		{64 << 20, 64 << 20},
	}
	for _, tt := range tests {
		if got := warmReserve(tt.in); got != tt.want {
			t.Errorf("warmReserve(%d) = %d; want %d", tt.in, got, tt.want)
		}
	}
}

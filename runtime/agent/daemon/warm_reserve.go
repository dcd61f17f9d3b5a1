package daemon

import "github.com/goray/goray/runtime/agent"

// warmReserve maps object_store.warm_reserve (0: off) onto NodeConfig's
// WarmReserve (0: the default, negative: off).
func warmReserve(v agent.ByteSize) int64 {
	switch {
	case v == agent.WarmReserveAuto: // a Config that skipped Finalize
		return 0
	case v <= 0:
		return -1
	default:
		return int64(v)
	}
}

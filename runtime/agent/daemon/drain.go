package daemon

import (
	"context"
	"fmt"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/remote"
)

// drain is the first step of a graceful shutdown, after the jobs stopped
// and before the gossip leave: the node tells its peers that it leaves,
// hands back the work they forwarded that has not started, and lets the
// running work finish and send its results for up to
// scheduler.drain_timeout (runtime/remote's Engine.Drain).
func (d *Daemon) drain(ctx context.Context, re *remote.Engine) error {
	timeout := time.Duration(d.cfg.Scheduler.DrainTimeout)
	start := time.Now()
	d.log.Info("draining: handing work back to its owners", "timeout", timeout)
	rep, err := re.Drain(ctx, timeout)
	d.log.Info("drained", "peers_notified", rep.Notified, "peers", rep.Peers, "handed_back", rep.HandedBack,
		"handed_back_running", rep.TimedOut, "still_running", rep.Unsent, "took", time.Since(start).Round(time.Millisecond))
	if err != nil {
		return fmt.Errorf("gorayd: drain: %w", err)
	}
	return nil
}

// pendingDemands is the node's pending demand as the agent reports it.
func pendingDemands(n *grt.Node) []agent.Demand {
	pd := n.PendingDemand()
	out := make([]agent.Demand, 0, len(pd))
	for _, p := range pd {
		out = append(out, agent.Demand{Shape: p.Shape, Count: int64(p.Count)})
	}
	return out
}

package runtime

import (
	"context"
	"testing"
	"time"
)

// BenchmarkPendingDemand measures what the pending-demand bookkeeping
// costs a node with 10,000 tasks queued behind an actor that holds its
// only CPU: PendingDemand (the agent asks every 200 ms) and one round of
// the warning check (every second by default), both under the node's
// lock.
//
//	go test -run '^$' -bench PendingDemand ./runtime/
func BenchmarkPendingDemand(b *testing.B) {
	n, err := NewNode(NodeConfig{NumCPUs: 1, PrestartWorkers: -1, PendingWarning: time.Hour}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := n.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer n.Stop(ctx)
	c := n.LocalClient()
	if _, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1,
		Resources: map[string]float64{"CPU": 1}, ResourcesSet: true}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, avail, err := c.NodeResources(ctx)
		if err == nil && avail["CPU"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the actor never took the CPU")
		}
		time.Sleep(5 * time.Millisecond)
	}
	const queued = 10000
	for range queued {
		c.Submit(&TaskSpec{Func: "f", NumReturns: 1, Resources: map[string]float64{"CPU": 1}})
	}
	if d := n.PendingDemand(); len(d) != 1 || d[0].Count != queued {
		b.Fatalf("demand %+v, want %d queued", d, queued)
	}
	b.Run("PendingDemand", func(b *testing.B) {
		for b.Loop() {
			n.PendingDemand()
		}
	})
	b.Run("WarningCheck", func(b *testing.B) {
		for b.Loop() {
			n.mu.Lock()
			n.checkPendingLocked()
			n.mu.Unlock()
		}
	})
}

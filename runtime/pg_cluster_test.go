package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/goray/goray/runtime/codec"
)

// bundleNodes returns the node of each bundle of group id.
func bundleNodes(n *Node, id string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, n.pgs.NumBundles(id))
	for i := range out {
		b, _ := n.pgs.Bundle(id, i)
		out[i] = b.Node
	}
	return out
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Actors scheduled into placement group bundles live where their bundle
// lives, on this node or on the peer that holds it, and take their CPUs
// out of the bundle rather than out of the node a second time. When the
// peer dies, its bundle is placed again here once a CPU is free; a task
// scheduled into it meanwhile waits for it, and the actor that lived in
// it (MaxRestarts) restarts in it, here.
func TestActorsInBundlesAcrossNodesAndNodeDeath(t *testing.T) {
	peer, _ := startNode(t, NodeConfig{NumCPUs: 4, PrestartWorkers: -1})
	n, err := NewNode(NodeConfig{NumCPUs: 2, PrestartWorkers: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &peerHooks{peer: peer, self: n}
	n.SetClusterHooks(h)
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := n.LocalClient()
	pg, err := c.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 1}, {"CPU": 1}}, PGSpread, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PlacementGroupReady(ctx, pg); err != nil {
		t.Fatal(err)
	}
	nodes := bundleNodes(n, pg)
	here, there := -1, -1
	for i, id := range nodes {
		switch id {
		case n.ID():
			here = i
		case peer.ID():
			there = i
		}
	}
	if here < 0 || there < 0 {
		t.Fatalf("SPREAD bundles on %v, want one here (%s) and one on the peer (%s)", nodes, n.ID(), peer.ID())
	}
	create := func(bundle, restarts int) ActorID {
		t.Helper()
		id, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1, MaxRestarts: restarts,
			Resources: map[string]float64{"CPU": 1}, ResourcesSet: true, Strategy: Strategy{Kind: StrategyPlacementGroup, PG: pg, Bundle: bundle}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	call := func(id ActorID) int {
		t.Helper()
		v := getOne(t, c, c.Submit(&TaskSpec{Kind: KindActorMethod, Func: "inc", Actor: id, NumReturns: 1})[0])
		if v.Err != nil {
			t.Fatalf("call: %v", v.Err)
		}
		x, err := codec.DecodeInto[int](v.Data)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	local := create(here, 0)
	remote := create(there, 1)
	if x := call(local); x != 1 || !n.HasActor(local) {
		t.Fatalf("actor in bundle %d: count %d, lives here: %v", here, x, n.HasActor(local))
	}
	if x := call(remote); x != 1 || !peer.HasActor(remote) || n.HasActor(remote) {
		t.Fatalf("actor in bundle %d: count %d, on the peer: %v, here: %v", there, x, peer.HasActor(remote), n.HasActor(remote))
	}
	n.mu.Lock()
	free := n.avail["CPU"]
	b, _ := n.pgs.Bundle(pg, here)
	n.mu.Unlock()
	if free != 1 || b.Available["CPU"] != 0 {
		t.Fatalf("node has %v CPUs free and the bundle %v; want 1 (2 less the bundle) and 0 (the actor)", free, b.Available)
	}

	// An actor outside the group takes this node's last free CPU.
	blocker, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1,
		Resources: map[string]float64{"CPU": 1}, ResourcesSet: true, Strategy: Strategy{Kind: StrategyNodeAffinity, Node: n.ID()}})
	if err != nil {
		t.Fatal(err)
	}
	if x := call(blocker); x != 1 || !n.HasActor(blocker) {
		t.Fatalf("blocker: count %d, here: %v", x, n.HasActor(blocker))
	}

	// The peer dies. Its bundle cannot come here while the blocker holds
	// the CPU: the group is RESCHEDULING, and a task scheduled into that
	// bundle waits for it.
	h.gone.Store(true)
	n.PeerGone(peer.ID())
	if nodes := bundleNodes(n, pg); nodes[there] != "" {
		t.Fatalf("bundle %d placed on %q with no CPU free anywhere", there, nodes[there])
	}
	// (It asks for no CPU: the restarting actor takes the bundle's.)
	parked := c.Submit(&TaskSpec{Func: "parked", NumReturns: 1, Resources: map[string]float64{},
		Strategy: Strategy{Kind: StrategyPlacementGroup, PG: pg, Bundle: there}})
	// Freeing the CPU lets the bundle come here; the task runs in it and
	// the actor restarts in it.
	if err := c.KillActor(ctx, blocker, true); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, func() bool { return bundleNodes(n, pg)[there] == n.ID() }, "the dead peer's bundle placed here")
	v := getOne(t, c, parked[0])
	if s, err := codec.DecodeInto[string](v.Data); v.Err != nil || err != nil || s != "parked" {
		t.Fatalf("task in the re-placed bundle: %q, %v, %v", s, v.Err, err)
	}
	waitUntil(t, 10*time.Second, func() bool { return n.HasActor(remote) }, "the actor restarted here")
	if x := call(remote); x != 1 {
		t.Fatalf("restarted actor: count %d, want a fresh instance", x)
	}
	n.mu.Lock()
	free = n.avail["CPU"]
	n.mu.Unlock()
	if free != 0 {
		t.Fatalf("node has %v CPUs free, want 0 (both bundles here)", free)
	}

	// Killing an actor gives its CPU back to the bundle: a new actor fits.
	if err := c.KillActor(ctx, local, true); err != nil {
		t.Fatal(err)
	}
	again := create(here, 0)
	if x := call(again); x != 1 {
		t.Fatalf("actor in a freed bundle: count %d", x)
	}
}

package cluster_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/goray/goray/runtime/cluster"
)

func TestOwnerDeterministicAndOrderFree(t *testing.T) {
	nodes := []string{"a1", "b2", "c3", "d4", "e5"}
	rng := rand.New(rand.NewPCG(1, 2))
	for k := range 200 {
		key := fmt.Sprintf("actor/%d", k)
		want := cluster.Owner(key, nodes)
		shuffled := slices.Clone(nodes)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := cluster.Owner(key, shuffled); got != want {
			t.Fatalf("key %s: owner %s with order %v, %s with %v", key, got, shuffled, want, nodes)
		}
	}
	if got := cluster.Owner("x", nil); got != "" {
		t.Fatalf("owner over no members = %q, want empty", got)
	}
	if got := cluster.Owner("x", []string{"solo"}); got != "solo" {
		t.Fatalf("owner over one member = %q", got)
	}
}

func TestOwnerBalancedAndMinimalHandover(t *testing.T) {
	nodes := make([]string, 10)
	for i := range nodes {
		nodes[i] = cluster.NewNodeID()
	}
	const keys = 20000
	count := map[string]int{}
	before := make([]string, keys)
	for k := range keys {
		before[k] = cluster.Owner(fmt.Sprintf("pg/%d", k), nodes)
		count[before[k]]++
	}
	for _, n := range nodes {
		// Expect 2000 each; a binomial's 5-sigma band is about ±210.
		if c := count[n]; c < 1700 || c > 2300 {
			t.Errorf("node %s owns %d of %d keys; want about %d", n[:8], c, keys, keys/len(nodes))
		}
	}
	// Remove one node: only its keys move.
	gone := nodes[3]
	rest := slices.Delete(slices.Clone(nodes), 3, 4)
	moved := 0
	for k := range keys {
		after := cluster.Owner(fmt.Sprintf("pg/%d", k), rest)
		if before[k] != gone && after != before[k] {
			t.Fatalf("key %d moved from surviving node %s to %s", k, before[k][:8], after[:8])
		}
		if after != before[k] {
			moved++
		}
	}
	if moved != count[gone] {
		t.Fatalf("moved %d keys, want exactly the %d the dead node owned", moved, count[gone])
	}
}

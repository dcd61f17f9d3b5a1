package remote_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
)

// namesSettleWindow is longer than the directory's settling time after a
// membership change (nameSettle), during which a lookup that misses the
// record asks every peer instead: a name must resolve after it too,
// through the record alone.
const namesSettleWindow = nameSettle + 2*time.Second

// A detached named actor outlives its creator node, name included, as in
// Ray; a non-detached one dies with it (fate sharing) and frees its name.
// A driver on node 0 creates both, pinned to node 1, and node 0 is
// SIGKILLed. The detached counters (one whose name's record node 0 kept
// itself, one whose record node 2 keeps) then resolve from node 2 for
// longer than the settling time, keep their state, and their names stay
// taken; the non-detached one is gone from node 1 and its name is taken
// by a new actor.
func TestDetachedNamedActorOutlivesItsCreatorNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes")
	}
	c := testutil.NewCluster(t, 3)
	bin := testutil.BuildBinary(t, "github.com/goray/goray/runtime/remote/testdata/names")
	ids := []string{c.NodeID(0), c.NodeID(1), c.NodeID(2)}
	for i := range ids {
		testutil.WaitFor(t, 15*time.Second, func() bool { return c.CountState(i, "alive") == 3 }, fmt.Sprintf("every node alive on node %d", i))
	}
	d0 := startNamesDriver(t, bin, c, 0)
	d1 := startNamesDriver(t, bin, c, 1)
	d2 := startNamesDriver(t, bin, c, 2)

	detached := []string{
		nameOwnedBy(t, "keep-on-creator", ids, ids[0]),
		nameOwnedBy(t, "keep-elsewhere", ids, ids[2]),
	}
	fate := nameOwnedBy(t, "fate", ids, ids[1])
	for _, name := range detached {
		if got := d0.do("create " + name + " " + ids[1] + " detached"); got != "ok "+ids[1] {
			t.Fatalf("create detached %s on node 1: %q", name, got)
		}
		for want := 1; want <= 2; want++ {
			if got := d0.do("incr " + name); got != fmt.Sprintf("count %d", want) {
				t.Fatalf("incr %s from node 0: %q, want count %d", name, got, want)
			}
		}
	}
	if got := d0.do("create " + fate + " " + ids[1] + " attached"); got != "ok "+ids[1] {
		t.Fatalf("create non-detached %s on node 1: %q", fate, got)
	}

	c.Kill(0)
	gone := func(i int) bool { s := c.StateOf(i, ids[0]); return s != "alive" && s != "suspect" }
	testutil.WaitFor(t, 20*time.Second, func() bool { return gone(1) && gone(2) }, "node 0 declared gone by the survivors")

	// The detached counters answer to their names from node 2, with
	// their state, throughout and after the settling time, and their
	// names stay taken. The ticker only spaces the observations out.
	counts := map[string]int{detached[0]: 2, detached[1]: 2}
	tick := time.NewTicker(namesSettleWindow / 20)
	defer tick.Stop()
	for end := time.Now().Add(namesSettleWindow); ; <-tick.C {
		for _, name := range detached {
			counts[name]++
			if got, want := d2.do("incr "+name), fmt.Sprintf("count %d", counts[name]); got != want {
				t.Fatalf("incr %s from node 2 after its creator node died: %q, want %q", name, got, want)
			}
		}
		if time.Now().After(end) {
			break
		}
	}
	for _, name := range detached {
		if got := d2.do("create " + name + " " + ids[2] + " detached"); got != "exists" {
			t.Fatalf("create %s on node 2 after its creator node died: %q, want exists", name, got)
		}
		if got := d2.do("get " + name); got != "found "+ids[1] {
			t.Fatalf("get %s from node 2: %q, want the actor on node 1", name, got)
		}
	}

	// The non-detached actor died with its creator: its name is free,
	// and node 1, where it lived, finds the new holder.
	var last string
	testutil.WaitFor(t, 15*time.Second, func() bool {
		last = d2.do("create " + fate + " " + ids[2] + " attached")
		return last != "exists"
	}, "the non-detached actor's name is free again")
	if last != "ok "+ids[2] {
		t.Fatalf("create %s on node 2: %q", fate, last)
	}
	if got := d1.do("get " + fate); got != "found "+ids[2] {
		t.Fatalf("get %s from node 1, where the old actor lived: %q, want the new actor on node 2", fate, got)
	}
	if got := d1.do("incr " + fate); got != "count 1" {
		t.Fatalf("incr %s from node 1: %q, want the new actor's first count", fate, got)
	}
}

package remote_test

import (
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
)

// A non-detached actor's name stays taken while the hosts check whether
// its creator's node, declared gone, is really gone: node 0, the creator
// of a counter living on node 1, is stopped until nodes 1 and 2 declare
// it gone. Past the directory's settling time (so that a missing record
// reads as "free"), but before node 1's verdict (the grace and the direct
// check), node 2 tries to create the same name and must be told it
// exists, and must find the counter on node 1; so too for a second
// counter whose name's record node 0 itself kept, which only node 1 can
// tell node 0's successor about. Node 0 is then resumed
// before the check fails: the counter lives on, keeps its count and its
// name. Were the name granted to node 2, node 0's re-announcement of the
// older record would later take it away from node 2's actor.
func TestNameStaysTakenWhileItsCreatorIsChecked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes")
	}
	// Times after the test sees node 0 gone on both nodes (they saw it a
	// little earlier): the window must hold both, with room before node
	// 1's verdict, or the test no longer tests what it says.
	createAt := nameSettle + 100*time.Millisecond
	resumeAt := nameSettle + 400*time.Millisecond
	if verdict := creatorGrace + creatorProbeTimeout; resumeAt+300*time.Millisecond > verdict {
		t.Fatalf("no window between the settling time (%v) and the creator check's verdict (%v) to test in", nameSettle, verdict)
	}
	c, ids, d0, d2, name := falseDeathCluster(t, "window")
	onCreator := nameOwnedBy(t, "window-on-creator", ids, ids[0])
	if got := d0.do("create " + onCreator + " " + ids[1] + " attached"); got != "ok "+ids[1] {
		t.Fatalf("create %s on node 1 from node 0: %q", onCreator, got)
	}
	names := []string{name, onCreator}
	stop, resume := stallNode(t, c, 0)
	gone := func(i int) bool { s := c.StateOf(i, ids[0]); return s != "alive" && s != "suspect" }
	stop()
	testutil.WaitFor(t, 20*time.Second, func() bool { return gone(1) && gone(2) }, "node 0 declared gone by nodes 1 and 2")
	declared := time.Now()

	// The moments are what the test is about, so they are waited out.
	<-time.After(time.Until(declared.Add(createAt)))
	for _, n := range names {
		d2.send("create " + n + " " + ids[2] + " attached")
		d2.send("get " + n)
	}
	<-time.After(time.Until(declared.Add(resumeAt)))
	resume()
	for _, n := range names {
		created, found := d2.read(), d2.read()
		if created != "exists" {
			t.Errorf("create %s on node 2 while node 0's actor lived on node 1 and node 0 was being checked: %q, want exists", n, created)
		}
		if found != "found "+ids[1] {
			t.Errorf("get %s from node 2 while node 0 was being checked: %q, want the actor on node 1", n, found)
		}
	}
	t.Logf("node 0 resumed %v after it was declared gone", time.Since(declared))

	testutil.WaitFor(t, 20*time.Second, func() bool { return !gone(1) && !gone(2) }, "node 0 alive again on nodes 1 and 2")
	if got := d0.do("incr " + name); got != "count 2" {
		t.Fatalf("incr %s from node 0 after it came back: %q, want count 2", name, got)
	}
	for _, n := range names {
		if got := d2.do("get " + n); got != "found "+ids[1] {
			t.Fatalf("get %s from node 2 after node 0 came back: %q, want the actor on node 1", n, got)
		}
		if got := d2.do("create " + n + " " + ids[2] + " attached"); got != "exists" {
			t.Fatalf("create %s on node 2 after node 0 came back: %q, want exists", n, got)
		}
	}
}

// Keeping a non-detached actor's name while its creator is checked must
// not keep it after a real death: node 0, the creator of two counters
// living on node 1 (one name's record kept by node 2, one by node 0
// itself, which node 1 relays to node 0's successor), is killed. Node 1
// finds it dead, kills the counters and releases their names, and node 2
// can take both names and reach its new actors under them.
func TestNameFreedAfterItsCreatorIsFoundDead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes")
	}
	c, ids, d0, d2, name := falseDeathCluster(t, "dead")
	onCreator := nameOwnedBy(t, "dead-on-creator", ids, ids[0])
	if got := d0.do("create " + onCreator + " " + ids[1] + " attached"); got != "ok "+ids[1] {
		t.Fatalf("create %s on node 1 from node 0: %q", onCreator, got)
	}
	c.Kill(0)
	gone := func(i int) bool { s := c.StateOf(i, ids[0]); return s != "alive" && s != "suspect" }
	testutil.WaitFor(t, 20*time.Second, func() bool { return gone(1) && gone(2) }, "node 0 declared gone by nodes 1 and 2")
	declared := time.Now()
	for _, n := range []string{name, onCreator} {
		var last string
		testutil.WaitFor(t, 15*time.Second, func() bool {
			last = d2.do("create " + n + " " + ids[2] + " attached")
			return last != "exists"
		}, "the name "+n+" of a counter whose creator died is free again")
		if last != "ok "+ids[2] {
			t.Fatalf("create %s on node 2: %q", n, last)
		}
		t.Logf("%s free %v after node 0 was declared gone", n, time.Since(declared))
		if got := d2.do("incr " + n); got != "count 1" {
			t.Fatalf("incr %s from node 2: %q, want the new actor's first count", n, got)
		}
	}
}

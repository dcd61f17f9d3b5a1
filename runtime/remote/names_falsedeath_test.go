package remote_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/remote"
)

// Timings of the creator check in names_detached.go the tests below stay
// inside or go past, and of the directory's settling after a membership
// change (names.go), taken from the production constants.
const (
	creatorGrace        = remote.CreatorGraceForTest
	creatorProbeTimeout = remote.CreatorProbeTimeoutForTest
	nameSettle          = remote.NameSettleForTest
)

// stallNode returns a function that stops node i's gorayd (SIGSTOP: the
// process stays, its kernel still accepts connections, it answers
// nothing) and one that lets it run again. The cleanup resumes it, so
// that a failed test does not leave a stopped process behind.
func stallNode(t *testing.T, c *testutil.Cluster, i int) (stop, resume func()) {
	t.Helper()
	name := c.Nodes[i].Name
	pid := 0
	for p, proc := range testutil.Processes() {
		if proc.PPID != os.Getpid() {
			continue
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if bytes.Contains(b, []byte("-node_name\x00"+name+"\x00")) {
			pid = p
		}
	}
	if pid == 0 {
		t.Fatalf("no gorayd process of %s", name)
	}
	resume = func() {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Errorf("resume %s: %v", name, err)
		}
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	stop = func() {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatalf("stop %s: %v", name, err)
		}
	}
	return stop, resume
}

// falseDeathCluster starts three nodes, drivers on nodes 0 and 2, and has
// the driver on node 0 create a non-detached counter named from prefix on
// node 1 (its record kept by node 2) and count once.
func falseDeathCluster(t *testing.T, prefix string) (c *testutil.Cluster, ids []string, d0, d2 *namesDriver, name string) {
	t.Helper()
	c = testutil.NewCluster(t, 3)
	bin := testutil.BuildBinary(t, "github.com/goray/goray/runtime/remote/testdata/names")
	ids = []string{c.NodeID(0), c.NodeID(1), c.NodeID(2)}
	for i := range ids {
		testutil.WaitFor(t, 15*time.Second, func() bool { return c.CountState(i, "alive") == 3 }, fmt.Sprintf("every node alive on node %d", i))
	}
	d0 = startNamesDriver(t, bin, c, 0)
	d2 = startNamesDriver(t, bin, c, 2)
	name = nameOwnedBy(t, prefix, ids, ids[2])
	if got := d0.do("create " + name + " " + ids[1] + " attached"); got != "ok "+ids[1] {
		t.Fatalf("create %s on node 1 from node 0: %q", name, got)
	}
	if got := d0.do("incr " + name); got != "count 1" {
		t.Fatalf("incr %s from node 0: %q", name, got)
	}
	return c, ids, d0, d2, name
}

// stallPastDeath stops node 0 until nodes 1 and 2 declare it gone, keeps
// it stopped for hold more (the length of the stall is what the tests
// vary, so it is waited out, not polled), resumes it, and waits until
// nodes 1 and 2 have it alive again.
func stallPastDeath(t *testing.T, c *testutil.Cluster, ids []string, hold time.Duration) {
	t.Helper()
	stop, resume := stallNode(t, c, 0)
	gone := func(i int) bool { s := c.StateOf(i, ids[0]); return s != "alive" && s != "suspect" }
	stop()
	stopped := time.Now()
	testutil.WaitFor(t, 20*time.Second, func() bool { return gone(1) && gone(2) }, "node 0 declared gone by nodes 1 and 2")
	declared := time.Now()
	<-time.After(hold)
	resume()
	t.Logf("node 0 stopped for %v, declared gone after %v", time.Since(stopped), declared.Sub(stopped))
	testutil.WaitFor(t, 20*time.Second, func() bool { return !gone(1) && !gone(2) }, "node 0 alive again on nodes 1 and 2")
}

// A creator node that stalls long enough to be declared dead and to
// outlast the grace before the hosts check it, but not as long as the
// direct check waits for an answer, keeps its actors: node 0's gorayd is
// stopped until nodes 1 and 2 declare it gone and a second past the
// grace, then resumed. The non-detached counter it created on node 1
// lives on with its state, its name resolves from node 2 and stays
// taken.
func TestFalselyDeclaredDeadCreatorKeepsItsActors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes")
	}
	c, ids, d0, d2, name := falseDeathCluster(t, "stall")
	stallPastDeath(t, c, ids, creatorGrace+time.Second)
	// The hosts' checks ended when they saw node 0 alive again (or got
	// its answer), so the counter lives now or never will.
	if got := d0.do("incr " + name); got != "count 2" {
		t.Fatalf("incr %s from node 0 after it was declared dead: %q, want count 2", name, got)
	}
	if got := d2.do("get " + name); got != "found "+ids[1] {
		t.Fatalf("get %s from node 2: %q, want the actor on node 1", name, got)
	}
	if got := d2.do("create " + name + " " + ids[2] + " attached"); got != "exists" {
		t.Fatalf("create %s on node 2: %q, want exists", name, got)
	}
	if got := d0.do("incr " + name); got != "count 3" {
		t.Fatalf("incr %s from node 0: %q, want count 3", name, got)
	}
}

// A creator node that stays unreachable past the direct check loses its
// non-detached actors for good (fate sharing), and when it comes back its
// proxy learns of the death and frees the name: node 0 is stopped until
// the check must have failed, then resumed. The driver on node 0 gets an
// error from its counter, and the name can be taken again from node 2.
func TestCreatorBackAfterItsActorsDiedFreesTheirNames(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes")
	}
	c, ids, d0, d2, name := falseDeathCluster(t, "fated")
	stallPastDeath(t, c, ids, creatorGrace+creatorProbeTimeout+2*time.Second)
	if got := d0.do("incr " + name); !strings.HasPrefix(got, "error") && got != "notfound" {
		t.Fatalf("incr %s from node 0 after node 1 killed it: %q, want an error", name, got)
	}
	var last string
	testutil.WaitFor(t, 15*time.Second, func() bool {
		last = d2.do("create " + name + " " + ids[2] + " attached")
		return last != "exists"
	}, "the dead counter's name is free again although its creator came back")
	if last != "ok "+ids[2] {
		t.Fatalf("create %s on node 2: %q", name, last)
	}
	if got := d0.do("incr " + name); got != "count 1" {
		t.Fatalf("incr %s from node 0: %q, want the new actor's first count", name, got)
	}
}

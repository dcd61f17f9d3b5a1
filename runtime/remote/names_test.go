package remote_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/remote"
)

// namesDriver is a testdata/names driver connected to one daemon.
type namesDriver struct {
	t     *testing.T
	node  string
	in    io.WriteCloser
	lines chan string
}

func startNamesDriver(t *testing.T, bin string, c *testutil.Cluster, i int) *namesDriver {
	t.Helper()
	return startNamesDriverAt(t, bin, c.HTTP(i), i)
}

// startNamesDriverAt starts a driver connected to address (a daemon's
// HTTP address or its node's unix socket); i names it in logs.
func startNamesDriverAt(t *testing.T, bin, address string, i int) *namesDriver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	drv := testutil.StartDriver(ctx, t, bin, address)
	d := &namesDriver{t: t, in: drv.Stdin, lines: make(chan string, 16)}
	go func() {
		for drv.Stdout.Scan() {
			d.lines <- drv.Stdout.Text()
		}
		close(d.lines)
	}()
	t.Cleanup(func() {
		_ = drv.Stdin.Close()
		done := make(chan struct{})
		go func() { _ = drv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cancel()
			<-done
		}
		cancel()
		if t.Failed() {
			t.Logf("driver on node %d stderr:\n%s", i, drv.Stderr())
		}
	})
	ready := d.read()
	node, ok := strings.CutPrefix(ready, "ready ")
	if !ok {
		t.Fatalf("driver on node %d: %q, want ready", i, ready)
	}
	d.node = node
	return d
}

func (d *namesDriver) send(cmd string) {
	d.t.Helper()
	if _, err := io.WriteString(d.in, cmd+"\n"); err != nil {
		d.t.Fatalf("driver on %s: %v", d.node, err)
	}
}

func (d *namesDriver) read() string {
	d.t.Helper()
	select {
	case l, ok := <-d.lines:
		if !ok {
			d.t.Fatalf("driver on %s exited", d.node)
		}
		return l
	case <-time.After(60 * time.Second):
		d.t.Fatalf("driver on %s: no answer in 60s", d.node)
	}
	return ""
}

func (d *namesDriver) do(cmd string) string {
	d.t.Helper()
	d.send(cmd)
	return d.read()
}

// nameOwnedBy picks a name whose directory owner over ids is want.
func nameOwnedBy(t *testing.T, prefix string, ids []string, want string) string {
	t.Helper()
	for i := range 10000 {
		n := fmt.Sprintf("%s-%d", prefix, i)
		if cluster.Owner(remote.NameKey(n), ids) == want {
			return n
		}
	}
	t.Fatalf("no name owned by %s", want)
	return ""
}

// Named actors on a 3-node gorayd cluster: two drivers on different
// nodes create the same name at once, round after round, and exactly one
// succeeds each time (the name is reserved at its owner node first); the
// other node finds it by name. Then node 2 is SIGKILLed: a name whose
// record it kept still resolves from the third node (the actor lives on a
// survivor) and is still taken, and a named actor that lived there
// restarts on a survivor under its name. Killed for good, an actor frees
// its name, which can then be taken again.
func TestNamedActorsAcrossTheCluster(t *testing.T) {
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

	rounds := 8
	for r := range rounds {
		name := fmt.Sprintf("race-%d", r)
		d0.send("create " + name)
		d1.send("create " + name)
		a, b := d0.read(), d1.read()
		okA, okB := strings.HasPrefix(a, "ok "), strings.HasPrefix(b, "ok ")
		if okA == okB || (!okA && a != "exists") || (!okB && b != "exists") {
			t.Fatalf("round %d: node 0 got %q, node 1 got %q; want exactly one ok and one exists", r, a, b)
		}
		winner, loser := d0, d1
		if okB {
			winner, loser = d1, d0
		}
		if got := loser.do("get " + name); !strings.HasPrefix(got, "found ") {
			t.Fatalf("round %d: the losing node cannot find %s: %q", r, name, got)
		}
		if got := winner.do("kill " + name); got != "killed" {
			t.Fatalf("round %d: kill: %q", r, got)
		}
	}

	// A name whose record lives on node 2, held by an actor that node 0
	// created and that runs on node 0.
	name := nameOwnedBy(t, "owned", ids, ids[2])
	if got := d0.do("create " + name + " " + ids[0]); got != "ok "+ids[0] {
		t.Fatalf("create %s on node 0: %q", name, got)
	}
	if got := d1.do("get " + name); got != "found "+ids[0] {
		t.Fatalf("get %s from node 1 before the failure: %q", name, got)
	}
	// A named actor that lives on node 2 (soft affinity, one restart),
	// its record on node 1: it restarts on a survivor, keeping its name.
	mover := nameOwnedBy(t, "mover", ids, ids[1])
	if got := d0.do("create " + mover + " " + ids[2] + " soft"); got != "ok "+ids[2] {
		t.Fatalf("create %s on node 2: %q", mover, got)
	}
	c.Kill(2)
	// Right away (the failure not yet detected, or the handover in
	// flight) and after: it resolves and stays taken.
	if got := d1.do("get " + name); got != "found "+ids[0] {
		t.Fatalf("get %s from node 1 just after its owner died: %q", name, got)
	}
	gone := func(i int) bool { s := c.StateOf(i, ids[2]); return s != "alive" && s != "suspect" }
	testutil.WaitFor(t, 20*time.Second, func() bool { return gone(0) && gone(1) }, "node 2 declared gone by the survivors")
	if got := d1.do("create " + name); got != "exists" {
		t.Fatalf("create %s on node 1 after the handover: %q, want exists", name, got)
	}
	if got := d1.do("get " + name); got != "found "+ids[0] {
		t.Fatalf("get %s from node 1 after the handover: %q", name, got)
	}
	var moved string
	testutil.WaitFor(t, 20*time.Second, func() bool {
		moved = d1.do("get " + mover)
		return moved == "found "+ids[0] || moved == "found "+ids[1]
	}, "the restarted named actor found by name on a survivor")
	if got := d1.do("create " + mover); got != "exists" {
		t.Fatalf("create %s after it moved: %q, want exists", mover, got)
	}
	// Killed from node 1: the name is free again (the release reaches
	// the new owner; allow it the time of one message).
	if got := d1.do("kill " + name); got != "killed" {
		t.Fatalf("kill %s: %q", name, got)
	}
	var last string
	testutil.WaitFor(t, 10*time.Second, func() bool {
		last = d1.do("create " + name)
		return strings.HasPrefix(last, "ok ")
	}, "the killed actor's name is free again")
	if got := d0.do("get " + name); got != "found "+strings.TrimPrefix(last, "ok ") {
		t.Fatalf("get %s from node 0 after it was taken again: %q (created: %q)", name, got, last)
	}
}

// driverSocket is node i's unix socket for drivers, which a driver on this
// machine reaches whatever network namespace the daemon runs in.
func driverSocket(t *testing.T, c *testutil.Cluster, i int) string {
	t.Helper()
	id := c.NodeID(i)
	for _, m := range c.Members(i) {
		if m.ID == id && m.DriverAddress != "" {
			return m.DriverAddress
		}
	}
	t.Fatalf("node %d publishes no driver address", i)
	return ""
}

// A partition lets each side take a name once; when it heals, the older
// actor keeps the name on every node and the younger one is killed for
// good (its creator's handle fails). The daemons run in network
// namespaces so that the partition is real (root only).
func TestNamePartitionThenHeal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes and partitions them")
	}
	c := testutil.NewCluster(t, 3, testutil.InNetns())
	bin := testutil.BuildBinary(t, "github.com/goray/goray/runtime/remote/testdata/names")
	ids := []string{c.NodeID(0), c.NodeID(1), c.NodeID(2)}
	d0 := startNamesDriverAt(t, bin, driverSocket(t, c, 0), 0)
	d2 := startNamesDriverAt(t, bin, driverSocket(t, c, 2), 2)

	c.Partition(2)
	testutil.WaitFor(t, 20*time.Second, func() bool {
		return c.StateOf(0, ids[2]) == "dead" && c.StateOf(1, ids[2]) == "dead" &&
			c.StateOf(2, ids[0]) == "dead" && c.StateOf(2, ids[1]) == "dead"
	}, "both sides of the partition see the other as dead")
	// Each side takes the name once: node 0's side first, so its actor
	// is the older one.
	var a string
	testutil.WaitFor(t, 20*time.Second, func() bool {
		a = d0.do("create split " + ids[0])
		return a != "exists"
	}, "the majority side takes the name")
	if a != "ok "+ids[0] {
		t.Fatalf("create on the majority side: %q", a)
	}
	var b string
	testutil.WaitFor(t, 20*time.Second, func() bool {
		b = d2.do("create split " + ids[2])
		return b != "exists"
	}, "the isolated side takes the name too")
	if b != "ok "+ids[2] {
		t.Fatalf("create on the isolated side: %q", b)
	}
	if got := d2.do("create split " + ids[2]); got != "exists" {
		t.Fatalf("a second creation on the isolated side: %q, want exists", got)
	}

	c.Heal(2)
	testutil.WaitFor(t, 30*time.Second, func() bool {
		for i := range 3 {
			for _, id := range ids {
				if c.StateOf(i, id) != "alive" {
					return false
				}
			}
		}
		return true
	}, "the views merged after healing")
	// The younger actor (node 2's) is killed; the name resolves to the
	// older one from both sides.
	testutil.WaitFor(t, 30*time.Second, func() bool {
		return strings.HasPrefix(d2.do("call split"), "error ")
	}, "the younger duplicate killed after the heal")
	for _, d := range []*namesDriver{d0, d2} {
		if got := d.do("get split"); got != "found "+ids[0] {
			t.Fatalf("get split from node %s after the heal: %q, want the older actor on node 0", d.node, got)
		}
	}
	if got := d0.do("call split"); got != "ok "+ids[0] {
		t.Fatalf("the older actor after the heal: %q", got)
	}
}

package remote_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
)

// A driver built on its own connects to node 0 of a 3-node gorayd cluster
// by the daemon's HTTP address. Its SPREAD tasks run on all three nodes
// (in workers of the driver's program, which no daemon was started with),
// a hard NodeAffinity task runs on the node it names, and a 16 MiB
// argument reaches that node and comes back byte-identical (by sha256).
// An actor placed on node 1 is called from the driver and from a task on
// node 2 that was passed its handle. A STRICT_SPREAD placement group of
// three bundles puts one on each node, and one of four waits. A 64 MiB
// object put by the driver reaches a task on node 2 through a nested ref,
// pulled from node 0, byte-identical.
func TestThreeNodeFanOutAndAffinity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes")
	}
	c := testutil.NewCluster(t, 3)
	driver := testutil.BuildBinary(t, "github.com/goray/goray/runtime/remote/testdata/fanout")
	ids := []string{c.NodeID(0), c.NodeID(1), c.NodeID(2)}
	for i, id := range ids {
		if id == "" {
			t.Fatalf("node %d has no ID", i)
		}
	}
	// Resource broadcasts must have reached node 0 before it places work
	// on the others.
	testutil.WaitFor(t, 15*time.Second, func() bool { return c.CountState(0, "alive") == 3 }, "every node alive on node 0")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, driver, ids[2], ids[1])
	cmd.Env = append(os.Environ(), "GORAY_ADDRESS="+c.HTTP(0))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("driver: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			got[k] = v
		}
	}
	t.Logf("driver output:\n%s", out)
	if got["driver_node"] != ids[0] {
		t.Errorf("driver connected to %q, want node 0 %q", got["driver_node"], ids[0])
	}
	spread := strings.Split(got["spread_nodes"], ",")
	for _, id := range ids {
		found := false
		for _, s := range spread {
			found = found || s == id
		}
		if !found {
			t.Errorf("no SPREAD task ran on node %s; tasks ran on %v", id, spread)
		}
	}
	if got["affinity_node"] != ids[2] {
		t.Errorf("NodeAffinity(node 2) task ran on %q, want %q", got["affinity_node"], ids[2])
	}
	// The actor lives on node 1: the driver's calls (from node 0) and a
	// task's call from node 2 reach it, in order.
	if want := "10@" + ids[1]; got["actor_local_calls"] != want {
		t.Errorf("actor calls from the driver: %q, want %q", got["actor_local_calls"], want)
	}
	if want := ids[2] + ">110@" + ids[1]; got["actor_task_call"] != want {
		t.Errorf("actor call from a task on node 2: %q, want %q", got["actor_task_call"], want)
	}
	pgNodes := strings.Split(got["pg_nodes"], ",")
	slices.Sort(pgNodes)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(pgNodes, want) {
		t.Errorf("STRICT_SPREAD bundles' tasks ran on %v, want one on each of %v", pgNodes, want)
	}
	if got["pg4_ready"] != "false" {
		t.Errorf("4-bundle STRICT_SPREAD over 3 nodes: ready=%q, want it to wait", got["pg4_ready"])
	}
	pnode, psum, _ := strings.Cut(got["pull_result"], ":")
	if pnode != ids[2] || psum != got["pull_want"] || psum == "" {
		t.Errorf("64 MiB object pulled by node 2: ran on %q with sha256 %q; want %q and %q", pnode, psum, ids[2], got["pull_want"])
	}
	node, sum, _ := strings.Cut(got["big_result"], ":")
	if node != ids[2] || sum != got["big_want"] || sum == "" {
		t.Errorf("16 MiB argument: ran on %q with sha256 %q; want %q and %q", node, sum, ids[2], got["big_want"])
	}
}

// SIGKILL a node mid-job: the tasks it ran are retried (MaxRetries) and
// complete elsewhere, and the actor that lived there restarts on another
// node (MaxRestarts) with the driver's handle still valid.
func TestNodeKilledMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes")
	}
	c := testutil.NewCluster(t, 3)
	driver := testutil.BuildBinary(t, "github.com/goray/goray/runtime/remote/testdata/failover")
	victim := c.NodeID(2)
	testutil.WaitFor(t, 15*time.Second, func() bool { return c.CountState(0, "alive") == 3 }, "every node alive on node 0")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	d := testutil.StartDriver(ctx, t, driver, c.HTTP(0), victim)
	got := map[string]string{}
	sc := d.Stdout
	for sc.Scan() {
		line := sc.Text()
		t.Log("driver: " + line)
		if line == "ready" {
			c.Kill(2)
			_ = d.Send("go")
			continue
		}
		if k, v, ok := strings.Cut(line, " "); ok {
			got[k] = v
		}
	}
	if err := d.Wait(); err != nil {
		t.Fatalf("driver: %v\n%s", err, d.Stderr())
	}
	if got["actor_before"] != "1@"+victim {
		t.Errorf("actor before the failure: %q, want it on the victim %s", got["actor_before"], victim)
	}
	for _, n := range strings.Split(got["tasks_after"], ",") {
		if n == victim || n == "" {
			t.Errorf("tasks finished on %q; none may finish on the killed node", got["tasks_after"])
		}
	}
	after, node, _ := strings.Cut(got["actor_after"], "@")
	if after != "1" || node == victim || node == "" {
		t.Errorf("actor after the failure: %q, want a fresh instance (count 1) on a live node", got["actor_after"])
	}
}

package ppo

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
)

// iterLine is one "iter" line of the clusterppo driver.
type iterLine struct {
	iter, healthy, restarts, steps int
	secs                           float64
	nodes                          []string
}

func parseIter(t *testing.T, line string) iterLine {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 7 || f[0] != "iter" {
		t.Fatalf("driver line %q: want iter <n> <healthy> <restarts> <steps> <secs> <nodes>", line)
	}
	var l iterLine
	var err error
	for i, p := range []*int{&l.iter, &l.healthy, &l.restarts, &l.steps} {
		if *p, err = strconv.Atoi(f[i+1]); err != nil {
			t.Fatalf("driver line %q: %v", line, err)
		}
	}
	if l.secs, err = strconv.ParseFloat(f[5], 64); err != nil {
		t.Fatalf("driver line %q: %v", line, err)
	}
	l.nodes = strings.Split(f[6], ",")
	return l
}

// distinct returns the sorted distinct entries of s.
func distinct(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestPPOSurvivesNodeKilledOnThreeNodeCluster is acceptance 3 of the
// rllib issue: a driver built on its own connects to node 0 of a 3-node
// gorayd cluster (2 CPUs each) and trains PPO on CartPole-v1 with 6
// rollout workers placed through a SPREAD placement group, so they span
// all three nodes. After iteration 2 the test SIGKILLs a node other than
// the driver's that hosts workers and lets the driver train on at once,
// before the membership has declared the node dead: the group's bundles on the dead node are placed again
// on the survivors, the dead workers are recreated there
// (recreate_failed_workers), num_remote_worker_restarts counts them, all 6
// are healthy again and they span the two surviving nodes.
func TestPPOSurvivesNodeKilledOnThreeNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes")
	}
	t0 := time.Now()
	c := testutil.NewCluster(t, 3)
	driver := testutil.BuildBinary(t, "github.com/goray/goray/libs/rllib/ppo/testdata/clusterppo")
	ids := []string{c.NodeID(0), c.NodeID(1), c.NodeID(2)}
	// Resource broadcasts must have reached node 0 before it places the
	// group over the others.
	testutil.WaitFor(t, 15*time.Second, func() bool { return c.CountState(0, "alive") == 3 }, "every node alive on node 0")
	tStart := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	d := testutil.StartDriver(ctx, t, driver, c.HTTP(0))
	var iters []iterLine
	victim := -1
	var tKill, tBack, tIter3 time.Time
	sc := d.Stdout
	for sc.Scan() {
		line := sc.Text()
		t.Log("driver: " + line)
		switch {
		case strings.HasPrefix(line, "driver_node "):
			if got := strings.TrimPrefix(line, "driver_node "); got != ids[0] {
				t.Errorf("driver connected to %q, want node 0 %q", got, ids[0])
			}
		case strings.HasPrefix(line, "iter "):
			iters = append(iters, parseIter(t, line))
			if len(iters) == 3 {
				tIter3 = time.Now()
			}
		case line == "ready":
			if len(iters) != 2 {
				t.Fatalf("ready after %d iterations, want 2", len(iters))
			}
			before := iters[1]
			if got := distinct(before.nodes); len(got) != 3 {
				t.Fatalf("before the failure the 6 workers run on %v, want all 3 nodes %v", before.nodes, ids)
			}
			// Kill the non-driver node with the most workers.
			best := 0
			for i := 1; i < 3; i++ {
				if k := countOf(before.nodes, ids[i]); k > best {
					victim, best = i, k
				}
			}
			t.Logf("killing node %d (%s), which hosts %d workers", victim, ids[victim], best)
			tKill = time.Now()
			c.Kill(victim)
			// No waiting for the membership to declare it dead: the
			// driver's next calls hit the dead node at once.
			tBack = time.Now()
			if err := d.Send("go"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := d.Wait(); err != nil {
		t.Fatalf("driver: %v\n%s", err, d.Stderr())
	}
	t.Logf("cluster up %v, training %v, kill to iteration 6 %v (total %v)", tStart.Sub(t0).Round(time.Millisecond),
		time.Since(tStart).Round(time.Millisecond), time.Since(tKill).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	if len(iters) != 6 {
		t.Fatalf("driver reported %d iterations, want 6\n%s", len(iters), d.Stderr())
	}
	if victim < 0 {
		t.Fatal("the driver never said ready")
	}
	for i, it := range iters {
		if it.iter != i+1 {
			t.Errorf("line %d reports training_iteration %d", i, it.iter)
		}
		if it.steps < 600*(i+1) {
			t.Errorf("iteration %d: timesteps_total %d, want at least %d", i+1, it.steps, 600*(i+1))
		}
		if i < 2 && it.restarts != 0 {
			t.Errorf("iteration %d, before the failure: num_remote_worker_restarts = %d, want 0", i+1, it.restarts)
		}
	}
	after := iters[2]
	t.Logf("iteration 3, the one that recreated the workers, took %.3fs (%v after the driver was told to go on)", after.secs, tIter3.Sub(tBack).Round(time.Millisecond))
	last := iters[5]
	if want := countOf(iters[1].nodes, ids[victim]); last.restarts < 1 || last.restarts < want {
		t.Errorf("final num_remote_worker_restarts = %d, want at least %d (the workers of the killed node)", last.restarts, want)
	}
	if last.healthy != 6 {
		t.Errorf("final num_healthy_workers = %d, want 6", last.healthy)
	}
	survivors := []string{ids[0], ids[3-victim]}
	slices.Sort(survivors)
	if got := distinct(last.nodes); !slices.Equal(got, survivors) {
		t.Errorf("after the failure the workers run on %v, want them spread over the survivors %v", last.nodes, survivors)
	}
	// The driver's Stop removed the group: each survivor gets all its
	// CPUs back, also those of the bundles placed again on it (held under
	// a reservation ID of their own).
	for _, i := range []int{0, 3 - victim} {
		testutil.WaitFor(t, 15*time.Second, func() bool { return selfCPU(c, i) == 2 }, "node "+strconv.Itoa(i)+" has its 2 CPUs back")
	}
}

// selfCPU is the CPU node i reports free for itself (-1 if it does not
// answer).
func selfCPU(c *testutil.Cluster, i int) float64 {
	for _, m := range c.Members(i) {
		if m.IsSelf {
			return m.ResourcesAvailable["CPU"]
		}
	}
	return -1
}

func countOf(s []string, x string) int {
	k := 0
	for _, v := range s {
		if v == x {
			k++
		}
	}
	return k
}

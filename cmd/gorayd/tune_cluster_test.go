package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/libs/tune"
	"github.com/goray/goray/runtime/jobs"
)

// tuneCourseJob is the course's scenario (examples/tune-ppo-cartpole) cut
// to a size that trains in seconds: the 2×3 grid over lr and fcnet_hiddens
// on CartPole-v1, two iterations of 400 steps per trial, no rollout
// workers (a trial holds one CPU), placed with SPREAD.
const tuneCourseJob = `version = 1
name = "tune-ppo-cartpole-cluster"

[tune]
trainable = "PPO"
metric = "episode_reward_mean"
mode = "max"
spread = true
stop = { training_iteration = 2 }

[tune.param_space]
env = "CartPole-v1"
num_rollout_workers = 0
train_batch_size = 400
sgd_minibatch_size = 64
num_sgd_iter = 2
seed = 7
lr = { grid_search = [1e-3, 1e-4] }
fcnet_hiddens = { grid_search = [[16], [32], [16, 16]] }
`

// Issue 7, acceptance 1: a [tune] job submitted to one node of a 3-node
// cluster of real gorayd processes runs its six PPO trials as actors on
// all three nodes. The job succeeds, every grid point terminates after two
// iterations, the trials' recorded locations (experiment state, the
// node_ip key of every result.json line, `goray tune results`) cover the
// three node IDs, and the driver's log shows the live table with its loc
// column naming them.
func TestTuneGridSpreadsOverThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes and trains six PPO agents")
	}
	start := time.Now()
	c := testutil.NewCluster(t, 3, testutil.WithArgs(func(int) []string { return []string{"-worker.prestart", "-1"} }))
	ids := []string{c.NodeID(0), c.NodeID(1), c.NodeID(2)}
	for i, id := range ids {
		if id == "" {
			t.Fatalf("node %d has no ID", i)
		}
	}
	// The tuner's capacity is the cluster's total and SPREAD places on the
	// peers node 0 knows: wait until node 0 has every peer's broadcast.
	testutil.WaitFor(t, 15*time.Second, func() bool { return tuneAvailCPU(c, 0) == 6 }, "node 0 sees 6 CPUs available in the cluster")
	t.Logf("cluster up in %v", time.Since(start).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jc := client(t, c, 0, "")
	spec, err := jobs.LoadFile(writeJob(t, tuneCourseJob))
	if err != nil {
		t.Fatal(err)
	}
	submitted := time.Now()
	info, err := jc.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tune job log:\n%s", logs(t, jc, info.ID))
		}
	})
	info = waitState(t, jc, info.ID, jobs.Succeeded, 90*time.Second)
	t.Logf("job SUCCEEDED %v after submit", time.Since(submitted).Round(time.Millisecond))
	if info.OutputDir == "" {
		t.Fatalf("job record %+v has no output_dir", info)
	}

	// The experiment directory: six terminated trials, two iterations
	// each, every grid point once, and their nodes cover the cluster.
	grid, err := tune.LoadResults(info.OutputDir)
	if err != nil {
		t.Fatal(err)
	}
	if grid.Len() != 6 || grid.NumTerminated() != 6 {
		t.Fatalf("%d trials, %d terminated; want the 2x3 grid all TERMINATED", grid.Len(), grid.NumTerminated())
	}
	points := map[string]bool{}
	perNode := map[string]int{}
	for _, r := range grid.Results {
		hidden, _ := r.Params.Get("fcnet_hiddens")
		points[fmt.Sprint(r.Params["lr"], hidden)] = true
		if it := r.Metrics.Iteration(); it != 2 {
			t.Errorf("%s ended at iteration %d, want 2", r.Name, it)
		}
		if !slices.Contains(ids, r.Location) {
			t.Errorf("%s: location %q is none of the cluster's nodes %v", r.Name, r.Location, ids)
		}
		perNode[r.Location]++
		// Every result line records the node it was produced on.
		for i, line := range tuneResultLines(t, filepath.Join(r.Path, tune.ResultFile)) {
			if got, _ := line[tune.KeyNodeIP].(string); got != r.Location {
				t.Errorf("%s result %d: %s = %q, want the trial's node %q", r.Name, i+1, tune.KeyNodeIP, got, r.Location)
			}
		}
	}
	if len(points) != 6 {
		t.Errorf("%d distinct (lr, fcnet_hiddens) points, want 6: %v", len(points), points)
	}
	for i, id := range ids {
		if perNode[id] == 0 {
			t.Errorf("no trial ran on node %d (%s); trials per node: %v", i, id, perNode)
		}
	}
	t.Logf("trials per node: %v", perNode)

	// The driver's log: the live table (appended, not redrawn, since the
	// log is no terminal) has the loc column, and its rows name the nodes.
	log := logs(t, jc, info.ID)
	if !strings.Contains(log, "== Status ==") {
		t.Fatalf("driver log has no live table:\n%s", log)
	}
	if strings.Contains(log, "\x1b[") {
		t.Errorf("driver log has terminal escapes; a log is not a terminal")
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "Logical resource usage:") {
			// The tuner's capacity (docs/tune.md, known gap: the
			// driver's node only, not the cluster's total).
			t.Logf("driver's table: %s", l)
			break
		}
	}
	tableNodes := map[string]bool{}
	inTable := false
	for _, l := range strings.Split(log, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "Trial" && f[1] == "name" && f[2] == "status":
			if len(f) < 4 || f[3] != "loc" {
				t.Errorf("table header %q: want the loc column after status", l)
			}
			inTable = true
		case len(f) == 0:
			inTable = false
		case inTable && len(f) >= 3 && (f[1] == string(tune.Running) || f[1] == string(tune.Terminated)):
			if slices.Contains(ids, f[2]) {
				tableNodes[f[2]] = true
			}
		}
	}
	if len(tableNodes) != 3 {
		t.Errorf("the driver's tables name nodes %v in the loc column, want all of %v", tableNodes, ids)
	}

	// `goray tune results DIR` prints the same locations, as a table and
	// as JSON.
	out, code := goray(t, ctx, "tune", "results", info.OutputDir)
	if code != 0 {
		t.Fatalf("goray tune results exit %d:\n%s", code, out)
	}
	for _, id := range ids {
		if !strings.Contains(out, id) {
			t.Errorf("goray tune results does not show node %s:\n%s", id, out)
		}
	}
	out, code = goray(t, ctx, "tune", "results", "--json", info.OutputDir)
	if code != 0 {
		t.Fatalf("goray tune results --json exit %d:\n%s", code, out)
	}
	var js struct {
		Trials []struct {
			Name     string `json:"name"`
			Location string `json:"location"`
		} `json:"trials"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("goray tune results --json: %v\n%s", err, out)
	}
	jsonNodes := map[string]int{}
	for _, tr := range js.Trials {
		jsonNodes[tr.Location]++
	}
	if len(js.Trials) != 6 || len(jsonNodes) != 3 {
		t.Errorf("--json: %d trials on nodes %v, want 6 over the 3 nodes", len(js.Trials), jsonNodes)
	}
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

// tuneAvailCPU is the CPU that node i's /v1/nodes lists as available on its
// alive members (its peers' from their resource broadcasts).
func tuneAvailCPU(c *testutil.Cluster, i int) float64 {
	total := 0.0
	for _, m := range c.Members(i) {
		if m.State == "alive" {
			total += m.ResourcesAvailable["CPU"]
		}
	}
	return total
}

// tuneResultLines decodes a trial's result.json, one JSON object per line.
func tuneResultLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no results", path)
	}
	return out
}

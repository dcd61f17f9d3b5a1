package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/dashboard/dashboardtest"
	"github.com/goray/goray/runtime/jobs"
	"github.com/goray/goray/runtime/state"
)

// tinyRLlibJob trains a tiny PPO on FrozenLake in iterations of 400 steps
// for 3 seconds. Three iterations take a fifth of a second here, too fast
// to see the job RUNNING or its counters move, so it stops on time, not on
// an iteration count: however fast the machine, it runs long enough to be
// watched and ends on its own.
const tinyRLlibJob = `name = "tiny-ppo"
[rllib]
algorithm = "PPO"
env = "FrozenLake-v1"
num_rollout_workers = 1
num_envs_per_worker = 1
train_batch_size = 400
sgd_minibatch_size = 64
num_sgd_iter = 2
[rllib.model]
fcnet_hiddens = [16, 16]
[rllib.stop]
time_total_s = 3
`

// tinyTuneJob is a grid of two tiny PPO trials of three iterations.
const tinyTuneJob = `version = 1
name = "tiny-tune"
[tune]
trainable = "PPO"
metric = "episode_reward_mean"
mode = "max"
stop = { training_iteration = 3 }
[tune.param_space]
env = "FrozenLake-v1"
num_rollout_workers = 0
train_batch_size = 400
sgd_minibatch_size = 64
num_sgd_iter = 2
fcnet_hiddens = [16, 16]
lr = { grid_search = [1e-3, 1e-2] }
`

// httpGet fetches path from node i with tok (none when empty) and returns
// the status code and body.
func httpGet(t *testing.T, ctx context.Context, c *testutil.Cluster, i int, path, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.HTTP(i)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s on node%d: %v", path, i, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s on node%d: %v", path, i, err)
	}
	return resp.StatusCode, string(b)
}

// getJSON fetches an API path with the token and decodes it, failing the
// test on anything but 200.
func getJSON[T any](t *testing.T, ctx context.Context, c *testutil.Cluster, i int, path string) T {
	t.Helper()
	var v T
	code, body := httpGet(t, ctx, c, i, path, testToken)
	if code != http.StatusOK {
		t.Fatalf("GET %s on node%d: %d %s", path, i, code, body)
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("GET %s on node%d: %v in %.300q", path, i, err, body)
	}
	return v
}

// scrape returns node i's /metrics text (no token: scrapers have none).
func scrape(t *testing.T, ctx context.Context, c *testutil.Cluster, i int) string {
	t.Helper()
	code, body := httpGet(t, ctx, c, i, "/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics on node%d: %d %.200q", i, code, body)
	}
	return body
}

// metricValue is the value of the series of name whose labels include
// every one of labels, from Prometheus' text format; -1 when absent.
func metricValue(text, name string, labels ...string) float64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		series, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(series, l) {
				continue next
			}
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			return v
		}
	}
	return -1
}

// TestObservabilityOnTwoNodeCluster runs a tiny RLlib job on a cluster of
// two real gorayd processes and checks every state API endpoint, the
// metrics moving while the job runs, and (where Chromium is installed) the
// dashboard as a user sees it.
func TestObservabilityOnTwoNodeCluster(t *testing.T) {
	c := testutil.NewCluster(t, 2, testutil.WithToken(testToken),
		testutil.WithArgs(func(int) []string { return []string{"-worker.prestart", "-1"} }))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ids := []string{c.NodeID(0), c.NodeID(1)}

	t.Run("token", func(t *testing.T) {
		for _, p := range []string{"/api/v0/nodes", "/api/v0/jobs", "/api/v0/actors", "/api/v0/tasks", "/api/v0/tasks/summary",
			"/api/v0/placement_groups", "/api/v0/objects", "/api/v0/trials", "/api/v0/curves/x", "/api/v0/logs?job=x", "/api/v0/events"} {
			if code, _ := httpGet(t, ctx, c, 1, p, ""); code != http.StatusUnauthorized {
				t.Errorf("%s without the token: %d, want 401", p, code)
			}
			if code, _ := httpGet(t, ctx, c, 1, p, "wrong"); code != http.StatusUnauthorized {
				t.Errorf("%s with a wrong token: %d, want 401", p, code)
			}
		}
		// The page and the metrics need none.
		if code, body := httpGet(t, ctx, c, 0, "/", ""); code != http.StatusOK || !strings.Contains(body, "<html") {
			t.Errorf("/ without the token: %d %.100q", code, body)
		}
		if code, _ := httpGet(t, ctx, c, 0, "/style.css", ""); code != http.StatusOK {
			t.Errorf("/style.css without the token: %d", code)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		// Each daemon lists every member, with the host figures its peer
		// publishes.
		for i := range 2 {
			var nodes state.ListResponse[state.NodeState]
			testutil.WaitFor(t, 15*time.Second, func() bool {
				nodes = getJSON[state.ListResponse[state.NodeState]](t, ctx, c, i, "/api/v0/nodes")
				if nodes.Total != 2 {
					return false
				}
				for _, n := range nodes.Items {
					if n.State != state.NodeAlive || n.MemoryTotal <= 0 || n.ObjectStoreLimit != 256<<20 {
						return false
					}
				}
				return true
			}, fmt.Sprintf("node%d lists both nodes alive with host and store figures", i))
			heads := 0
			for k, n := range nodes.Items {
				if n.ID != ids[0] && n.ID != ids[1] || n.Name != fmt.Sprintf("node%d", k) || n.ResourcesTotal["CPU"] != 2 {
					t.Errorf("node%d lists %+v", i, n)
				}
				if n.IsHead {
					heads++
				}
			}
			if heads != 1 {
				t.Errorf("node%d: %d heads, want node0 alone", i, heads)
			}
		}
		one := getJSON[state.ListResponse[state.NodeState]](t, ctx, c, 0, "/api/v0/nodes?name=node1")
		if one.Total != 1 || one.Items[0].ID != ids[1] {
			t.Errorf("nodes?name=node1: %+v", one)
		}
		if code, body := httpGet(t, ctx, c, 0, "/api/v0/nodes?colour=red", testToken); code != http.StatusBadRequest || !strings.Contains(body, "colour") {
			t.Errorf("unknown filter: %d %s", code, body)
		}
	})

	before := scrape(t, ctx, c, 0)
	for _, s := range []string{"RUNNING", "SUCCEEDED"} {
		if v := metricValue(before, "goray_jobs", `state="`+s+`"`); v != 0 {
			t.Errorf("goray_jobs{state=%s} before the job: %v", s, v)
		}
	}
	if v := metricValue(before, "goray_rllib_env_steps_total"); v != 0 {
		t.Errorf("env steps before the job: %v", v)
	}
	if v := metricValue(before, "goray_gossip_members", `state="alive"`); v != 2 {
		t.Errorf("gossip members alive: %v, want 2", v)
	}
	if v := metricValue(before, "goray_resources_total", `resource="CPU"`); v != 2 {
		t.Errorf("CPU total: %v, want 2", v)
	}

	jc := client(t, c, 0, testToken)
	spec, err := jobs.LoadFile(writeJob(t, tinyRLlibJob))
	if err != nil {
		t.Fatal(err)
	}
	var b *dashboardtest.Browser
	if _, err := os.Stat(dashboardtest.ChromiumPath); err == nil {
		b = dashboardtest.New(t, "gorayd", 90*time.Second)
		b.Step("load the page and give the token", chromedp.Navigate(c.HTTP(0)+"/#/cluster"),
			chromedp.WaitVisible(`[data-testid="token-form"]`),
			chromedp.SendKeys(`#token-input`, testToken),
			chromedp.Click(`#token-form button`))
		b.Step("see both nodes", dashboardtest.Poll(`document.querySelectorAll('[data-testid="node-row"][data-state="ALIVE"]').length === 2`, 15*time.Second))
		for _, id := range ids {
			if got := b.Eval(fmt.Sprintf(`String(!!document.querySelector('[data-testid="node-row"][data-node-id="%s"]'))`, id)); got != "true" {
				t.Errorf("no row for node %s", id)
			}
		}
		b.Step("live updates connected", dashboardtest.Poll(`document.getElementById('live').textContent === 'live'`, 10*time.Second))
		b.Shot("cluster.png")
		b.Step("open jobs", chromedp.Click(`[data-testid="tab-jobs"]`),
			dashboardtest.Poll(`!!document.querySelector('[data-testid="jobs-pager"]')`, 10*time.Second))
	} else {
		t.Logf("no browser part: %v", err)
	}

	info, err := jc.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			cur, _ := jc.Get(context.Background(), info.ID, false)
			t.Logf("job %+v; log:\n%s", cur, logs(t, jc, info.ID))
		}
	})
	if b != nil {
		b.Step("see the job running", dashboardtest.Poll(fmt.Sprintf(
			`document.querySelector('[data-testid="job-row"][data-job-id="%s"]')?.dataset.state === 'RUNNING'`, info.ID), 20*time.Second))
	}
	// While it runs, /metrics counts it running and its env steps move.
	var during float64
	testutil.WaitFor(t, 30*time.Second, func() bool {
		m := scrape(t, ctx, c, 0)
		during = metricValue(m, "goray_rllib_env_steps_total")
		return metricValue(m, "goray_jobs", `state="RUNNING"`) == 1 && during > 0
	}, "/metrics: the job running and env steps counted")
	if b != nil {
		b.Step("see the job succeed", dashboardtest.Poll(fmt.Sprintf(
			`document.querySelector('[data-testid="job-row"][data-job-id="%s"]')?.dataset.state === 'SUCCEEDED'`, info.ID), 90*time.Second))
		b.Shot("jobs.png")
	}
	info = waitState(t, jc, info.ID, jobs.Succeeded, 90*time.Second)

	// One curve point per iteration the job reported (FrozenLake's
	// episodes end within 100 steps, so every iteration has a reward).
	iters := info.Progress.Iteration
	if iters < 3 {
		t.Fatalf("the job ran %d iterations in 3 s; want at least 3", iters)
	}
	var curve state.CurveResponse
	testutil.WaitFor(t, 10*time.Second, func() bool {
		curve = getJSON[state.CurveResponse](t, ctx, c, 0, "/api/v0/curves/"+info.ID)
		return len(curve.Points) == iters
	}, fmt.Sprintf("the learning curve has all %d iterations", iters))
	for k, p := range curve.Points {
		if p.Iteration != k+1 || p.Trial != "" || p.Timesteps != int64(400*(k+1)) || p.Reward < 0 || p.Reward > 1 {
			t.Errorf("curve point %d: %+v", k, p)
		}
	}
	steps := curve.Points[iters-1].Timesteps
	if float64(steps) <= during {
		t.Errorf("env steps %v while running, %d at the end: want them to have moved", during, steps)
	}

	t.Run("metrics after the job", func(t *testing.T) {
		testutil.WaitFor(t, 10*time.Second, func() bool {
			m := scrape(t, ctx, c, 0)
			return metricValue(m, "goray_jobs", `state="SUCCEEDED"`) == 1 && metricValue(m, "goray_jobs", `state="RUNNING"`) == 0 &&
				metricValue(m, "goray_rllib_env_steps_total") == float64(steps) && metricValue(m, "goray_rllib_learner_samples_total") == float64(steps)
		}, fmt.Sprintf("/metrics: one job SUCCEEDED, %d env steps and learner samples", steps))
		// node1 ran no job: its counters stay put.
		m1 := scrape(t, ctx, c, 1)
		if v := metricValue(m1, "goray_jobs", `state="SUCCEEDED"`); v != 0 {
			t.Errorf("node1 goray_jobs{SUCCEEDED} %v, want 0", v)
		}
		if v := metricValue(m1, "goray_object_store_bytes"); v < 0 {
			t.Errorf("node1 has no goray_object_store_bytes")
		}
	})

	t.Run("jobs and logs", func(t *testing.T) {
		js := getJSON[state.ListResponse[state.JobState]](t, ctx, c, 0, "/api/v0/jobs")
		if js.Total != 1 || js.Items[0].ID != info.ID || js.Items[0].State != jobs.Succeeded || js.Items[0].Kind != "rllib" {
			t.Errorf("node0 jobs %+v", js)
		}
		if js := getJSON[state.ListResponse[state.JobState]](t, ctx, c, 0, "/api/v0/jobs?status=RUNNING"); js.Total != 0 {
			t.Errorf("jobs?status=RUNNING: %+v", js)
		}
		// The list is the cluster's (as `ray list jobs`): node1 shows
		// node0's job, marked with node0, once it has fetched its peers.
		var on1 state.ListResponse[state.JobState]
		testutil.WaitFor(t, 15*time.Second, func() bool {
			on1 = getJSON[state.ListResponse[state.JobState]](t, ctx, c, 1, "/api/v0/jobs")
			return on1.Total == 1
		}, "node0's job listed by node1")
		if on1.Items[0].ID != info.ID || on1.Items[0].NodeID != c.NodeID(0) {
			t.Errorf("node1 lists %+v, want job %s on node0 %s", on1.Items[0], info.ID, c.NodeID(0))
		}
		code, body := httpGet(t, ctx, c, 0, "/api/v0/logs?job="+info.ID, testToken)
		if code != http.StatusOK || body != logs(t, jc, info.ID) || !strings.Contains(body, fmt.Sprintf("iteration %d: timesteps_total=%d", iters, steps)) {
			t.Errorf("job log via the state API: %d %.300q", code, body)
		}
		// Each daemon serves its own log (INFO and above).
		if code, body := httpGet(t, ctx, c, 1, "/api/v0/logs?node="+ids[1], testToken); code != http.StatusOK || !strings.Contains(body, "msg=\"gorayd started\"") {
			t.Errorf("node1's log: %d %.300q", code, body)
		}
		// Any daemon serves any node's log: node0 passes the request to node1.
		if code, body := httpGet(t, ctx, c, 0, "/api/v0/logs?node="+ids[1], testToken); code != http.StatusOK || !strings.Contains(body, "node="+c.Nodes[1].Name) {
			t.Errorf("node1's log through node0: %d %.300q", code, body)
		}
		if code, _ := httpGet(t, ctx, c, 0, "/api/v0/logs?job=goraysubmit_nosuchjob", testToken); code != http.StatusNotFound {
			t.Errorf("unknown job's log: %d, want 404", code)
		}
		if code, body := httpGet(t, ctx, c, 0, "/api/v0/curves/"+info.ID+"?max_points=2", testToken); code != http.StatusOK || strings.Count(body, `"iteration"`) != 2 {
			t.Errorf("downsampled curve: %d %s", code, body)
		}
	})

	t.Run("other lists", func(t *testing.T) {
		// The engine does not publish tasks, actors and placement groups to
		// the daemon yet: the endpoints answer, with empty pages.
		for _, p := range []string{"/api/v0/actors", "/api/v0/tasks", "/api/v0/placement_groups", "/api/v0/trials", "/api/v0/objects"} {
			l := getJSON[state.ListResponse[json.RawMessage]](t, ctx, c, 0, p+"?limit=5")
			if l.Limit != 5 || l.Items == nil || l.Total != len(l.Items) && l.Total < 5 {
				t.Errorf("%s: %+v", p, l)
			}
		}
		s := getJSON[state.TaskSummary](t, ctx, c, 0, "/api/v0/tasks/summary")
		if s.ByState == nil || s.Failures == nil {
			t.Errorf("task summary %+v", s)
		}
		if code, _ := httpGet(t, ctx, c, 0, "/api/v0/nothing", testToken); code != http.StatusNotFound {
			t.Errorf("unknown endpoint: %d", code)
		}
	})

	t.Run("events", func(t *testing.T) {
		ectx, ecancel := context.WithTimeout(ctx, 5*time.Second)
		defer ecancel()
		req, _ := http.NewRequestWithContext(ectx, http.MethodGet, c.HTTP(1)+"/api/v0/events", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var lines []string
		for sc.Scan() && len(lines) < 3 {
			lines = append(lines, sc.Text())
		}
		if resp.Header.Get("Content-Type") != "text/event-stream" || len(lines) < 3 || lines[1] != "event: state" || !strings.HasPrefix(lines[2], "data: {\"version\":") {
			t.Errorf("events: %s %q", resp.Header.Get("Content-Type"), lines)
		}
	})

	t.Run("goray list and logs", func(t *testing.T) {
		out, code := goray(t, ctx, "list", "nodes", "--address", addr(c, 1), "--token", testToken)
		if code != 0 || !strings.Contains(out, "node0") || !strings.Contains(out, "node1") {
			t.Errorf("goray list nodes on node1 (exit %d):\n%s", code, out)
		}
		out, code = goray(t, ctx, "logs", info.ID, "--address", addr(c, 0), "--token", testToken)
		if code != 0 || out != logs(t, jc, info.ID) {
			t.Errorf("goray logs (exit %d):\n%.300s", code, out)
		}
	})

	if b != nil {
		b.Step("see the learning curve drawn", chromedp.Navigate(c.HTTP(0)+"/#/training?job="+info.ID),
			dashboardtest.Poll(`(() => {
				const svg = document.querySelector('svg[data-testid="learning-curve"]');
				const p = svg && svg.querySelector('path');
				return svg && Number(svg.dataset.points) >= 3 && p && p.getAttribute('d').split('L').length >= 3;
			})()`, 15*time.Second))
		b.Shot("training.png")
		b.Step("follow the job's log link", chromedp.Click(`[data-testid="tab-jobs"]`),
			chromedp.WaitVisible(`[data-testid="job-logs-link"]`),
			chromedp.Click(`[data-testid="job-logs-link"]`),
			dashboardtest.Poll(`location.hash.startsWith('#/logs') && document.querySelector('[data-testid="log-text"]')?.textContent.includes('iteration 3: timesteps_total=')`, 15*time.Second),
			dashboardtest.Poll(`document.querySelector('[data-testid="log-status"]').textContent === 'end of log'`, 15*time.Second))
		want := logs(t, jc, info.ID)
		if got := b.Eval(`document.querySelector('[data-testid="log-text"]').textContent`); got != want {
			t.Errorf("the page shows the log %.200q, want %.200q", got, want)
		}
		b.Shot("logs.png")
	}

	t.Run("tune trials", func(t *testing.T) {
		spec, err := jobs.LoadFile(writeJob(t, tinyTuneJob))
		if err != nil {
			t.Fatal(err)
		}
		ti, err := jc.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("tune job log:\n%s", logs(t, jc, ti.ID))
			}
		})
		waitState(t, jc, ti.ID, jobs.Succeeded, 30*time.Second)
		var trials state.ListResponse[state.TrialState]
		testutil.WaitFor(t, 10*time.Second, func() bool {
			trials = getJSON[state.ListResponse[state.TrialState]](t, ctx, c, 0, "/api/v0/trials?job_id="+ti.ID+"&status=TERMINATED")
			return trials.Total == 2
		}, "two TERMINATED trials")
		lrs := map[float64]bool{}
		for _, tr := range trials.Items {
			lr, _ := tr.Config["lr"].(float64)
			lrs[lr] = true
			// Trials are actors: node_id is the node each ran on.
			if tr.Iteration != 3 || tr.Experiment != "tiny-tune" || tr.Metrics["training_iteration"] != 3 || tr.Node != ids[0] && tr.Node != ids[1] {
				t.Errorf("trial %+v", tr)
			}
		}
		if !lrs[1e-3] || !lrs[1e-2] {
			t.Errorf("trials' lr %v, want the grid 1e-3 and 1e-2", lrs)
		}
		testutil.WaitFor(t, 10*time.Second, func() bool {
			perTrial := map[string]int{}
			for _, p := range getJSON[state.CurveResponse](t, ctx, c, 0, "/api/v0/curves/"+ti.ID).Points {
				perTrial[p.Trial]++
			}
			return len(perTrial) == 2 && perTrial[trials.Items[0].ID] == 3 && perTrial[trials.Items[1].ID] == 3
		}, "three curve points per trial")
		testutil.WaitFor(t, 10*time.Second, func() bool {
			return metricValue(scrape(t, ctx, c, 0), "goray_tune_trials", `state="TERMINATED"`) == 2
		}, "/metrics: two trials TERMINATED")
	})

	t.Run("a node that left", func(t *testing.T) {
		if err := c.Stop(1); err != nil {
			t.Fatalf("stop node1: %v", err)
		}
		testutil.WaitFor(t, 10*time.Second, func() bool {
			l := getJSON[state.ListResponse[state.NodeState]](t, ctx, c, 0, "/api/v0/nodes?state=LEFT")
			return l.Total == 1 && l.Items[0].ID == ids[1]
		}, "node0 lists node1 as LEFT")
		testutil.WaitFor(t, 10*time.Second, func() bool {
			m := scrape(t, ctx, c, 0)
			return metricValue(m, "goray_gossip_members", `state="left"`) == 1 && metricValue(m, "goray_gossip_members", `state="alive"`) == 1
		}, "/metrics: one member alive, one left")
	})
}

package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/jobs"
	"github.com/goray/goray/runtime/state"
)

// get fetches path from the daemon's HTTP port, with the token when tok is
// not empty, and returns the status code and body.
func get(t *testing.T, ctx context.Context, addr, path, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// metric returns the value of the series of name whose labels contain
// every one of labels (`state="RUNNING"`), from Prometheus' text format;
// -1 when there is none.
func metric(text, name string, labels ...string) float64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		series, val, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(series, l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err == nil {
			return v
		}
	}
	return -1
}

// The job pretends to be a training run: it writes result.json lines and
// a Tune experiment into its output dir, and waits for the test's go-ahead
// (a file) in between, so the test sees it RUNNING with one iteration.
const fakeTrainer = `set -e
out="$GORAY_JOB_OUTPUT_DIR"
mkdir -p "$out/trial_0"
echo '{"training_iteration":1,"timesteps_total":400,"episode_reward_mean":null,"num_env_steps_sampled":400,"num_env_steps_trained":400}' >> "$out/result.json"
echo '{"training_iteration":2,"timesteps_total":800,"episode_reward_mean":0.5,"num_env_steps_sampled":800,"num_env_steps_trained":800}' >> "$out/result.json"
echo '{"training_iteration":1,"score":3}' >> "$out/trial_0/result.json"
echo '{"name":"exp","metric":"score","trials":[{"trial_id":"tr_0","logdir":"trial_0","config":{"lr":0.1},"status":"RUNNING","last_result":{"training_iteration":1,"score":3}}]}' > "$out/experiment_state.json.tmp"
mv "$out/experiment_state.json.tmp" "$out/experiment_state.json"
echo "first iteration written"
while [ ! -e "$GO_FILE" ]; do sleep 0.05; done
echo '{"training_iteration":3,"timesteps_total":1200,"episode_reward_mean":0.75,"num_env_steps_sampled":1200,"num_env_steps_trained":1200}' >> "$out/result.json"
echo '{"name":"exp","metric":"score","trials":[{"trial_id":"tr_0","logdir":"trial_0","config":{"lr":0.1},"status":"TERMINATED","last_result":{"training_iteration":1,"score":3}}]}' > "$out/experiment_state.json.tmp"
mv "$out/experiment_state.json.tmp" "$out/experiment_state.json"
echo "done"
`

func TestObservabilityEndpoints(t *testing.T) {
	dir := t.TempDir()
	d := start(t, config(t, dir))
	addr := d.Agent().HTTPAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	// Public: the dashboard's files and /metrics.
	if code, body := get(t, ctx, addr, "/", ""); code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Fatalf("GET / without a token: %d %.200q", code, body)
	}
	if code, body := get(t, ctx, addr, "/app.js", ""); code != http.StatusOK || !strings.Contains(body, "/api/v0/") {
		t.Fatalf("GET /app.js: %d %.100q", code, body)
	}
	// The state API is behind the token; unknown API paths are JSON 404s,
	// not the page.
	if code, _ := get(t, ctx, addr, "/api/v0/nodes", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET /api/v0/nodes without a token: %d", code)
	}
	if code, body := get(t, ctx, addr, "/api/nope", "tok"); code != http.StatusNotFound || !strings.Contains(body, `"error"`) {
		t.Fatalf("GET /api/nope: %d %q", code, body)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool {
		_, body := get(t, ctx, addr, "/metrics", "")
		return metric(body, "goray_gossip_members", `state="alive"`) == 1 &&
			metric(body, "goray_resources_total", `resource="CPU"`) == 2 &&
			metric(body, "goray_jobs", `state="SUCCEEDED"`) == 0
	}, "/metrics shows one alive member, 2 CPUs and no jobs")

	var nodes state.ListResponse[state.NodeState]
	testutil.WaitFor(t, 10*time.Second, func() bool {
		_, body := get(t, ctx, addr, "/api/v0/nodes", "tok")
		if err := json.Unmarshal([]byte(body), &nodes); err != nil {
			t.Fatalf("nodes: %v in %q", err, body)
		}
		return nodes.Total == 1 && nodes.Items[0].MemoryTotal > 0
	}, "the node lists itself with host figures")
	if n := nodes.Items[0]; n.ID != d.Agent().NodeID() || n.State != state.NodeAlive || !n.IsHead ||
		n.ObjectStoreLimit != 64<<20 || n.ResourcesTotal["CPU"] != 2 || n.StartTime.IsZero() {
		t.Errorf("node record %+v", n)
	}

	// The daemon's own log, INFO and above, from before the node had an ID.
	if code, body := get(t, ctx, addr, "/api/v0/logs?node="+d.Agent().NodeID(), "tok"); code != http.StatusOK ||
		!strings.Contains(body, "msg=\"node started\"") || !strings.Contains(body, "msg=\"node ready\"") || strings.Contains(body, "level=DEBUG") {
		t.Errorf("node log: %d %.300q", code, body)
	}

	// A job that writes training results.
	script := filepath.Join(dir, "trainer.sh")
	goFile := filepath.Join(dir, "go")
	if err := os.WriteFile(script, []byte(fakeTrainer), 0o755); err != nil {
		t.Fatal(err)
	}
	spec, err := jobs.Parse("job.toml", filepath.Join(dir, "job.toml"),
		[]byte("name = \"trainer\"\n[entrypoint]\ncommand = \"GO_FILE="+goFile+" sh "+script+"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	jc, err := jobs.NewClient(addr, "tok")
	if err != nil {
		t.Fatal(err)
	}
	info, err := jc.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	curve := func() []state.CurvePoint {
		var cr state.CurveResponse
		_, body := get(t, ctx, addr, "/api/v0/curves/"+info.ID, "tok")
		if err := json.Unmarshal([]byte(body), &cr); err != nil {
			t.Fatalf("curve: %v in %q", err, body)
		}
		return cr.Points
	}
	t.Cleanup(func() {
		if t.Failed() {
			i, _ := jc.Get(context.Background(), info.ID, false)
			_, log := get(t, context.Background(), addr, "/api/v0/logs?job="+info.ID, "tok")
			t.Logf("job %+v\nlog:\n%s", i, log)
		}
	})
	runPoints := func() (n int) {
		for _, p := range curve() {
			if p.Trial == "" {
				n++
			}
		}
		return n
	}
	// The null reward of iteration 1 makes no point.
	testutil.WaitFor(t, 15*time.Second, func() bool { return runPoints() == 1 }, "the curve has iteration 2")
	testutil.WaitFor(t, 10*time.Second, func() bool {
		_, body := get(t, ctx, addr, "/metrics", "")
		return metric(body, "goray_jobs", `state="RUNNING"`) == 1 && metric(body, "goray_rllib_env_steps_total") == 800 &&
			metric(body, "goray_rllib_learner_samples_total") == 800 && metric(body, "goray_tune_trials", `state="RUNNING"`) == 1
	}, "/metrics: one running job, 800 env steps and samples, one running trial")

	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if info, err = d.Jobs().Wait(ctx, info.ID); err != nil || info.State != jobs.Succeeded {
		t.Fatalf("job %+v, %v", info, err)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool {
		_, body := get(t, ctx, addr, "/metrics", "")
		return metric(body, "goray_jobs", `state="SUCCEEDED"`) == 1 && metric(body, "goray_jobs", `state="RUNNING"`) == 0 &&
			metric(body, "goray_rllib_env_steps_total") == 1200 && metric(body, "goray_tune_trials", `state="TERMINATED"`) == 1
	}, "/metrics: the job succeeded with 1200 env steps, the trial terminated")
	pts := curve()
	var trialPts, runPts int
	for _, p := range pts {
		if p.Trial == "tr_0" && p.Reward == 3 {
			trialPts++
		}
		if p.Trial == "" {
			runPts++
		}
	}
	if runPts != 2 || trialPts != 1 {
		t.Errorf("curve %+v: want 2 points of the run and 1 of trial tr_0", pts)
	}

	var trials state.ListResponse[state.TrialState]
	_, body := get(t, ctx, addr, "/api/v0/trials?job_id="+info.ID, "tok")
	if err := json.Unmarshal([]byte(body), &trials); err != nil || trials.Total != 1 || trials.Items[0].Status != "TERMINATED" || trials.Items[0].Experiment != "exp" {
		t.Errorf("trials %s (%v)", body, err)
	}
	var jl state.ListResponse[state.JobState]
	_, body = get(t, ctx, addr, "/api/v0/jobs?status=SUCCEEDED", "tok")
	if err := json.Unmarshal([]byte(body), &jl); err != nil || jl.Total != 1 || jl.Items[0].ID != info.ID {
		t.Errorf("jobs %s (%v)", body, err)
	}
	if code, body := get(t, ctx, addr, "/api/v0/logs?job="+info.ID, "tok"); code != http.StatusOK || !strings.Contains(body, "first iteration written\ndone") {
		t.Errorf("job log: %d %q", code, body)
	}
}

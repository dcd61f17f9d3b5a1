package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/goray/goray/runtime/dashboard/dashboardtest"
	"github.com/goray/goray/runtime/jobs"
	"github.com/goray/goray/runtime/state"
)

// browser is a dashboardtest.Browser pointed at a dashboard served over an
// in-memory source.
type browser struct {
	*dashboardtest.Browser
	t   *testing.T
	url string
}

// newBrowser serves the dashboard and the state API over src and starts
// headless Chromium (skipping the test where it is not installed).
func newBrowser(t *testing.T, src state.Source, token string, wrapAPI ...func(http.Handler) http.Handler) *browser {
	t.Helper()
	if _, err := os.Stat(dashboardtest.ChromiumPath); err != nil {
		t.Skipf("browser test needs Chromium at %s (apt-get install -y chromium): %v", dashboardtest.ChromiumPath, err)
	}
	api := state.Handler(src, token)
	for _, w := range wrapAPI {
		api = w(api)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v0/", api)
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	// Registered before the browser's cleanup, so it runs after it: the
	// page holds the event stream (and maybe a log stream) open, which
	// would keep srv.Close waiting.
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &browser{Browser: dashboardtest.New(t, "dashboard", 45*time.Second), t: t, url: srv.URL}
}

func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.Step(what, actions...)
}

// poll waits until the JavaScript expression is true.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return dashboardtest.Poll(expr, 15*time.Second)
}

// typeFilter replaces the text of a list's filter box and presses Enter.
func typeFilter(view, text string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => {
		const i = document.querySelector('[data-testid="%s-filter"]');
		i.value = %q;
		i.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
		return true;
	})()`, view, text)
	ev := chromedp.Evaluate[bool](js)
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := ev(ctx, tg)
		return chromedp.Void{}, err
	}
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	return b.Eval(expr)
}

func (b *browser) shot(name string) {
	b.t.Helper()
	b.Shot(name)
}

// TestDashboardInBrowser loads the dashboard over a two-node in-memory
// cluster and checks what a user sees: both nodes, a job turning
// SUCCEEDED without a reload, a growing learning curve, and the job's log
// followed live.
func TestDashboardInBrowser(t *testing.T) {
	const token = "dash-token"
	src := state.NewMemorySource()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, name := range []string{"head", "worker-1"} {
		src.PutNode(state.NodeState{
			ID: fmt.Sprintf("node-%d", i), Name: name, Address: fmt.Sprintf("10.0.0.%d:7380", i+1), State: state.NodeAlive,
			IsHead: i == 0, ResourcesTotal: map[string]float64{"CPU": 8, "GPU": 1}, ResourcesAvailable: map[string]float64{"CPU": float64(6 - 4*i), "GPU": 1},
			ObjectStoreUsed: int64(i+1) << 30, ObjectStoreLimit: 4 << 30, CPUPercent: 35 + 40*float64(i), MemoryUsed: 9 << 30, MemoryTotal: 32 << 30,
			RunningTasks: 2 + i, StartTime: base,
		})
	}
	start := base.Add(time.Second)
	job := state.JobState{ID: "goraysubmit_00000000000000aa", Name: "ppo-cartpole", State: jobs.Running, Kind: "rllib",
		Entrypoint: "[rllib] ppo.toml", SubmitTime: base, StartTime: &start,
		Progress: &jobs.Progress{Iteration: 3, MaxIterations: 10, Metric: "episode_reward_mean", Value: 61.5}}
	src.PutJob(job)
	logKey := state.LogQuery{Node: "node-0", Job: job.ID}
	src.AppendLog(logKey, "hello from the driver\niteration 1 reward 22.0\n")
	src.AddCurvePoint(state.CurvePoint{Job: job.ID, Iteration: 1, Timesteps: 4000, Reward: 22})
	src.PutTrial(state.TrialState{ID: "PPO_0001", Job: job.ID, Experiment: "ppo", Status: "RUNNING", Config: map[string]any{"lr": 5e-5}, Iteration: 1})

	b := newBrowser(t, src, token)
	// The API wants a token: the page asks for one.
	b.step("load the page", chromedp.Navigate(b.url+"/#/cluster"),
		chromedp.WaitVisible(`[data-testid="token-form"]`),
		chromedp.SendKeys(`#token-input`, token),
		chromedp.Click(`#token-form button`))
	b.step("see both nodes", poll(`document.querySelectorAll('[data-testid="node-row"][data-state="ALIVE"]').length === 2`))
	b.step("live updates connected", poll(`document.getElementById('live').textContent === 'live'`))
	b.shot("cluster.png")

	b.step("open jobs", chromedp.Click(`[data-testid="tab-jobs"]`),
		poll(`!!document.querySelector('[data-testid="job-row"][data-state="RUNNING"]')`))
	if got := b.eval(`document.querySelector('[data-testid="job-progress"]').textContent`); got != "iter 3/10  episode_reward_mean=61.50" {
		t.Errorf("progress cell: %q", got)
	}
	// The job finishes; the page must notice without a reload.
	end := start.Add(90 * time.Second)
	code := 0
	job.State, job.EndTime, job.ExitCode = jobs.Succeeded, &end, &code
	src.PutJob(job)
	b.step("see the job succeed", poll(`!!document.querySelector('[data-testid="job-row"][data-state="SUCCEEDED"]')`))
	b.shot("jobs.png")

	b.step("open training", chromedp.Click(`[data-testid="tab-training"]`),
		poll(`document.querySelector('svg[data-testid="learning-curve"]')?.dataset.points === '1'`))
	for i := 2; i <= 6; i++ {
		src.AddCurvePoint(state.CurvePoint{Job: job.ID, Iteration: i, Timesteps: int64(4000 * i), Reward: 22 + 30*float64(i*i)/6})
	}
	b.step("see the curve grow and drawn", poll(`(() => {
		const svg = document.querySelector('svg[data-testid="learning-curve"]');
		const p = svg && svg.querySelector('path');
		return svg.dataset.points === '6' && p && p.getAttribute('d').split('L').length === 6;
	})()`), poll(`document.querySelectorAll('[data-testid="trial-row"]').length === 1`))
	b.shot("training.png")

	b.step("follow the job's log link", chromedp.Click(`[data-testid="tab-jobs"]`),
		chromedp.WaitVisible(`[data-testid="job-logs-link"]`),
		chromedp.Click(`[data-testid="job-logs-link"]`),
		poll(`location.hash.startsWith('#/logs') && document.querySelector('[data-testid="log-text"]')?.textContent.includes('hello from the driver')`))
	src.AppendLog(logKey, "iteration 6 reward 202.0\ndone\n")
	src.CloseLog(logKey)
	b.step("see new log lines live", poll(`document.querySelector('[data-testid="log-text"]').textContent.includes('iteration 6 reward 202.0')`),
		poll(`document.querySelector('[data-testid="log-status"]').textContent === 'end of log'`))
	b.shot("logs.png")
}

// TestDashboardLargeCluster opens every view over 1,000 jobs and 10,000
// actors and checks that the page shows one page of each list, pages and
// filters on the server, and stays quick.
func TestDashboardLargeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("large cluster in a browser: skipped with -short")
	}
	src := state.NewMemorySource()
	state.Populate(src, 7, state.DemoSize{Nodes: 12, Jobs: 1000, Actors: 10000, Tasks: 5000, Objects: 2000, PlacementGroups: 30, Trials: 40},
		time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	b := newBrowser(t, src, "")
	b.step("cluster", chromedp.Navigate(b.url+"/#/cluster"),
		poll(`document.querySelectorAll('[data-testid="node-row"]').length === 12`))

	began := time.Now()
	b.step("actors", chromedp.Click(`[data-testid="tab-actors"]`),
		poll(`document.querySelectorAll('[data-testid="actor-row"]').length === 50`),
		poll(`document.querySelector('[data-testid="actors-pager"]').textContent === '1–50 of 10000'`))
	t.Logf("actors view with 10,000 actors rendered in %v", time.Since(began))
	b.step("next page", chromedp.Click(`[data-testid="actors-next"]`),
		poll(`document.querySelector('[data-testid="actors-pager"]').textContent === '51–100 of 10000'`))
	alive, _ := src.Actors(t.Context(), state.Query{Filters: map[string]string{"state": "ALIVE"}})
	b.step("filter on the server", chromedp.SendKeys(`[data-testid="actors-filter"]`, "state=ALIVE\r"),
		poll(fmt.Sprintf(`document.querySelector('[data-testid="actors-pager"]').textContent === '1–50 of %d'`, alive.Total)),
		poll(`[...document.querySelectorAll('[data-testid="actor-row"]')].every(r => r.dataset.state === 'ALIVE')`))
	b.shot("actors.png")
	b.step("a bad filter is reported", typeFilter("actors", "colour=red"),
		poll(`document.querySelector('[data-testid="error"]').textContent.includes('unknown filter field "colour"')`))
	b.step("clearing it recovers", typeFilter("actors", ""),
		poll(`document.querySelector('[data-testid="actors-pager"]').textContent === '1–50 of 10000'`),
		poll(`document.querySelector('[data-testid="error"]').classList.contains('hidden')`))

	b.step("jobs", chromedp.Click(`[data-testid="tab-jobs"]`),
		poll(`document.querySelector('[data-testid="jobs-pager"]')?.textContent === '1–50 of 1000'`))
	b.step("tasks", chromedp.Click(`[data-testid="tab-tasks"]`),
		poll(`document.querySelectorAll('[data-testid="task-fn-row"]').length === 5`),
		poll(`document.querySelectorAll('[data-testid="task-failure-row"]').length === 20`),
		poll(`document.querySelectorAll('[data-testid="task-row"]').length === 50`))
	b.shot("tasks.png")
	b.step("placement groups", chromedp.Click(`[data-testid="tab-placement-groups"]`),
		poll(`document.querySelectorAll('[data-testid="pg-row"]').length === 30`))
	b.step("objects", chromedp.Click(`[data-testid="tab-objects"]`),
		poll(`document.querySelectorAll('[data-testid="store-row"]').length > 0 && document.querySelectorAll('[data-testid="object-row"]').length === 50`))
	b.shot("objects.png")
	b.step("training", chromedp.Click(`[data-testid="tab-training"]`),
		poll(`!!document.querySelector('svg[data-testid="learning-curve"]')`))
	if got := b.eval(`document.querySelector('[data-testid="curve-summary"]').textContent`); got != "no results yet" {
		t.Errorf("curve summary for a job without results: %q", got)
	}
	// A Tune job's curve has one line per trial.
	tune, _ := src.Jobs(t.Context(), state.Query{Filters: map[string]string{"kind": "tune"}, Limit: 1})
	id := tune.Items[0].ID
	for it := 1; it <= 30; it++ {
		for k, trial := range []string{"PPO_0", "PPO_1", "PPO_2"} {
			src.AddCurvePoint(state.CurvePoint{Job: id, Trial: trial, Iteration: it, Timesteps: int64(it * 4000),
				Reward: float64(it*(k+2)) + float64(it%5)})
		}
	}
	b.step("tune curves", chromedp.Navigate(b.url+"/#/training?job="+id),
		poll(`document.querySelectorAll('svg[data-testid="learning-curve"] path').length === 3`),
		poll(`document.querySelector('svg[data-testid="learning-curve"]').dataset.points === '90'`))
	if got := b.eval(`document.querySelector('[data-testid="curve-summary"]').textContent`); got != "3 trials, 90 results, best reward 120.00" {
		t.Errorf("tune curve summary: %q", got)
	}
	b.shot("tune.png")
}

// TestDashboardPollsWithoutEvents breaks the event stream and checks that
// the page falls back to polling and still sees a job finish.
func TestDashboardPollsWithoutEvents(t *testing.T) {
	src := state.NewMemorySource()
	job := state.JobState{ID: "goraysubmit_00000000000000bb", Name: "sleepy", State: jobs.Running, Kind: "command",
		SubmitTime: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	src.PutJob(job)
	noEvents := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v0/events" {
				http.Error(w, "event streams are blocked by this proxy", http.StatusBadGateway)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	b := newBrowser(t, src, "", noEvents)
	b.step("load jobs", chromedp.Navigate(b.url+"/#/jobs"),
		poll(`!!document.querySelector('[data-testid="job-row"][data-state="RUNNING"]')`),
		poll(`document.getElementById('live').textContent === 'polling'`))
	job.State = jobs.Succeeded
	src.PutJob(job)
	b.step("see the job succeed by polling", poll(`!!document.querySelector('[data-testid="job-row"][data-state="SUCCEEDED"]')`))
}

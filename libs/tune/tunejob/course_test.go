package tunejob_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/goray/goray/libs/tune"
	"github.com/goray/goray/libs/tune/tunejob"
	"github.com/goray/goray/runtime/jobs"
)

// The course's scenario from examples/tune-ppo-cartpole/job.toml — a grid
// over PPO's lr and fcnet_hiddens on CartPole-v1 — run in-process (no
// cluster here, and sampling on the trial's driver): every grid point runs,
// the stop condition (episode_reward_mean 195 OR 15 iterations) ends trials,
// and the best trial has learned.
func TestCourseScenarioPPOGridOnCartPole(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 6 PPO agents")
	}
	b, err := os.ReadFile("../../../examples/tune-ppo-cartpole/job.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "num_rollout_workers = 1", "num_rollout_workers = 0", 1)
	text = strings.Replace(text, "spread = true", "executor = \"local\"\nmax_concurrent_trials = 2", 1)
	spec, err := parse(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if err := tunejob.LibraryForTest().Run(context.Background(), spec, spec.LibraryConfig, func(jobs.Progress) {}); err != nil {
		t.Fatal(err)
	}
	grid, err := tune.LoadResults(spec.OutputDir)
	if err != nil {
		t.Fatal(err)
	}
	if grid.Len() != 6 || grid.NumTerminated() != 6 {
		t.Fatalf("%d trials, %d terminated; want the 3x2 grid", grid.Len(), grid.NumTerminated())
	}
	points := map[string]bool{}
	for _, r := range grid.Results {
		hidden, _ := r.Params.Get("fcnet_hiddens")
		points[fmt.Sprint(r.Params["lr"], hidden)] = true
		if it := r.Metrics.Iteration(); it < 1 || it > 15 || !r.Metrics.Done() {
			t.Errorf("%s: ended at iteration %d (done=%v); the stop condition allows at most 15", r.TrialID, it, r.Metrics.Done())
		}
	}
	if len(points) != 6 {
		t.Errorf("%d distinct (lr, fcnet_hiddens) points, want 6: %v", len(points), points)
	}
	best, err := grid.GetBestResult("", "", tune.ScopeLast)
	if err != nil {
		t.Fatal(err)
	}
	if rew, _ := best.Metrics.Float("episode_reward_mean"); rew < 150 {
		t.Errorf("best episode_reward_mean %v after at most 15 iterations; PPO should learn CartPole", rew)
	}
}

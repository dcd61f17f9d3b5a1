package rllibtune_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goray/goray/libs/tune"
	"github.com/goray/goray/libs/tune/rllibtune"
)

func TestResourcesReserveRolloutWorkers(t *testing.T) {
	cases := []struct {
		p    tune.Params
		want float64
	}{
		{tune.Params{}, 1},
		{tune.Params{"num_rollout_workers": 2}, 3},
		{tune.Params{"num_workers": 3, "num_cpus_per_worker": 0.5}, 2.5},
		{tune.Params{"num_rollout_workers": 1, "num_cpus_for_local_worker": 2}, 3},
	}
	for _, c := range cases {
		if got := rllibtune.Resources(c.p)["CPU"]; got != c.want {
			t.Errorf("%v: CPU %v, want %v", c.p, got, c.want)
		}
	}
}

// The course's scenario in small: a grid over PPO's lr and fcnet_hiddens on
// CartPole-v1, merged into the rllib config by name.
func TestPPOGridSearch(t *testing.T) {
	space := map[string]any{
		"env":                 "CartPole-v1",
		"num_rollout_workers": 0,
		"train_batch_size":    256,
		"sgd_minibatch_size":  64,
		"num_sgd_iter":        2,
		"seed":                1,
		"lr":                  tune.GridSearch(1e-3, 1e-4),
		"fcnet_hiddens":       tune.GridSearch([]int{16}, []int{32, 32}),
	}
	dir := t.TempDir()
	tuner, err := tune.NewTuner("PPO", space, tune.Config{Metric: "episode_reward_mean", Mode: "max", MaxConcurrentTrials: 2},
		tune.RunConfig{Name: "ppo", StoragePath: dir, Stop: tune.StopMap{"training_iteration": 2},
			Checkpoint: tune.CheckpointConfig{AtEnd: true}, NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if grid.Len() != 4 {
		t.Fatalf("%d trials, want 4", grid.Len())
	}
	for _, r := range grid.Results {
		if r.Status != tune.Terminated || r.Metrics.Iteration() != 2 {
			t.Fatalf("%s: %s at %d: %v", r.TrialID, r.Status, r.Metrics.Iteration(), r.Err)
		}
		if ts, ok := r.Metrics.Float("timesteps_total"); !ok || ts < 512 {
			t.Errorf("%s: timesteps_total %v", r.TrialID, ts)
		}
		if _, ok := r.Metrics.Float("info/learner/default_policy/learner_stats/cur_lr"); !ok {
			t.Errorf("%s: nested learner stats missing", r.TrialID)
		}
		if r.Checkpoint == "" {
			t.Errorf("%s: no checkpoint at end", r.TrialID)
		} else if _, err := os.Stat(filepath.Join(r.Checkpoint)); err != nil {
			t.Error(err)
		}
	}
}

func TestPPOUnknownKeyFailsTrialNamingIt(t *testing.T) {
	tuner, err := tune.NewTuner("PPO", map[string]any{"env": "CartPole-v1", "not_a_key": 1}, tune.Config{},
		tune.RunConfig{StoragePath: t.TempDir(), Name: "bad", NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := grid.Results[0]
	if r.Status != tune.Errored || !errors.Is(r.Err, tune.ErrTrialFailed) || !strings.Contains(r.Err.Error(), "not_a_key") {
		t.Fatalf("status %s, err %v", r.Status, r.Err)
	}
}

func TestPPOTrainerSaveRestoreContinues(t *testing.T) {
	ctx := context.Background()
	p := tune.Params{"env": "CartPole-v1", "train_batch_size": 128, "sgd_minibatch_size": 64, "num_sgd_iter": 1,
		"fcnet_hiddens": []int{16}, "seed": 3}
	a := &rllibtune.PPOTrainer{}
	if err := a.Setup(ctx, p); err != nil {
		t.Fatal(err)
	}
	defer a.Cleanup(ctx)
	if _, err := a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	ck, err := a.Save(ctx)
	if err != nil || len(ck.Files) == 0 {
		t.Fatalf("save: %v (%d files)", err, len(ck.Files))
	}
	b := &rllibtune.PPOTrainer{}
	if err := b.Setup(ctx, p); err != nil {
		t.Fatal(err)
	}
	defer b.Cleanup(ctx)
	if err := b.Restore(ctx, ck); err != nil {
		t.Fatal(err)
	}
	m, err := b.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := tune.Result(m).Float("training_iteration"); it != 2 {
		t.Errorf("restored PPO reports training_iteration %v, want 2", it)
	}
	if ts, _ := tune.Result(m).Float("timesteps_total"); ts != 256 {
		t.Errorf("timesteps_total %v, want 256 (continued, not restarted)", ts)
	}
}

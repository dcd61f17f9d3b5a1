package actorexec_test

import (
	"testing"

	"github.com/goray/goray/libs/tune"
	"github.com/goray/goray/libs/tune/actorexec"
	"github.com/goray/goray/libs/tune/rllibtune"
)

// A PPO trial with a rollout worker runs as an actor that itself creates
// rllib's placement group (driver bundle + worker bundle) and the worker
// actor; the tuner reserves both CPUs per trial, so the two trials run one
// after the other. The node has exactly those 2 CPUs: an actor placed in a
// placement-group bundle takes its CPU from the bundle, not from the node.
func TestPPOTrialsWithRolloutWorkersAsActors(t *testing.T) {
	ctx, rt := initRTCPUs(t, 2)
	space := map[string]any{
		"env": "CartPole-v1", "num_rollout_workers": 1, "train_batch_size": 128,
		"sgd_minibatch_size": 64, "num_sgd_iter": 1, "fcnet_hiddens": []int{16},
		"lr": tune.GridSearch(1e-3, 1e-4),
	}
	if got := rllibtune.Resources(tune.Params(space))["CPU"]; got != 2 {
		t.Fatalf("reservation %v CPUs, want 2", got)
	}
	tuner, err := tune.NewTuner("PPO", space, tune.Config{Metric: "episode_reward_mean", Mode: "max", Executor: actorexec.New(rt)},
		tune.RunConfig{Name: "ppo", StoragePath: t.TempDir(), Stop: tune.StopMap{"training_iteration": 2}, NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range grid.Results {
		if r.Status != tune.Terminated || r.Metrics.Iteration() != 2 {
			t.Fatalf("%s: %s at %d: %v", r.TrialID, r.Status, r.Metrics.Iteration(), r.Err)
		}
		if w, _ := r.Metrics.Float("num_healthy_workers"); w != 1 {
			t.Errorf("%s: num_healthy_workers %v", r.TrialID, w)
		}
	}
}

package ppo

import (
	"context"
	"math"
	"testing"

	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/rollout"
	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/classic"
)

// testMaker makes the built-in classic envs in-process.
var testMaker rollout.EnvMaker = rollout.DefaultEnvMaker

func frozenLakeConfig(workers, envsPer int) *Config {
	cfg := NewConfig().
		Environment("FrozenLake-v1", map[string]any{"is_slippery": false}).
		Rollouts(rllib.Rollouts{NumEnvsPerWorker: envsPer}).
		Training(Training{Model: rllib.Model{FcnetHiddens: []int{32, 32}}}).
		Debugging(rllib.Debugging{Seed: rllib.Seed(7)}).
		WithEnvMaker(testMaker)
	cfg.Rollout.NumRolloutWorkers = workers
	cfg.InProcessWorkers = true
	return cfg
}

func TestFrozenLakeNonSlipperyReachesGoal(t *testing.T) {
	ctx := context.Background()
	cfg := frozenLakeConfig(2, 2)
	cfg.Train.Lr = 1e-3
	cfg.Eval = rllib.Evaluation{EvaluationInterval: 1, EvaluationDuration: 5}
	algo, err := cfg.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer algo.Stop(ctx)
	var last *rllib.Result
	for i := 0; i < 8; i++ {
		last, err = algo.Train(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("iter %d: reward_mean %.3f len %.1f kl %.4f vf_loss %.4f ent %.3f eval %.2f learn %.0fms sample %.0fms",
			last.TrainingIteration, last.EpisodeRewardMean, last.EpisodeLenMean, last.Info.Learner["default_policy"].LearnerStats.KL,
			last.Info.Learner["default_policy"].LearnerStats.VfLoss, last.Info.Learner["default_policy"].LearnerStats.Entropy,
			last.Evaluation.EpisodeRewardMean, last.Timers.LearnTimeMs, last.Timers.SampleTimeMs)
		if last.Evaluation.EpisodeRewardMean == 1 {
			break
		}
	}
	if got := float64(last.Evaluation.EpisodeRewardMean); got != 1 {
		t.Fatalf("greedy evaluation reward %v, want 1 (goal reached every episode)", got)
	}
	if math.IsNaN(float64(last.EpisodeRewardMean)) {
		t.Fatal("no episodes recorded")
	}

	// Serve the trained policy: greedy actions walk a fresh env to the goal.
	env, err := classic.Make("FrozenLake-v1", envs.Kwargs{"is_slippery": false})
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float64, 1)
	if _, err := env.Reset(nil, nil, obs); err != nil {
		t.Fatal(err)
	}
	var reward float64
	for step := 0; step < 100; step++ {
		a, err := algo.ComputeSingleAction(obs, false)
		if err != nil {
			t.Fatal(err)
		}
		r, term, _, err := env.Step(a, obs)
		if err != nil {
			t.Fatal(err)
		}
		if term {
			reward = r
			break
		}
	}
	if reward != 1 {
		t.Fatalf("greedy ComputeSingleAction did not reach the goal (reward %v)", reward)
	}
	if _, err := algo.ComputeSingleAction([]float64{16}, false); err == nil {
		t.Fatal("observation 16 outside Discrete(16) accepted")
	}
}

// TestCartPoleImproves: the tuned CartPole config of
// examples/rllib-cartpole lifts the mean return from a random policy's
// ~22 to over 100 within 20k env steps.
func TestCartPoleImproves(t *testing.T) {
	ctx := context.Background()
	cfg := NewConfig().
		Environment("CartPole-v1", nil).
		Rollouts(rllib.Rollouts{NumEnvsPerWorker: 8}).
		Training(Training{
			Lr: 1e-3, Gamma: 0.98, Lambda: 0.8, TrainBatchSize: 2048, SgdMinibatchSize: 64, NumSgdIter: 10,
			VfLossCoeff: 0.5, Model: rllib.Model{FcnetHiddens: []int{64, 64}},
		}).
		Debugging(rllib.Debugging{Seed: rllib.Seed(1)}).
		WithEnvMaker(testMaker)
	cfg.Rollout.NumRolloutWorkers = 0
	cfg.Train.KLCoeff = 0
	algo, err := cfg.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer algo.Stop(ctx)
	var first, last *rllib.Result
	for i := 0; i < 10; i++ {
		r, err := algo.Train(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = r
		}
		last = r
	}
	t.Logf("episode_reward_mean %.1f -> %.1f over %d steps", first.EpisodeRewardMean, last.EpisodeRewardMean, last.TimestepsTotal)
	if first.EpisodeRewardMean > 40 || last.EpisodeRewardMean < 100 {
		t.Fatalf("episode_reward_mean %.1f -> %.1f, want from below 40 to at least 100", first.EpisodeRewardMean, last.EpisodeRewardMean)
	}
}

// TestPendulumGaussianPolicyLearns: the diagonal-Gaussian head trains on a
// Box action space (Pendulum-v1, the example's config) and its mean return
// rises within 120k steps; actions served are inside the bounds. Seed 2:
// over seeds 1-4 the return rose by 96, 466, 330 and 243 in these 60
// iterations (seed 1 learns late: +176 by iteration 90), so the bound of
// +150 checks learning with margin rather than one seed's luck.
func TestPendulumGaussianPolicyLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("120k env steps")
	}
	ctx := context.Background()
	cfg := NewConfig().
		Environment("Pendulum-v1", nil).
		Rollouts(rllib.Rollouts{NumEnvsPerWorker: 16}).
		Training(Training{Lr: 3e-4, Gamma: 0.95, Lambda: 0.95, TrainBatchSize: 2048, SgdMinibatchSize: 64, NumSgdIter: 10,
			VfClipParam: 1e4, Model: rllib.Model{FcnetHiddens: []int{64, 64}}}).
		Debugging(rllib.Debugging{Seed: rllib.Seed(2)}).
		WithEnvMaker(testMaker)
	cfg.Rollout.NumRolloutWorkers = 0
	algo, err := cfg.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer algo.Stop(ctx)
	var first, last *rllib.Result
	for i := 0; i < 60; i++ {
		r, err := algo.Train(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			first = r
		}
		last = r
	}
	st := last.Info.Learner[rllib.DefaultPolicyID].LearnerStats
	t.Logf("episode_reward_mean %.0f -> %.0f; entropy %.3f kl %.4f", first.EpisodeRewardMean, last.EpisodeRewardMean, st.Entropy, st.KL)
	if math.IsNaN(st.TotalLoss) || last.EpisodeRewardMean < first.EpisodeRewardMean+150 {
		t.Fatalf("episode_reward_mean %.0f -> %.0f: no learning", first.EpisodeRewardMean, last.EpisodeRewardMean)
	}
	for _, obs := range [][]float64{{1, 0, 0}, {-1, 0, 5}} {
		a, err := algo.ComputeSingleAction(obs, true)
		if err != nil || len(a) != 1 || a[0] < -2 || a[0] > 2 {
			t.Fatalf("action %v, %v: want one value in [-2, 2]", a, err)
		}
	}
}

package ppo

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goray/goray/libs/rllib"
)

// TestDefaultsAreRLlibs pins every PPO default to RLlib's value.
func TestDefaultsAreRLlibs(t *testing.T) {
	c := NewConfig()
	tr := c.Train
	cases := []struct {
		key       string
		got, want any
	}{
		{"lr", tr.Lr, 5e-5},
		{"gamma", tr.Gamma, 0.99},
		{"lambda", tr.Lambda, 1.0},
		{"clip_param", tr.ClipParam, 0.3},
		{"vf_clip_param", tr.VfClipParam, 10.0},
		{"kl_coeff", tr.KLCoeff, 0.2},
		{"kl_target", tr.KLTarget, 0.01},
		{"entropy_coeff", tr.EntropyCoeff, 0.0},
		{"vf_loss_coeff", tr.VfLossCoeff, 1.0},
		{"grad_clip", tr.GradClip, 0.0},
		{"train_batch_size", tr.TrainBatchSize, 4000},
		{"sgd_minibatch_size", tr.SgdMinibatchSize, 128},
		{"num_sgd_iter", tr.NumSgdIter, 30},
		{"shuffle_sequences", *tr.Shuffle, true},
		{"fcnet_hiddens", len(tr.Model.FcnetHiddens) == 2 && tr.Model.FcnetHiddens[0] == 256 && tr.Model.FcnetHiddens[1] == 256, true},
		{"fcnet_activation", tr.Model.FcnetActivation, "tanh"},
		{"vf_share_layers", tr.Model.VfShareLayers, false},
		{"num_rollout_workers", c.Rollout.NumRolloutWorkers, 2},
		{"num_envs_per_worker", c.Rollout.NumEnvsPerWorker, 1},
		{"rollout_fragment_length (auto)", c.Rollout.RolloutFragmentLength, 0},
		{"batch_mode", c.Rollout.BatchMode, "truncate_episodes"},
		{"create_env_on_driver", c.Rollout.CreateEnvOnDriver, false},
		{"recreate_failed_workers", c.Rollout.RecreateFailedWorkers, false},
		{"num_gpus", c.Resource.NumGPUs, 0.0},
		{"num_cpus_per_worker", c.Resource.NumCPUsPerWorker, 1.0},
		{"num_cpus_for_local_worker", c.Resource.NumCPUsForLocalWorker, 1.0},
		{"placement_strategy", c.Resource.PlacementStrategy, "PACK"},
		{"evaluation_interval", c.Eval.EvaluationInterval, 0},
		{"evaluation_duration", c.Eval.EvaluationDuration, 10},
		{"seed", c.Debug.Seed == nil, true},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s = %v, RLlib's default is %v", tc.key, tc.got, tc.want)
		}
	}
}

func TestBuilderMergesOnlyGivenFields(t *testing.T) {
	c := NewConfig().
		Rollouts(rllib.Rollouts{NumEnvsPerWorker: 2}).
		Training(Training{Lr: 1e-3, Model: rllib.Model{FcnetHiddens: []int{32, 32}}})
	if c.Rollout.NumRolloutWorkers != 2 || c.Rollout.NumEnvsPerWorker != 2 {
		t.Fatalf("rollouts %+v", c.Rollout)
	}
	if c.Train.Lr != 1e-3 || c.Train.Gamma != 0.99 || c.Train.Model.FcnetActivation != "tanh" || c.Train.Model.FcnetHiddens[0] != 32 {
		t.Fatalf("training %+v", c.Train)
	}
}

func TestBadConfigErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"negative workers", func(c *Config) { c.Rollout.NumRolloutWorkers = -2 }, "num_rollout_workers"},
		{"no env", func(c *Config) { c.Env.Env = "" }, "env"},
		{"minibatch > batch", func(c *Config) { c.Train.SgdMinibatchSize = 5000 }, "sgd_minibatch_size"},
		{"negative lr", func(c *Config) { c.Train.Lr = -1 }, "lr"},
		{"gamma", func(c *Config) { c.Train.Gamma = 1.5 }, "gamma"},
		{"shards", func(c *Config) { c.NumLearnerShards = 0 }, "num_learner_shards"},
		{"fragment far from batch", func(c *Config) {
			c.Rollout.NumRolloutWorkers, c.Rollout.NumEnvsPerWorker, c.Rollout.RolloutFragmentLength = 4, 2, 200
		}, "rollout_fragment_length = 200"},
	}
	for _, tc := range cases {
		c := frozenLakeConfig(0, 1)
		tc.mod(c)
		_, err := c.Build(ctx)
		if !errors.Is(err, rllib.ErrBadConfig) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: %v, want ErrBadConfig naming %s", tc.name, err, tc.key)
		}
	}
	c := frozenLakeConfig(0, 1)
	c.Env.Env = "NoSuchEnv-v0"
	if _, err := c.Build(ctx); err == nil || !strings.Contains(err.Error(), "NoSuchEnv-v0") {
		t.Errorf("unknown env: %v", err)
	}
}

func TestFromJobConfig(t *testing.T) {
	jc, err := rllib.ParseJobConfig([]byte(`
[rllib]
algorithm = "PPO"
env = "FrozenLake-v1"
num_rollout_workers = 0
lr = 0.0003
kl_coeff = 0.0
num_sgd_iter = 6
shuffle_sequences = false
fcnet_hiddens = [16]
`), "job.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromJobConfig(jc)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rollout.NumRolloutWorkers != 0 || c.Train.Lr != 3e-4 || c.Train.KLCoeff != 0 || c.Train.NumSgdIter != 6 ||
		*c.Train.Shuffle || c.Train.Model.FcnetHiddens[0] != 16 || c.Train.Gamma != 0.99 {
		t.Fatalf("config %+v", c.Train)
	}
	jc.Algorithm = "DQN"
	if _, err := FromJobConfig(jc); !errors.Is(err, rllib.ErrBadConfig) {
		t.Fatalf("DQN: %v", err)
	}
}

// TestResultKeysAndOutputs checks RLlib's result names in the JSON and the
// files Run writes.
func TestResultKeysAndOutputs(t *testing.T) {
	ctx := context.Background()
	cfg := smallConfig(0)
	cfg.Eval = rllib.Evaluation{EvaluationInterval: 2, EvaluationDuration: 3}
	algo, err := cfg.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer algo.Stop(ctx)
	dir := t.TempDir()
	var lines int
	sum, err := rllib.Run(ctx, algo, rllib.RunConfig{Dir: dir, Stop: rllib.StopConfig{TrainingIteration: 2}, CheckpointAtEnd: true,
		Progress: func(*rllib.Result) { lines++ }})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != 2 || lines != 2 || !sum.Results[1].Done || sum.Checkpoint == "" {
		t.Fatalf("summary %+v, progress calls %d", sum, lines)
	}
	raw, err := os.ReadFile(filepath.Join(dir, rllib.ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(rows) != 2 {
		t.Fatalf("result.json has %d lines, want 2", len(rows))
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(rows[1]), &m); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"episode_reward_mean", "episode_reward_min", "episode_reward_max", "episode_len_mean", "episodes_this_iter",
		"episodes_total", "timesteps_total", "num_env_steps_sampled", "num_env_steps_trained", "training_iteration",
		"time_this_iter_s", "time_total_s", "num_healthy_workers", "num_remote_worker_restarts",
		"timers/sample_time_ms", "timers/learn_time_ms", "timers/synch_weights_time_ms", "timers/learn_throughput",
		"timers/sample_throughput", "info/learner/default_policy/learner_stats/policy_loss",
		"info/learner/default_policy/learner_stats/vf_loss", "info/learner/default_policy/learner_stats/total_loss",
		"info/learner/default_policy/learner_stats/entropy", "info/learner/default_policy/learner_stats/kl",
		"info/learner/default_policy/learner_stats/cur_kl_coeff", "info/learner/default_policy/learner_stats/cur_lr",
		"info/learner/default_policy/learner_stats/vf_explained_var", "evaluation/episode_reward_mean",
		"hist_stats/episode_reward",
	} {
		var cur any = m
		for _, k := range strings.Split(path, "/") {
			mm, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur, ok = mm[k]
			if !ok {
				t.Errorf("result.json lacks %s", path)
				break
			}
		}
	}
	if m["timesteps_total"].(float64) < 800 || m["training_iteration"].(float64) != 2 {
		t.Errorf("timesteps_total %v training_iteration %v", m["timesteps_total"], m["training_iteration"])
	}
	csv, err := os.ReadFile(filepath.Join(dir, rllib.ProgressFile))
	if err != nil {
		t.Fatal(err)
	}
	header := strings.Split(strings.SplitN(string(csv), "\n", 2)[0], ",")
	if !contains(header, "info/learner/default_policy/learner_stats/kl") || !contains(header, "episode_reward_mean") {
		t.Errorf("progress.csv header %v", header)
	}
	if fi, err := os.Stat(filepath.Join(dir, rllib.CurveFile)); err != nil || fi.Size() == 0 {
		t.Errorf("learning curve: %v", err)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

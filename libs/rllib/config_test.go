package rllib

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestFragmentLengthsFollowRLlib(t *testing.T) {
	cases := []struct {
		name          string
		workers, envs int
		fixed, batch  int
		want          []int
	}{
		{"docstring 4x3 batch 2500", 4, 3, 0, 2500, []int{209, 208, 208, 208}},
		{"course 4x2", 4, 2, 0, 4000, []int{500, 500, 500, 500}},
		{"course 2x2", 2, 2, 0, 4000, []int{1000, 1000}},
		{"course 1x1", 1, 1, 0, 4000, []int{4000}},
		{"local worker", 0, 1, 0, 4000, []int{4000}},
		{"local worker remainder", 0, 3, 0, 100, []int{34}},
		{"fixed", 3, 2, 200, 4000, []int{200, 200, 200}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Rollouts{NumRolloutWorkers: c.workers, NumEnvsPerWorker: c.envs, RolloutFragmentLength: c.fixed}
			if got := r.FragmentLengths(c.batch); !slices.Equal(got, c.want) {
				t.Fatalf("FragmentLengths = %v, want %v", got, c.want)
			}
		})
	}
}

func TestBundlesAreDriverThenWorkers(t *testing.T) {
	r := DefaultResources()
	r.NumGPUs = 1
	got := r.Bundles(2)
	if len(got) != 3 || got[0]["GPU"] != 1 || got[0]["CPU"] != 1 || got[1]["CPU"] != 1 || got[2]["CPU"] != 1 {
		t.Fatalf("bundles %v, want [{CPU:1 GPU:1} {CPU:1} {CPU:1}]", got)
	}
}

func TestSectionValidation(t *testing.T) {
	cases := []struct {
		name string
		err  error
		key  string
	}{
		{"negative workers", Rollouts{NumRolloutWorkers: -1, NumEnvsPerWorker: 1, BatchMode: TruncateEpisodes}.Validate(), "num_rollout_workers"},
		{"zero envs", Rollouts{NumEnvsPerWorker: 0, BatchMode: TruncateEpisodes}.Validate(), "num_envs_per_worker"},
		{"batch mode", Rollouts{NumEnvsPerWorker: 1, BatchMode: "episodes"}.Validate(), "batch_mode"},
		{"strategy", Resources{PlacementStrategy: "DENSE"}.Validate(), "placement_strategy"},
		{"activation", Model{FcnetActivation: "gelu"}.Validate(), "fcnet_activation"},
		{"hiddens", Model{FcnetHiddens: []int{0}, FcnetActivation: "tanh"}.Validate(), "fcnet_hiddens"},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrBadConfig) || !strings.Contains(c.err.Error(), c.key) {
			t.Errorf("%s: %v, want ErrBadConfig naming %s", c.name, c.err, c.key)
		}
	}
}

func TestParseJobConfig(t *testing.T) {
	jc, err := ParseJobConfig([]byte(`
[rllib]
algorithm = "PPO"
framework = "torch"
env = "FrozenLake-v1"
num_rollout_workers = 0
rollout_fragment_length = "auto"
lr = 0.001
seed = 3

[rllib.env_config]
is_slippery = false
map_name = "4x4"

[rllib.model]
fcnet_hiddens = [32, 32]

[rllib.stop]
training_iteration = 5
`), "job.toml")
	if err != nil {
		t.Fatal(err)
	}
	if *jc.NumRolloutWorkers != 0 || !jc.RolloutFragmentLength.Set || *jc.Lr != 0.001 || *jc.Seed != 3 ||
		jc.EnvConfig["is_slippery"] != false || !slices.Equal(jc.Model.FcnetHiddens, []int{32, 32}) || jc.Stop.TrainingIteration != 5 {
		t.Fatalf("decoded %+v", jc)
	}
	var env Environment
	r, res, m, e, d := DefaultRollouts(), DefaultResources(), DefaultModel(), DefaultEvaluation(), Debugging{}
	r.NumRolloutWorkers = 2
	jc.ApplyCommon(&env, &r, &res, &m, &e, &d)
	if r.NumRolloutWorkers != 0 || env.Env != "FrozenLake-v1" || *d.Seed != 3 || m.FcnetActivation != "tanh" {
		t.Fatalf("applied: rollouts %+v env %+v model %+v", r, env, m)
	}
}

func TestParseJobConfigErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
		is              error
	}{
		{"unknown key", "[rllib]\nenv = \"CartPole-v1\"\nnum_rollout_worker = 2\n", "rllib.num_rollout_worker", ErrUnknownKey},
		{"unknown model key", "[rllib]\n[rllib.model]\nuse_lstm = true\n", "rllib.model.use_lstm", ErrUnknownKey},
		{"bad fragment", "[rllib]\nrollout_fragment_length = \"long\"\n", "rollout_fragment_length", nil},
		{"wrong type", "[rllib]\nlr = \"fast\"\n", "lr", nil},
		{"alias clash", "[rllib]\nnum_workers = 1\nnum_rollout_workers = 2\n", "num_workers", ErrBadConfig},
		{"framework", "[rllib]\nframework = \"jax\"\n", "framework", ErrBadConfig},
		{"no table", "x = 1\n", "rllib", nil},
		{"syntax", "[rllib\n", "job.toml", nil},
	}
	for _, c := range cases {
		_, err := ParseJobConfig([]byte(c.doc), "job.toml")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "job.toml") {
			t.Errorf("%s: error %v, want one naming job.toml and %q", c.name, err, c.want)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v is not %v", c.name, err, c.is)
		}
	}
}

func TestJobConfigFromMap(t *testing.T) {
	jc, err := JobConfigFromMap(map[string]any{"env": "CartPole-v1", "num_envs_per_worker": 4, "fcnet_hiddens": []any{64}}, "api")
	if err != nil {
		t.Fatal(err)
	}
	if jc.Env != "CartPole-v1" || *jc.NumEnvsPerWorker != 4 || !slices.Equal(jc.FcnetHiddens, []int{64}) {
		t.Fatalf("decoded %+v", jc)
	}
	if _, err := JobConfigFromMap(map[string]any{"bogus": 1}, "api"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("bogus key: %v", err)
	}
}

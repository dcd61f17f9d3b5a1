package rllibjob

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goray/goray/internal/tomlutil"
	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/runtime/jobs"
)

func TestScalingJobFileDecodes(t *testing.T) {
	// Load a copy, so nothing is written next to the example.
	data, err := os.ReadFile("../../../examples/rllib-scaling/job.toml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "job.toml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := jobs.LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	j := spec.LibraryConfig.(*Job)
	c := j.PPO
	if c.Env.Env != "FrozenLake-v1" || c.Rollout.NumRolloutWorkers != 2 || c.Rollout.NumEnvsPerWorker != 2 ||
		c.Train.Model.FcnetHiddens[0] != 32 || c.Train.Lr != 5e-5 || j.Config.Stop.TrainingIteration != 5 {
		t.Fatalf("config %+v / %+v", c.Rollout, c.Train)
	}
}

func TestBadKeysNameFileAndLine(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"unknown", "name = \"x\"\n[rllib]\nenv = \"CartPole-v1\"\nnum_rollout_wrkers = 2\n", "job.toml:4:1: rllib.num_rollout_wrkers: unknown key"},
		{"invalid", "name = \"x\"\n[rllib]\nenv = \"CartPole-v1\"\nnum_rollout_workers = -1\n", "num_rollout_workers = -1"},
		{"algorithm", "name = \"x\"\n[rllib]\nalgorithm = \"DQN\"\nenv = \"CartPole-v1\"\n", "rllib.algorithm"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		p := filepath.Join(dir, "job.toml")
		os.WriteFile(p, []byte(c.text), 0o644)
		_, err := jobs.LoadFile(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		var fe *tomlutil.FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Errorf("%s: %T is not a *tomlutil.FieldError", c.name, err)
		}
	}
}

func TestRunWritesOutputs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "job.toml")
	os.WriteFile(p, []byte(`name = "tiny"
[rllib]
env = "FrozenLake-v1"
num_rollout_workers = 0
train_batch_size = 256
sgd_minibatch_size = 64
num_sgd_iter = 2
seed = 1
checkpoint_at_end = true
[rllib.env_config]
is_slippery = false
[rllib.model]
fcnet_hiddens = [16]
[rllib.stop]
training_iteration = 2
`), 0o644)
	spec, err := jobs.LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var reports []jobs.Progress
	if err := (Library{}).Run(context.Background(), spec, spec.LibraryConfig, func(pr jobs.Progress) { reports = append(reports, pr) }); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 || reports[1].Iteration != 2 || reports[1].MaxIterations != 2 {
		t.Fatalf("progress %+v", reports)
	}
	for _, f := range []string{rllib.ResultFile, rllib.ProgressFile, rllib.CurveFile, "checkpoint_000002/" + rllib.CheckpointMetaFile} {
		if _, err := os.Stat(filepath.Join(spec.OutputDir, f)); err != nil {
			t.Errorf("output %s: %v", f, err)
		}
	}
}

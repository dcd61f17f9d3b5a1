// Package rllibjob runs `[rllib]` job files: an RLlib algorithm config in
// TOML with RLlib's snake_case keys, trained until its stop conditions.
// Importing it registers the "rllib" library with the job runner
// (runtime/jobs).
//
//	name = "rllib-scaling"
//
//	[rllib]
//	algorithm = "PPO"
//	env = "FrozenLake-v1"
//	num_rollout_workers = 2
//	num_envs_per_worker = 2
//	checkpoint_at_end = true
//
//	[rllib.model]
//	fcnet_hiddens = [32, 32]
//
//	[rllib.stop]
//	training_iteration = 5
//
// The run writes result.json, progress.csv, the learning curve and
// checkpoints into the job's output_dir, and reports a progress line per
// iteration. Rollout workers are goray actors on the job's cluster.
package rllibjob

import (
	"context"
	"fmt"

	"github.com/BurntSushi/toml"

	"github.com/goray/goray/internal/tomlutil"
	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/ppo"
	"github.com/goray/goray/runtime/jobs"
)

func init() { jobs.RegisterLibrary("rllib", Library{}) }

// Library implements jobs.Library for [rllib].
type Library struct{}

// Job is the decoded [rllib] table.
type Job struct {
	Config *rllib.JobConfig
	PPO    *ppo.Config
}

// Decode implements jobs.Library. Unknown keys stay undecoded, so the job
// runner reports them with their line.
func (Library) Decode(f *tomlutil.File, table toml.Primitive, _ *jobs.Spec) (any, error) {
	var jc rllib.JobConfig
	if err := f.Meta.PrimitiveDecode(table, &jc); err != nil {
		return nil, f.Errorf("rllib", "%v", err)
	}
	switch jc.Algorithm {
	case "", "PPO":
	default:
		return nil, f.Errorf("rllib.algorithm", "%w: %q (goray has PPO)", rllib.ErrBadConfig, jc.Algorithm)
	}
	cfg, err := ppo.FromJobConfig(&jc)
	if err != nil {
		return nil, f.Wrap("rllib", err)
	}
	return &Job{Config: &jc, PPO: cfg}, nil
}

// Run implements jobs.Library.
func (Library) Run(ctx context.Context, spec *jobs.Spec, cfg any, report func(jobs.Progress)) error {
	j, ok := cfg.(*Job)
	if !ok {
		return fmt.Errorf("rllib job: config is %T", cfg)
	}
	// The job file's env_plugins (already absolute) serve extra env IDs to
	// the driver and to every rollout worker.
	j.PPO.Env.EnvPlugins = append(j.PPO.Env.EnvPlugins, spec.EnvPlugins...)
	algo, err := j.PPO.Build(ctx)
	if err != nil {
		return err
	}
	defer algo.Stop(context.WithoutCancel(ctx))
	stop := j.Config.Stop
	_, err = rllib.Run(ctx, algo, rllib.RunConfig{
		Dir: spec.OutputDir, Stop: stop,
		CheckpointFreq: j.Config.CheckpointFreq, CheckpointAtEnd: j.Config.CheckpointAtEnd,
		Progress: func(r *rllib.Result) {
			// One line per iteration in the driver's log, as Ray prints
			// its result table: `goray logs` and the dashboard show it.
			fmt.Printf("iteration %d: timesteps_total=%d episode_reward_mean=%.4g time_total_s=%.2f\n",
				r.TrainingIteration, r.TimestepsTotal, float64(r.EpisodeRewardMean), r.TimeTotalS)
			if report != nil {
				report(jobs.Progress{
					Iteration: r.TrainingIteration, MaxIterations: stop.TrainingIteration,
					Metric: "episode_reward_mean", Value: float64(r.EpisodeRewardMean), ElapsedS: r.TimeTotalS,
					Text: fmt.Sprintf("timesteps_total=%d", r.TimestepsTotal),
				})
			}
		},
	})
	return err
}

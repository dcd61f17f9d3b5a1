// Package rllibtune makes rllib algorithms tune trainables: importing it
// (for its init) registers "PPO", so that
//
//	tune.NewTuner("PPO", map[string]any{"env": "CartPole-v1",
//	    "lr": tune.GridSearch(1e-4, 1e-3), "fcnet_hiddens": tune.GridSearch([]int{32}, []int{64, 64})}, ...)
//
// runs one PPO per trial. Each trial's params are the flat [rllib] table of a
// job file (RLlib's snake_case keys, decoded by rllib.JobConfigFromMap, so an
// unknown key is an error naming it); tune's own keys never enter it. A step
// is one Train call and its result dict (episode_reward_mean, timesteps_total,
// info/learner/...) becomes the trial's metrics. Checkpoints are the
// algorithm's own checkpoint directory, carried as files.
//
// Resources: a trial reserves num_cpus_for_local_worker (1) for its driver
// plus num_cpus_per_worker (1) per rollout worker, RLlib's placement-group
// shape. With rollout workers, rllib creates that placement group itself
// (driver bundle plus one bundle per worker), so the trial actor takes no
// CPU of its own; without workers the actor holds the driver's CPU. This package exists so that
// neither tune nor rllib imports the other.
package rllibtune

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/ppo"
	"github.com/goray/goray/libs/tune"
)

func init() {
	tune.RegisterTrainable("PPO", tune.TrainableSpec{
		New:            func() tune.Trainer { return &PPOTrainer{} },
		Resources:      Resources,
		ActorResources: ActorResources,
	})
}

// ActorResources is what the trial actor itself takes. With rollout
// workers, rllib reserves a placement group whose first bundle is the
// driver's, so the actor takes nothing more (it would count the driver
// twice and could never fit on a node sized for the group); without
// workers there is no group and the actor holds the driver's CPUs.
func ActorResources(p tune.Params) tune.Resources {
	if p.Int("num_rollout_workers", p.Int("num_workers", 0)) > 0 {
		return tune.Resources{"CPU": 0}
	}
	return driverResources(p)
}

// Resources is what one rllib trial reserves: the driver bundle plus one
// bundle per rollout worker.
func Resources(p tune.Params) tune.Resources {
	workers := p.Int("num_rollout_workers", p.Int("num_workers", 0))
	perWorker := p.Float("num_cpus_per_worker", 1)
	r := driverResources(p)
	r["CPU"] += float64(workers) * perWorker
	return r
}

func driverResources(p tune.Params) tune.Resources {
	r := tune.Resources{"CPU": p.Float("num_cpus_for_local_worker", p.Float("num_cpus_for_driver", 1))}
	if g := p.Float("num_gpus", 0); g > 0 {
		r["GPU"] = g
	}
	return r
}

// PPOTrainer is the tune.Trainer around a PPO algorithm.
type PPOTrainer struct {
	cfg  *ppo.Config
	algo *ppo.PPO
}

// Setup decodes the params as an [rllib] table and builds PPO.
func (t *PPOTrainer) Setup(ctx context.Context, p tune.Params) error {
	m := map[string]any(p.Clone())
	jc, err := rllib.JobConfigFromMap(toPlain(m).(map[string]any), "tune param space")
	if err != nil {
		return err
	}
	cfg, err := ppo.FromJobConfig(jc)
	if err != nil {
		return err
	}
	algo, err := cfg.Build(ctx)
	if err != nil {
		return fmt.Errorf("rllibtune: build PPO: %w", err)
	}
	t.cfg, t.algo = cfg, algo
	return nil
}

// toPlain turns tune.Params (a named map type) into plain maps for the TOML
// encoder inside JobConfigFromMap.
func toPlain(v any) any {
	switch x := v.(type) {
	case tune.Params:
		return toPlain(map[string]any(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toPlain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toPlain(e)
		}
		return out
	}
	return v
}

// Step trains one iteration; the result dict becomes the metrics.
func (t *PPOTrainer) Step(ctx context.Context) (tune.Metrics, error) {
	r, err := t.algo.Train(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("rllibtune: encode result: %w", err)
	}
	m, err := tune.DecodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("rllibtune: decode result: %w", err)
	}
	return tune.Metrics(m), nil
}

// Save writes the algorithm's checkpoint and returns its files.
func (t *PPOTrainer) Save(ctx context.Context) (*tune.Checkpoint, error) {
	dir, err := os.MkdirTemp("", "goray-ppo-ckpt-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := t.algo.Save(ctx, dir); err != nil {
		return nil, fmt.Errorf("rllibtune: save: %w", err)
	}
	c := &tune.Checkpoint{Files: map[string][]byte{}}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		c.Files[filepath.ToSlash(rel)] = b
		return err
	})
	return c, err
}

// Restore rebuilds PPO from a checkpoint, keeping this trial's training
// hyperparameters (a PBT exploit restores another trial's weights under
// new params).
func (t *PPOTrainer) Restore(ctx context.Context, c *tune.Checkpoint) error {
	dir, err := os.MkdirTemp("", "goray-ppo-restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for name, b := range c.Files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	if t.algo != nil {
		t.algo.Stop(ctx)
	}
	train := t.cfg.Train
	algo, err := ppo.FromCheckpoint(ctx, dir, func(cfg *ppo.Config) { cfg.Train = train })
	if err != nil {
		return fmt.Errorf("rllibtune: restore: %w", err)
	}
	t.algo = algo
	return nil
}

// Cleanup stops the algorithm and its rollout workers.
func (t *PPOTrainer) Cleanup(ctx context.Context) error {
	if t.algo == nil {
		return nil
	}
	return t.algo.Stop(ctx)
}

package ppo

import (
	"context"
	"errors"
	"log/slog"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/rllib/rollout"
)

// newWorkerSet picks where the rollout workers run (see the package doc):
// goray actors when there are remote workers and a goray runtime, else
// goroutines in the driver.
func newWorkerSet(ctx context.Context, cfg *Config, cfgs []rollout.WorkerConfig, maker rollout.EnvMaker, log *slog.Logger) (rollout.WorkerSet, error) {
	if cfg.Rollout.NumRolloutWorkers > 0 && !cfg.InProcessWorkers {
		_, _, err := goray.ClusterResources(ctx)
		switch {
		case err == nil:
			set, err := rollout.NewActorSet(ctx, cfgs, cfg.Resource, cfg.Rollout.RecreateFailedWorkers, log)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return set, nil
		case errors.Is(err, goray.ErrNotInitialized):
			log.Info("no goray runtime: rollout workers run in-process")
		default:
			return nil, err
		}
	}
	return rollout.NewInProcessSet(ctx, cfgs, maker)
}

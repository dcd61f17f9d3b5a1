// Command rllib-pendulum trains PPO with a diagonal-Gaussian policy on
// Pendulum-v1 (continuous actions) until the mean return over the last 100
// episodes reaches −400 or the step budget runs out.
//
//	go run ./examples/rllib-pendulum
//
// The config starts from RLlib's tuned pendulum-ppo.yaml (γ 0.95, lr 3e-4,
// minibatch 64, 16 envs) but turns RLlib's value clipping off
// (vf_clip_param 1e4): Pendulum's returns are in the hundreds, so with
// vf_clip_param 10 the clipped squared error has no gradient and the value
// function never learns (RLlib's tuned example relies on a MeanStdFilter
// goray does not have). λ 0.95, batch 2048, 10 epochs and a [64, 64] net.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/ppo"
)

func main() {
	goray.MaybeRunWorker()
	seed := flag.Int64("seed", 1, "seed")
	budget := flag.Int64("steps", 1_000_000, "env step budget")
	target := flag.Float64("target", -400, "stop when episode_reward_mean reaches this")
	flag.Parse()
	if err := run(*seed, *budget, *target); err != nil {
		log.Fatal(err)
	}
}

func run(seed, budget int64, target float64) error {
	ctx := context.Background()
	cfg := ppo.NewConfig().
		Environment("Pendulum-v1", nil).
		Rollouts(rllib.Rollouts{NumEnvsPerWorker: 16}).
		Training(ppo.Training{
			Lr: 3e-4, Gamma: 0.95, Lambda: 0.95, TrainBatchSize: 2048, SgdMinibatchSize: 64, NumSgdIter: 10,
			VfClipParam: 1e4, Model: rllib.Model{FcnetHiddens: []int{64, 64}},
		}).
		Debugging(rllib.Debugging{Seed: rllib.Seed(seed)})
	cfg.Rollout.NumRolloutWorkers = 0
	algo, err := cfg.Build(ctx)
	if err != nil {
		return err
	}
	defer algo.Stop(ctx)
	start := time.Now()
	for {
		r, err := algo.Train(ctx)
		if err != nil {
			return err
		}
		if r.TrainingIteration%20 == 0 {
			fmt.Printf("iter %4d  steps %8d  episode_reward_mean %7.1f  (%.1fs)\n", r.TrainingIteration, r.TimestepsTotal, float64(r.EpisodeRewardMean), time.Since(start).Seconds())
		}
		if r.EpisodesTotal >= 100 && float64(r.EpisodeRewardMean) >= target {
			fmt.Printf("reached %.0f after %d env steps in %.1fs\n", target, r.TimestepsTotal, time.Since(start).Seconds())
			return nil
		}
		if r.TimestepsTotal >= budget {
			fmt.Printf("budget of %d steps spent: episode_reward_mean %.1f after %.1fs\n", budget, float64(r.EpisodeRewardMean), time.Since(start).Seconds())
			return nil
		}
	}
}

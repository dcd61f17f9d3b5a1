// Command rllib-cartpole trains PPO on CartPole-v1 until the mean return
// over the last 100 episodes reaches 475 (Gymnasium's reward threshold) or
// the step budget runs out, and reports steps and wall time.
//
//	go run ./examples/rllib-cartpole
//
// The config follows the tuned CartPole anchors (RLlib's tuned example and
// SB3's zoo): lr 1e-3, γ 0.98, λ 0.8, batch 2048 over 8 envs, 64-sample
// minibatches for 10 epochs, a [64, 64] tanh net, vf_loss_coeff 0.5, no KL
// penalty; everything else is RLlib's default.
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
	budget := flag.Int64("steps", 200_000, "env step budget")
	target := flag.Float64("target", 475, "stop when episode_reward_mean reaches this")
	out := flag.String("out", "", "output dir for result.json, progress.csv and the learning curve (optional)")
	flag.Parse()
	if err := run(*seed, *budget, *target, *out); err != nil {
		log.Fatal(err)
	}
}

// Config returns the example's config.
func Config(seed int64) *ppo.Config {
	cfg := ppo.NewConfig().
		Environment("CartPole-v1", nil).
		Rollouts(rllib.Rollouts{NumEnvsPerWorker: 8}).
		Training(ppo.Training{
			Lr: 1e-3, Gamma: 0.98, Lambda: 0.8, TrainBatchSize: 2048, SgdMinibatchSize: 64, NumSgdIter: 10,
			VfLossCoeff: 0.5, Model: rllib.Model{FcnetHiddens: []int{64, 64}},
		}).
		Debugging(rllib.Debugging{Seed: rllib.Seed(seed)})
	cfg.Rollout.NumRolloutWorkers = 0
	cfg.Train.KLCoeff = 0
	return cfg
}

func run(seed, budget int64, target float64, out string) error {
	ctx := context.Background()
	algo, err := Config(seed).Build(ctx)
	if err != nil {
		return err
	}
	defer algo.Stop(ctx)
	var w *rllib.ResultWriter
	if out != "" {
		if w, err = newWriter(out); err != nil {
			return err
		}
		defer w.Close()
	}
	start := time.Now()
	for {
		r, err := algo.Train(ctx)
		if err != nil {
			return err
		}
		if w != nil {
			if err := w.Write(r); err != nil {
				return err
			}
		}
		fmt.Printf("iter %3d  steps %7d  episode_reward_mean %6.1f  (%.1fs)\n", r.TrainingIteration, r.TimestepsTotal, float64(r.EpisodeRewardMean), time.Since(start).Seconds())
		if float64(r.EpisodeRewardMean) >= target {
			fmt.Printf("reached %.0f after %d env steps in %.1fs\n", target, r.TimestepsTotal, time.Since(start).Seconds())
			break
		}
		if r.TimestepsTotal >= budget {
			fmt.Printf("budget of %d steps spent: episode_reward_mean %.1f after %.1fs\n", budget, float64(r.EpisodeRewardMean), time.Since(start).Seconds())
			break
		}
	}
	if w != nil {
		return w.Plot()
	}
	return nil
}

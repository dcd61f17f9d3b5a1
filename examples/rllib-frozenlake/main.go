// Command rllib-frozenlake trains PPO on slippery FrozenLake-v1 and
// measures the greedy policy's success rate over 1,000 episodes (the
// optimum under the 100-step limit is 0.744).
//
//	go run ./examples/rllib-frozenlake
//
// Config: RLlib's defaults except lr 1e-3, γ 0.995 (the optimal policy
// is slow and careful, so long horizons matter), entropy_coeff 0.01 (keeps
// exploring the rare goal), train_batch_size 8000 over 8 envs and
// fcnet_hiddens [64, 64].
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
	budget := flag.Int64("steps", 2_000_000, "env step budget")
	target := flag.Float64("target", 0.70, "stop when the greedy success rate over 1,000 episodes reaches this")
	every := flag.Int("eval-every", 5, "evaluate every n iterations")
	flag.Parse()
	if err := run(*seed, *budget, *target, *every); err != nil {
		log.Fatal(err)
	}
}

func run(seed, budget int64, target float64, every int) error {
	ctx := context.Background()
	cfg := ppo.NewConfig().
		Environment("FrozenLake-v1", nil).
		Rollouts(rllib.Rollouts{NumEnvsPerWorker: 8, CreateEnvOnDriver: true}).
		Training(ppo.Training{
			Lr: 1e-3, Gamma: 0.995, EntropyCoeff: 0.01, TrainBatchSize: 8000,
			Model: rllib.Model{FcnetHiddens: []int{64, 64}},
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
		if r.TrainingIteration%every != 0 && r.TimestepsTotal < budget {
			continue
		}
		ev, err := algo.EvaluateEpisodes(ctx, 1000, false, uint64(r.TrainingIteration))
		if err != nil {
			return err
		}
		succ := 0.0
		for _, x := range ev.EpisodeRewards {
			succ += x
		}
		succ /= float64(len(ev.EpisodeRewards))
		fmt.Printf("iter %3d  steps %8d  episode_reward_mean %.3f  greedy success %.3f  (%.1fs)\n",
			r.TrainingIteration, r.TimestepsTotal, float64(r.EpisodeRewardMean), succ, time.Since(start).Seconds())
		if succ >= target {
			fmt.Printf("greedy success %.3f over 1000 episodes after %d env steps in %.1fs\n", succ, r.TimestepsTotal, time.Since(start).Seconds())
			return nil
		}
		if r.TimestepsTotal >= budget {
			fmt.Printf("budget of %d steps spent: greedy success %.3f after %.1fs\n", budget, succ, time.Since(start).Seconds())
			return nil
		}
	}
}

// Command rllib-scaling is the course's scaling experiment in Go: PPO on
// FrozenLake-v1 with fcnet_hiddens [32, 32] and RLlib's defaults, trained
// for 5 iterations with 2 rollout workers × 2 envs, then for 5 with 1 × 1,
// printing both elapsed times as the course does.
//
//	go run ./examples/rllib-scaling            # workers are goray actors
//	go run ./examples/rllib-scaling -local     # workers are goroutines
//
// The same experiment as a job file is job.toml next to this file.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/ppo"
)

func main() {
	goray.MaybeRunWorker()
	local := flag.Bool("local", false, "run the rollout workers as goroutines in this process instead of goray actors")
	iters := flag.Int("iters", 5, "train() calls per configuration")
	seed := flag.Int64("seed", 0, "seed (0: random, as RLlib's default)")
	repeat := flag.Int("repeat", 1, "run the pair this many times and print the medians (a benchmark on a shared machine)")
	flag.Parse()
	if err := run(*local, *iters, *seed, *repeat); err != nil {
		log.Fatal(err)
	}
}

func run(local bool, iters int, seed int64, repeat int) error {
	ctx := context.Background()
	if !local {
		// RLlib's placement group for 2 workers asks for 1 (driver) + 2
		// CPUs. Resources are logical; 8 leaves room for the actors too
		// (the runtime currently charges actors placed in a group against
		// the node as well as the group).
		rt, err := goray.Init(ctx, goray.Config{NumCPUs: float64(max(runtime.NumCPU(), 8))})
		if err != nil {
			return err
		}
		defer rt.Shutdown(context.Background())
		ctx = goray.WithRuntime(ctx, rt)
	}
	configure := func(workers, envs int) *ppo.Config {
		cfg := ppo.NewConfig().
			Environment("FrozenLake-v1", nil).
			Rollouts(rllib.Rollouts{NumRolloutWorkers: workers, NumEnvsPerWorker: envs}).
			Training(ppo.Training{Model: rllib.Model{FcnetHiddens: []int{32, 32}}})
		if seed != 0 {
			cfg.Debugging(rllib.Debugging{Seed: rllib.Seed(seed)})
		}
		cfg.InProcessWorkers = local
		return cfg
	}
	cases := []struct {
		cfg   *ppo.Config
		text  string
		times []float64
	}{
		{configure(2, 2), "Elapsed time with 2 workers, 2 envs each: %.1fs.\n", nil},
		{configure(1, 1), "Elapsed time with 1 worker, 1 env: %.1fs.\n", nil},
	}
	for r := 0; r < repeat; r++ {
		for k := range cases {
			d, err := once(ctx, cases[k].cfg, iters)
			if err != nil {
				return err
			}
			cases[k].times = append(cases[k].times, d)
			fmt.Printf(cases[k].text, d)
		}
	}
	if repeat > 1 {
		for _, c := range cases {
			slices.Sort(c.times)
			fmt.Printf("median of %d: "+strings.Replace(c.text, "%.1fs", "%.2fs", 1), repeat, c.times[len(c.times)/2])
		}
	}
	return nil
}

// once builds the algorithm, times iters train() calls as the course does
// (build excluded) and stops it.
func once(ctx context.Context, cfg *ppo.Config, iters int) (float64, error) {
	algo, err := cfg.Build(ctx)
	if err != nil {
		return 0, err
	}
	defer algo.Stop(ctx)
	t := time.Now()
	var sample, learn float64
	var last *rllib.Result
	for i := 0; i < iters; i++ {
		if last, err = algo.Train(ctx); err != nil {
			return 0, err
		}
		sample += last.Timers.SampleTimeMs
		learn += last.Timers.LearnTimeMs
	}
	d := time.Since(t).Seconds()
	fmt.Fprintf(os.Stderr, "  (episode_reward_mean %.3f, timesteps_total %d; per iteration: sample %.1f ms, learn %.1f ms)\n",
		float64(last.EpisodeRewardMean), last.TimestepsTotal, sample/float64(iters), learn/float64(iters))
	return d, nil
}

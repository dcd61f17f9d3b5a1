// Command rllib-scaling is the course's scaling experiment in Go: PPO on
// FrozenLake-v1 with fcnet_hiddens [32, 32] and RLlib's defaults, trained
// for 5 iterations with 2 rollout workers × 2 envs, then for 5 with 1 × 1,
// printing both elapsed times as the course does.
//
//	go run ./examples/rllib-scaling                    # workers are goray actors, envs in the env plugin
//	go run ./examples/rllib-scaling -repeat 5 -seed 1  # medians of 5 interleaved runs
//	go run ./examples/rllib-scaling -local             # workers are goroutines in this process
//	go run ./examples/rllib-scaling -local -inprocess-envs  # ... and the envs run in process too
//
// With -scale it is instead the sampling benchmark: PPO with 1, 2, 4 and 8
// rollout workers (actors), reporting env steps sampled per second
// (timers.sample_throughput) and learner samples per second
// (timers.learn_throughput), medians over the iterations after the first:
//
//	go run ./examples/rllib-scaling -scale 1,2,4,8 -env CartPole-v1 -envs 4 -iters 6 -seed 1
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
	"strconv"
	"strings"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/ppo"
	"github.com/goray/goray/libs/rllib/rollout"
)

type options struct {
	local, inprocEnvs bool
	iters             int
	seed              int64
	repeat            int
	scale             []int
	env               string
	envs              int
}

func main() {
	goray.MaybeRunWorker()
	var o options
	flag.BoolVar(&o.local, "local", false, "run the rollout workers as goroutines in this process instead of goray actors")
	flag.BoolVar(&o.inprocEnvs, "inprocess-envs", false, "with -local: step the envs in this process instead of in the env plugin subprocess")
	flag.IntVar(&o.iters, "iters", 5, "train() calls per configuration")
	flag.Int64Var(&o.seed, "seed", 0, "seed (0: random, as RLlib's default)")
	flag.IntVar(&o.repeat, "repeat", 1, "run the pair this many times and print the medians (a benchmark on a shared machine)")
	scale := flag.String("scale", "", "comma-separated rollout worker counts: run the sampling benchmark instead of the experiment")
	flag.StringVar(&o.env, "env", "FrozenLake-v1", "env of the -scale benchmark")
	flag.IntVar(&o.envs, "envs", 2, "sub-envs per worker in the -scale benchmark")
	flag.Parse()
	for _, f := range strings.Split(*scale, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			log.Fatalf("-scale %q: want positive worker counts like 1,2,4,8", *scale)
		}
		o.scale = append(o.scale, n)
	}
	if o.inprocEnvs && !o.local {
		log.Fatal("-inprocess-envs needs -local: actor workers make their envs through the env registry in their own process")
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	ctx := context.Background()
	if !o.local {
		// RLlib's placement group for n workers asks for 1 (driver) + n
		// CPUs. Resources are logical, so on a machine with fewer cores the
		// embedded node offers that many, as the course's server had.
		most := 2
		if len(o.scale) > 0 {
			most = slices.Max(o.scale)
		}
		rt, err := goray.Init(ctx, goray.Config{NumCPUs: float64(max(runtime.NumCPU(), most+1))})
		if err != nil {
			return err
		}
		defer rt.Shutdown(context.Background())
		ctx = goray.WithRuntime(ctx, rt)
	}
	if len(o.scale) > 0 {
		return scaling(ctx, o)
	}
	configure := func(workers, envs int) *ppo.Config {
		cfg := ppo.NewConfig().
			Environment("FrozenLake-v1", nil).
			Rollouts(rllib.Rollouts{NumRolloutWorkers: workers, NumEnvsPerWorker: envs}).
			Training(ppo.Training{Model: rllib.Model{FcnetHiddens: []int{32, 32}}})
		return o.apply(cfg)
	}
	cases := []struct {
		cfg   *ppo.Config
		text  string
		times []float64
	}{
		{configure(2, 2), "Elapsed time with 2 workers, 2 envs each: %.1fs.\n", nil},
		{configure(1, 1), "Elapsed time with 1 worker, 1 env: %.1fs.\n", nil},
	}
	for r := 0; r < o.repeat; r++ {
		for k := range cases {
			res, d, err := once(ctx, cases[k].cfg, o.iters)
			if err != nil {
				return err
			}
			last := res[len(res)-1]
			var sample, learn float64
			for _, x := range res {
				sample += x.Timers.SampleTimeMs
				learn += x.Timers.LearnTimeMs
			}
			fmt.Fprintf(os.Stderr, "  (episode_reward_mean %.3f, timesteps_total %d; per iteration: sample %.1f ms, learn %.1f ms)\n",
				float64(last.EpisodeRewardMean), last.TimestepsTotal, sample/float64(len(res)), learn/float64(len(res)))
			cases[k].times = append(cases[k].times, d)
			fmt.Printf(cases[k].text, d)
		}
	}
	if o.repeat > 1 {
		for _, c := range cases {
			fmt.Printf("median of %d: "+strings.Replace(c.text, "%.1fs", "%.2fs", 1), o.repeat, median(c.times))
		}
	}
	return nil
}

// apply sets what the flags choose on cfg.
func (o options) apply(cfg *ppo.Config) *ppo.Config {
	if o.seed != 0 {
		cfg.Debugging(rllib.Debugging{Seed: rllib.Seed(o.seed)})
	}
	cfg.InProcessWorkers = o.local
	if o.inprocEnvs {
		cfg.WithEnvMaker(rollout.InProcessEnvMaker)
	}
	return cfg
}

// scaling is the sampling benchmark: for each worker count, the medians of
// sample and learn throughput over the iterations after the first (which
// pays for warming up the worker processes and caches).
func scaling(ctx context.Context, o options) error {
	where := "goray actors, envs in the env plugin"
	switch {
	case o.local && o.inprocEnvs:
		where = "goroutines, envs in process"
	case o.local:
		where = "goroutines, envs in the env plugin"
	}
	fmt.Printf("PPO on %s, %d sub-envs per worker, RLlib's defaults (train_batch_size 4000), %d iterations, workers as %s, %d CPUs\n",
		o.env, o.envs, o.iters, where, runtime.NumCPU())
	fmt.Printf("%8s %22s %22s %14s %14s\n", "workers", "env steps/s sampled", "learner samples/s", "sample ms", "learn ms")
	for _, n := range o.scale {
		cfg := ppo.NewConfig().
			Environment(o.env, nil).
			Rollouts(rllib.Rollouts{NumRolloutWorkers: n, NumEnvsPerWorker: o.envs})
		if o.env == "FrozenLake-v1" {
			cfg.Training(ppo.Training{Model: rllib.Model{FcnetHiddens: []int{32, 32}}})
		}
		res, _, err := once(ctx, o.apply(cfg), o.iters)
		if err != nil {
			return fmt.Errorf("%d workers: %w", n, err)
		}
		if len(res) > 1 {
			res = res[1:]
		}
		pick := func(f func(rllib.Timers) float64) float64 {
			var xs []float64
			for _, r := range res {
				xs = append(xs, f(r.Timers))
			}
			return median(xs)
		}
		fmt.Printf("%8d %22.0f %22.0f %14.1f %14.1f\n", n,
			pick(func(t rllib.Timers) float64 { return t.SampleThroughput }),
			pick(func(t rllib.Timers) float64 { return t.LearnThroughput }),
			pick(func(t rllib.Timers) float64 { return t.SampleTimeMs }),
			pick(func(t rllib.Timers) float64 { return t.LearnTimeMs }))
	}
	return nil
}

// once builds the algorithm, times iters train() calls as the course does
// (build excluded) and stops it.
func once(ctx context.Context, cfg *ppo.Config, iters int) ([]*rllib.Result, float64, error) {
	algo, err := cfg.Build(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer algo.Stop(ctx)
	t := time.Now()
	var res []*rllib.Result
	for i := 0; i < iters; i++ {
		r, err := algo.Train(ctx)
		if err != nil {
			return nil, 0, err
		}
		res = append(res, r)
	}
	return res, time.Since(t).Seconds(), nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

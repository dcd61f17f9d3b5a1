package ppo

import (
	"context"
	"testing"

	"github.com/goray/goray/libs/rllib"
)

// BenchmarkTrainFrozenLake is one train() of the course's experiment
// (FrozenLake-v1, [32, 32], RLlib defaults, 2 workers × 2 envs): 4000
// sampled steps and 30 epochs × 31 minibatches of 128.
func BenchmarkTrainFrozenLake(b *testing.B) {
	cfg := frozenLakeConfig(2, 2)
	cfg.Env.EnvConfig = nil
	benchTrain(b, cfg)
}

// BenchmarkTrainCartPoleDefaults is one train() with every RLlib default
// (fcnet [256, 256], 4000 steps, 30 × 31 minibatches) on CartPole-v1 with
// the local worker.
func BenchmarkTrainCartPoleDefaults(b *testing.B) {
	cfg := NewConfig().Environment("CartPole-v1", nil).Debugging(rllib.Debugging{Seed: rllib.Seed(1)}).WithEnvMaker(testMaker)
	cfg.Rollout.NumRolloutWorkers = 0
	benchTrain(b, cfg)
}

// benchTrain builds cfg and times its Train calls, reporting the mean
// learner throughput.
func benchTrain(b *testing.B, cfg *Config) {
	ctx := context.Background()
	algo, err := cfg.Build(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer algo.Stop(ctx)
	b.ResetTimer()
	var thr float64
	for i := 0; i < b.N; i++ {
		r, err := algo.Train(ctx)
		if err != nil {
			b.Fatal(err)
		}
		thr += r.Timers.LearnThroughput
	}
	b.ReportMetric(thr/float64(b.N), "learn_samples/s")
}

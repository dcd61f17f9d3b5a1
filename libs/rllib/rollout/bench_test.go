package rollout

import (
	"context"
	"fmt"
	"testing"

	"github.com/goray/goray/libs/rllib"
)

// BenchmarkSampleCartPole reports env steps sampled per second by 1, 2, 4
// and 8 in-process workers (one goroutine each, 4 sub-envs per worker, a
// [64, 64] policy), collecting 4000 steps per op as one PPO iteration does,
// with the envs in the built-in env plugin (the default) and in process.
func BenchmarkSampleCartPole(b *testing.B) {
	for _, path := range []struct {
		name  string
		maker EnvMaker
	}{{"plugin", DefaultEnvMaker}, {"inprocess", InProcessEnvMaker}} {
		for _, workers := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%s/workers=%d", path.name, workers), func(b *testing.B) {
				ctx := context.Background()
				var cfgs []WorkerConfig
				r := rllib.Rollouts{NumRolloutWorkers: workers, NumEnvsPerWorker: 4}
				for i, frag := range r.FragmentLengths(4000) {
					cfgs = append(cfgs, WorkerConfig{Env: "CartPole-v1", NumEnvs: 4, FragmentLength: frag, BatchMode: rllib.TruncateEpisodes,
						Seed: 1, WorkerIndex: i + 1, Model: rllib.Model{FcnetHiddens: []int{64, 64}, FcnetActivation: "tanh"}, Gamma: 0.99, Lambda: 1})
				}
				set, err := NewInProcessSet(ctx, cfgs, path.maker)
				if err != nil {
					b.Fatal(err)
				}
				defer set.Stop(ctx)
				weights := make([]float32, set.Workers()[0].Policy().Model.NumParams())
				if err := set.SyncWeights(ctx, weights); err != nil {
					b.Fatal(err)
				}
				steps := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					bs, err := set.Sample(ctx, 4000)
					if err != nil {
						b.Fatal(err)
					}
					for _, x := range bs {
						steps += x.Len()
					}
				}
				b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "env_steps/s")
			})
		}
	}
}

// BenchmarkSampleFrozenLake is one rollout worker's share of the course's
// scaling experiment: 4000 steps of FrozenLake-v1 (short episodes, so many
// resets) with a [32, 32] policy, through the built-in env plugin and in
// process.
func BenchmarkSampleFrozenLake(b *testing.B) {
	for _, path := range []struct {
		name  string
		maker EnvMaker
	}{{"plugin", DefaultEnvMaker}, {"inprocess", InProcessEnvMaker}} {
		for _, n := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/envs=%d", path.name, n), func(b *testing.B) {
				ctx := context.Background()
				cfg := WorkerConfig{Env: "FrozenLake-v1", NumEnvs: n, FragmentLength: 4000 / n, BatchMode: rllib.TruncateEpisodes,
					Seed: 1, WorkerIndex: 1, Model: rllib.Model{FcnetHiddens: []int{32, 32}, FcnetActivation: "tanh"}, Gamma: 0.99, Lambda: 1}
				w, err := NewRolloutWorker(ctx, cfg, path.maker)
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				if err := w.SetWeights(make([]float32, w.Policy().Model.NumParams())); err != nil {
					b.Fatal(err)
				}
				steps := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					sb, err := w.Sample(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					steps += sb.Len()
				}
				b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "env_steps/s")
			})
		}
	}
}

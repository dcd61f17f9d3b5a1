package rollout

import (
	"context"
	"fmt"
	"testing"

	"github.com/goray/goray/libs/rllib"
)

// BenchmarkSampleCartPole reports env steps sampled per second by 1, 2, 4
// and 8 in-process workers (one goroutine each, 4 sub-envs per worker, a
// [64, 64] policy), collecting 4000 steps per op as one PPO iteration does.
func BenchmarkSampleCartPole(b *testing.B) {
	for _, workers := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ctx := context.Background()
			var cfgs []WorkerConfig
			r := rllib.Rollouts{NumRolloutWorkers: workers, NumEnvsPerWorker: 4}
			for i, frag := range r.FragmentLengths(4000) {
				cfgs = append(cfgs, WorkerConfig{Env: "CartPole-v1", NumEnvs: 4, FragmentLength: frag, BatchMode: rllib.TruncateEpisodes,
					Seed: 1, WorkerIndex: i + 1, Model: rllib.Model{FcnetHiddens: []int{64, 64}, FcnetActivation: "tanh"}, Gamma: 0.99, Lambda: 1})
			}
			set, err := NewInProcessSet(ctx, cfgs, DefaultEnvMaker)
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

package envs_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/classic"
)

// benchEnv is the env the path benchmarks step: goray's Gymnasium-exact
// CartPole-v1.
const benchEnv = "CartPole-v1"

func benchFactory() envs.Factory { return classic.Factories()[benchEnv] }

// BenchmarkVectorStep measures steps/s of a CartPole-shaped vector at
// N = 1, 16, 256 sub-envs in process and through the plugin (shared-memory
// transport, gRPC stream and gRPC unary). ns/op is the latency of one
// batched step; steps/s counts sub-env steps.
// Run: go test -run '^$' -bench VectorStep ./plugins/envs/
func BenchmarkVectorStep(b *testing.B) {
	for _, path := range []string{"inprocess", "plugin", "plugin-stream", "plugin-unary"} {
		for _, n := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/N=%d", path, n), func(b *testing.B) {
				ctx := context.Background()
				cfg := envs.VectorConfig{ID: benchEnv, NumEnvs: n, NoInfos: true}
				var v envs.VectorEnv
				var err error
				switch path {
				case "inprocess":
					v, err = envs.NewVector(benchFactory(), cfg)
				default:
					v, err = envs.MakePluginVector(ctx, builtinBin(testExe(b)), cfg, envs.HostOptions{
						UnaryStep: path == "plugin-unary", NoFastTransport: path == "plugin-stream"})
				}
				if err != nil {
					b.Fatal(err)
				}
				defer v.Close()
				if _, err := v.Reset(ctx, envs.SeedsFrom(0, n), nil); err != nil {
					b.Fatal(err)
				}
				pool := actionPool(n)
				b.ReportAllocs()
				b.ResetTimer()
				i := 0
				for b.Loop() {
					if _, err := v.Step(ctx, pool[i&63]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "steps/s")
			})
		}
	}
}

// actionPool is a fixed pool of random CartPole action batches (seeded) so
// that episodes end and autoreset runs, as in a real rollout.
func actionPool(n int) [][]float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	pool := make([][]float64, 64)
	for i := range pool {
		pool[i] = make([]float64, n)
		for j := range pool[i] {
			pool[i][j] = float64(rng.IntN(2))
		}
	}
	return pool
}

// BenchmarkPluginRatio is the goal as one number: CartPole-v1
// steps/s through the plugin (default transport, shm/1) as a percentage
// of the in-process rate, measured in the same process with the two paths
// interleaved in chunks of 16 steps so that the load of a shared machine
// hits both alike. Reports both rates and plugin-% (goal at N=256: ≥ 50).
// Run: go test -run '^$' -bench PluginRatio -count=5 ./plugins/envs/
func BenchmarkPluginRatio(b *testing.B) {
	for _, n := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			ctx := context.Background()
			cfg := envs.VectorConfig{ID: benchEnv, NumEnvs: n, NoInfos: true}
			local, err := envs.NewVector(benchFactory(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer local.Close()
			remote, err := envs.MakePluginVector(ctx, builtinBin(testExe(b)), cfg, envs.HostOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer remote.Close()
			if remote.Transport() != envs.TransportShm {
				b.Fatalf("plugin transport = %s, want %s", remote.Transport(), envs.TransportShm)
			}
			pool := actionPool(n)
			var tLocal, tRemote time.Duration
			i := 0
			for _, v := range []envs.VectorEnv{local, remote} {
				if _, err := v.Reset(ctx, envs.SeedsFrom(0, n), nil); err != nil {
					b.Fatal(err)
				}
			}
			const chunk = 16
			for b.Loop() {
				for k, v := range []envs.VectorEnv{local, remote} {
					t0 := time.Now()
					for j := 0; j < chunk; j++ {
						if _, err := v.Step(ctx, pool[(i+j)&63]); err != nil {
							b.Fatal(err)
						}
					}
					if k == 0 {
						tLocal += time.Since(t0)
					} else {
						tRemote += time.Since(t0)
					}
				}
				i += chunk
			}
			steps := float64(n) * float64(i)
			b.ReportMetric(steps/tLocal.Seconds(), "inproc-steps/s")
			b.ReportMetric(steps/tRemote.Seconds(), "plugin-steps/s")
			b.ReportMetric(100*tLocal.Seconds()/tRemote.Seconds(), "plugin-%")
		})
	}
}

// BenchmarkPluginStepLatency reports the distribution of single-env step
// latency through the plugin stream (goal: ≤ 100 µs).
// Run: go test -run '^$' -bench PluginStepLatency ./plugins/envs/
func BenchmarkPluginStepLatency(b *testing.B) {
	ctx := context.Background()
	v, err := envs.MakePluginVector(ctx, builtinBin(testExe(b)), envs.VectorConfig{ID: benchEnv, NumEnvs: 1, NoInfos: true}, envs.HostOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Reset(ctx, []int64{0}, nil); err != nil {
		b.Fatal(err)
	}
	act := []float64{0}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		act[0] = float64(i & 1)
		t0 := time.Now()
		if _, err := v.Step(ctx, act); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		i++
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

package tune

import (
	"context"
	"testing"
	"time"
)

func trivial(ctx context.Context, p Params, s Session) error {
	return s.Report(ctx, Metrics{"v": p.Float("x", 0)}, nil)
}

// BenchmarkTrialLaunch runs experiments of 200 trivial trials on the
// in-process executor and reports the wall time per trial ("ms/trial"):
// suggestion, directory and files, start, one result, completion.
//
//	go test -run '^$' -bench TrialLaunch -benchtime 3x ./libs/tune/
func BenchmarkTrialLaunch(b *testing.B) {
	const n = 200
	for i := 0; i < b.N; i++ {
		tuner, err := NewTuner(TrainFunc(trivial), map[string]any{"x": Uniform(0, 1)},
			Config{NumSamples: n, Metric: "v", Mode: "max", Seed: uint64(i), ResourcesPerTrial: Resources{"CPU": 1}},
			RunConfig{Name: "bench", StoragePath: b.TempDir(), NoPlot: true})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		grid, err := tuner.Fit(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if grid.Len() != n || grid.NumTerminated() != n {
			b.Fatalf("%d trials, %d terminated", grid.Len(), grid.NumTerminated())
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/n, "ms/trial")
	}
}

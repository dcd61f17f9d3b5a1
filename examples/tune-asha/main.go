// Command tune-asha searches a synthetic learning curve with ASHA, running
// every trial as a goray actor (or in-process with -local).
//
//	go run ./examples/tune-asha -samples 32
//	goray tune results ~/goray_results/tune-asha
//
// Each trial's accuracy follows acc(t) = q·(1 − e^(−t/τ)) with q and τ from
// the search space; ASHA stops the trials that trail at each rung
// (iterations 1, 4, 16) and the best config is printed at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/tune"
	"github.com/goray/goray/libs/tune/actorexec"
)

// curve is the trainable; registered by name so worker processes can run it.
func curve(ctx context.Context, p tune.Params, s tune.Session) error {
	q, tau := p.Float("q", 0), p.Float("tau", 5)
	step := 0
	if ck := s.Checkpoint(); ck != nil {
		if err := ck.DecodeJSON(&step); err != nil {
			return err
		}
	}
	for {
		step++
		time.Sleep(time.Duration(p.Int("work_ms", 5)) * time.Millisecond) // stands in for a training step
		ck, err := tune.CheckpointJSON(step)
		if err != nil {
			return err
		}
		if err := s.Report(ctx, tune.Metrics{"acc": q * (1 - math.Exp(-float64(step)/tau))}, ck); err != nil {
			return err
		}
	}
}

func init() { tune.RegisterFunc("tune-asha.curve", curve) }

func main() {
	goray.MaybeRunWorker()
	samples := flag.Int("samples", 32, "number of trials")
	local := flag.Bool("local", false, "run trials in this process instead of as goray actors")
	dir := flag.String("dir", "", "storage path (default ~/goray_results)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *samples, *local, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "tune-asha:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, samples int, local bool, dir string) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var exec tune.Executor = &tune.InProcessExecutor{}
	if !local {
		rt, err := goray.Init(ctx, goray.Config{Logger: logger})
		if err != nil {
			return err
		}
		defer rt.Shutdown(context.Background())
		exec = actorexec.New(rt)
	}
	asha := tune.NewASHA()
	asha.MaxT = 64
	tuner, err := tune.NewTuner("tune-asha.curve", map[string]any{
		"q":       tune.Uniform(0.5, 1),
		"tau":     tune.LogUniform(1, 30),
		"work_ms": 5,
	}, tune.Config{NumSamples: samples, Metric: "acc", Mode: "max", Scheduler: asha, Seed: 1, Executor: exec, Logger: logger},
		tune.RunConfig{Name: "tune-asha", StoragePath: dir, Progress: os.Stdout, Checkpoint: tune.CheckpointConfig{NumToKeep: 1}})
	if err != nil {
		return err
	}
	grid, err := tuner.Fit(ctx)
	if err != nil {
		return err
	}
	best, err := grid.GetBestResult("", "", tune.ScopeLast)
	if err != nil {
		return err
	}
	acc, _ := best.Metrics.Float("acc")
	fmt.Printf("Best trial %s: acc=%.4f q=%.3f tau=%.2f (%d iterations)\nResults: %s\n",
		best.TrialID, acc, best.Params.Float("q", 0), best.Params.Float("tau", 0), best.Metrics.Iteration(), grid.Path)
	return nil
}

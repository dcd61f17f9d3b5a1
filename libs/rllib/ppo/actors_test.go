package ppo

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/rollout"
)

// initGoray starts an embedded node. Its CPUs are logical; 16 leaves room
// for several worker sets (each a driver bundle plus one bundle per worker)
// alive at once.
func initGoray(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	rt, err := goray.Init(ctx, goray.Config{NumCPUs: 16, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Shutdown(context.Background()) })
	return goray.WithRuntime(ctx, rt)
}

// TestActorWorkersMatchInProcess: rollout workers as goray actors give
// the same training, bit for bit, as the same workers in-process; a killed
// worker is recreated and counted.
func TestActorWorkersMatchInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	ctx := initGoray(t)
	run := func(inProcess bool) ([]float32, *PPO) {
		cfg := smallConfig(2)
		cfg.InProcessWorkers = inProcess
		cfg.Rollout.RecreateFailedWorkers = true
		algo, err := cfg.Build(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			r, err := algo.Train(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.NumHealthyWorkers != 2 {
				t.Fatalf("num_healthy_workers = %d, want 2", r.NumHealthyWorkers)
			}
		}
		return algo.Weights(), algo
	}
	remote, ra := run(false)
	local, la := run(true)
	defer la.Stop(ctx)
	defer ra.Stop(ctx)
	if _, ok := ra.workers.(*rollout.ActorSet); !ok {
		t.Fatalf("worker set is %T, want actors", ra.workers)
	}
	if !slices.Equal(local, remote) {
		t.Fatal("actor workers trained different weights than in-process workers")
	}

	// A checkpoint taken with actor workers resumes on new actors exactly.
	dir := t.TempDir()
	if err := ra.Save(ctx, dir); err != nil {
		t.Fatal(err)
	}
	resumed, err := FromCheckpoint(ctx, dir, func(c *Config) { c.EnvMaker = testMaker })
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Stop(ctx)
	if _, err := resumed.Train(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := la.Train(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(resumed.Weights(), la.Weights()) {
		t.Fatal("resuming on actors diverged from the uninterrupted run")
	}

	// Kill worker 1's actor: the next Train recreates it and goes on.
	h := ra.workers.(*rollout.ActorSet).Handles()[0]
	if err := goray.Kill(ctx, h, true); err != nil {
		t.Fatal(err)
	}
	r, err := ra.Train(ctx)
	if err != nil {
		t.Fatalf("train after a worker died: %v", err)
	}
	if r.NumRemoteWorkerRestarts != 1 || r.NumHealthyWorkers != 2 {
		t.Fatalf("num_remote_worker_restarts = %d, num_healthy_workers = %d; want 1 and 2", r.NumRemoteWorkerRestarts, r.NumHealthyWorkers)
	}
	_ = rllib.DefaultPolicyID
}

func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

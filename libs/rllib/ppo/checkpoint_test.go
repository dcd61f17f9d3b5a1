package ppo

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/goray/goray/libs/rllib"
)

func smallConfig(workers int) *Config {
	cfg := frozenLakeConfig(workers, 2)
	cfg.Env.EnvConfig = nil // slippery: the env RNG matters
	cfg.Train.TrainBatchSize = 400
	cfg.Train.SgdMinibatchSize = 64
	cfg.Train.NumSgdIter = 3
	cfg.Train.Lr = 1e-3
	return cfg
}

// comparable strips the wall-clock fields from a result.
func comparable(t *testing.T, r *rllib.Result) string {
	t.Helper()
	c := *r
	c.TimeThisIterS, c.TimeTotalS, c.TimeSinceRestore, c.Timestamp, c.Date = 0, 0, 0, 0, ""
	c.Timers = rllib.Timers{}
	c.TimestepsSinceRestore, c.IterationsSinceRestore = 0, 0
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTrainingIsBitReproducible(t *testing.T) {
	ctx := context.Background()
	run := func() ([]float32, string) {
		algo, err := smallConfig(2).Build(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer algo.Stop(ctx)
		var last *rllib.Result
		for i := 0; i < 3; i++ {
			if last, err = algo.Train(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return algo.Weights(), comparable(t, last)
	}
	w1, r1 := run()
	// The learner's sharding is fixed, so one core gives the same bits.
	prev := runtime.GOMAXPROCS(1)
	w2, r2 := run()
	runtime.GOMAXPROCS(prev)
	if !slices.Equal(w1, w2) {
		t.Fatal("weights differ between two runs with the same seed (GOMAXPROCS 1 vs default)")
	}
	if r1 != r2 {
		t.Fatalf("results differ:\n%s\n%s", r1, r2)
	}
}

func TestCheckpointResumeIsBitExact(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Uninterrupted: 3 iterations.
	full, err := smallConfig(0).Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Stop(ctx)
	var want *rllib.Result
	for i := 0; i < 3; i++ {
		if want, err = full.Train(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Interrupted: 2 iterations, save, restore, 1 more.
	first, err := smallConfig(0).Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := first.Train(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ckpt := filepath.Join(dir, "checkpoint_000002")
	if err := first.Save(ctx, ckpt); err != nil {
		t.Fatal(err)
	}
	first.Stop(ctx)
	resumed, err := FromCheckpoint(ctx, ckpt, func(c *Config) { c.EnvMaker = testMaker; c.InProcessWorkers = true })
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Stop(ctx)
	if resumed.Iteration() != 2 {
		t.Fatalf("restored iteration %d, want 2", resumed.Iteration())
	}
	got, err := resumed.Train(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(full.Weights(), resumed.Weights()) {
		t.Fatal("weights after resume differ from the uninterrupted run")
	}
	if a, b := comparable(t, want), comparable(t, got); a != b {
		t.Fatalf("result after resume differs:\n%s\n%s", a, b)
	}
	// The metadata is versioned JSON; tensors are raw little-endian float32.
	meta, err := os.ReadFile(filepath.Join(ckpt, rllib.CheckpointMetaFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(meta, &m); err != nil {
		t.Fatal(err)
	}
	if m["format_version"] != float64(rllib.CheckpointFormatVersion) || m["algorithm"] != "PPO" {
		t.Fatalf("metadata %v", m)
	}
	// The resume replayed running episodes (the log holds steps, not only
	// the resets), so the test covers restoring mid-episode env state.
	ws := m["state"].(map[string]any)["rollout_workers"].([]any)
	if ops := ws[0].(map[string]any)["ops"].([]any); len(ops) < 2 {
		t.Fatalf("worker op log has %d entries; the save point was not mid-episode", len(ops))
	}
	fi, err := os.Stat(filepath.Join(ckpt, "default_policy.params.bin"))
	if err != nil || fi.Size() != int64(4*len(full.Weights())) {
		t.Fatalf("params file: %v size %v, want %d bytes", err, fi, 4*len(full.Weights()))
	}
}

func TestFromCheckpointErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := FromCheckpoint(ctx, t.TempDir()); !errors.Is(err, rllib.ErrCheckpoint) {
		t.Fatalf("empty dir: %v, want ErrCheckpoint", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, rllib.CheckpointMetaFile), []byte(`{"format":"goray-rllib","format_version":99}`), 0o644)
	if _, err := FromCheckpoint(ctx, dir); !errors.Is(err, rllib.ErrCheckpoint) {
		t.Fatalf("future version: %v, want ErrCheckpoint", err)
	}
}

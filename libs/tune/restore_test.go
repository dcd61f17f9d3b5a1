package tune

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

const driverEnv = "GORAY_TUNE_TEST_DRIVER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(driverEnv); dir != "" {
		// Re-executed as the experiment driver that the parent SIGKILLs.
		_, err := restoreExperiment(dir, nil).Fit(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, "driver:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const restoreIters = 12

// countFunc counts to restoreIters, checkpointing every iteration; each
// iteration takes a little time so the parent can kill it mid-run.
func countFunc(ctx context.Context, p Params, s Session) error {
	step := 0
	if ck := s.Checkpoint(); ck != nil {
		if err := ck.DecodeJSON(&step); err != nil {
			return err
		}
	}
	for step < restoreIters {
		select {
		case <-time.After(time.Duration(p.Int("ms", 10)) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		step++
		ck, _ := CheckpointJSON(step)
		if err := s.Report(ctx, Metrics{"step": step, "score": float64(step) * p.Float("k", 1)}, ck); err != nil {
			return err
		}
	}
	return nil
}

var restoreSpace = map[string]any{"k": GridSearch(1.0, 2.0, 3.0, 4.0, 5.0, 6.0), "ms": 8}

func restoreExperiment(dir string, t *testing.T) *Tuner {
	tuner, err := NewTuner(TrainFunc(countFunc), restoreSpace,
		Config{Metric: "score", Mode: "max", MaxConcurrentTrials: 2, Seed: 5},
		RunConfig{Name: "killme", StoragePath: dir, NoPlot: true})
	if err != nil {
		if t != nil {
			t.Fatal(err)
		}
		panic(err)
	}
	return tuner
}

func iterations(t *testing.T, path string) []int {
	t.Helper()
	rs, err := readResults(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []int
	for _, r := range rs {
		out = append(out, r.Iteration())
	}
	return out
}

func TestRestoreAfterDriverSIGKILL(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "killme")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), driverEnv+"="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once some trial finished and another is part-way.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("driver made no progress")
		}
		done, partial := 0, 0
		dirs, _ := filepath.Glob(filepath.Join(exp, "train_*"))
		for _, d := range dirs {
			its := iterations(t, filepath.Join(d, ResultFile))
			switch {
			case len(its) > restoreIters:
				done++
			case len(its) >= 2:
				partial++
			}
		}
		if done >= 1 && partial >= 1 {
			break
		}
		time.Sleep(2 * time.Millisecond) // polling the child's files, not synchronising
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	before := map[string][]int{}
	dirs, _ := filepath.Glob(filepath.Join(exp, "train_*"))
	for _, d := range dirs {
		before[filepath.Base(d)] = iterations(t, filepath.Join(d, ResultFile))
	}
	if !CanRestore(exp) {
		t.Fatal("no experiment state after the kill")
	}
	tuner, err := Restore(context.Background(), exp, TrainFunc(countFunc), WithParamSpace(restoreSpace))
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if grid.Len() != 6 {
		t.Fatalf("%d trials after restore, want 6", grid.Len())
	}
	unfinished := 0
	for _, r := range grid.Results {
		if r.Status != Terminated || r.Metrics.Iteration() != restoreIters {
			t.Errorf("%s: %s at iteration %d", r.TrialID, r.Status, r.Metrics.Iteration())
		}
		its := iterations(t, filepath.Join(r.Path, ResultFile))
		old := before[filepath.Base(r.Path)]
		if len(old) > restoreIters && len(its) != len(old) {
			t.Errorf("%s had finished before the kill but was run again: %v → %v", r.TrialID, old, its)
		}
		maxSeen := 0
		for _, it := range its {
			if it == 1 && maxSeen >= 1 {
				t.Errorf("%s restarted from scratch: iterations %v", r.TrialID, its)
				break
			}
			maxSeen = max(maxSeen, it)
		}
		if len(old) <= restoreIters {
			unfinished++
		}
	}
	if unfinished == 0 {
		t.Error("every trial had finished before the kill: the test proved nothing")
	}
	t.Logf("before kill: %v", before)
}

// flaky fails once at iteration 3 per trial, the first time it gets there.
type flaky struct {
	mu     sync.Mutex
	failed map[string]bool
}

func (f *flaky) fn(ctx context.Context, p Params, s Session) error {
	step := 0
	if ck := s.Checkpoint(); ck != nil {
		ck.DecodeJSON(&step)
	}
	for step < 5 {
		step++
		f.mu.Lock()
		boom := step == 3 && !f.failed[s.TrialID()]
		if boom {
			f.failed[s.TrialID()] = true
		}
		f.mu.Unlock()
		if boom {
			return errors.New("injected failure")
		}
		ck, _ := CheckpointJSON(step)
		if err := s.Report(ctx, Metrics{"step": step}, ck); err != nil {
			return err
		}
	}
	return nil
}

func TestFailureRetriedFromCheckpoint(t *testing.T) {
	for _, c := range []struct {
		maxFailures int
		want        Status
	}{{1, Terminated}, {0, Errored}} {
		t.Run(fmt.Sprint("max_failures=", c.maxFailures), func(t *testing.T) {
			f := &flaky{failed: map[string]bool{}}
			tuner, err := NewTuner(TrainFunc(f.fn), map[string]any{"i": GridSearch(1, 2)}, Config{},
				RunConfig{StoragePath: t.TempDir(), Name: "flaky", Failure: FailureConfig{MaxFailures: c.maxFailures}})
			if err != nil {
				t.Fatal(err)
			}
			grid, err := tuner.Fit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range grid.Results {
				if r.Status != c.want {
					t.Errorf("%s: %s, want %s", r.TrialID, r.Status, c.want)
				}
				its := iterations(t, filepath.Join(r.Path, ResultFile))
				if c.want == Terminated && fmt.Sprint(its) != "[1 2 3 4 5 5]" {
					t.Errorf("%s: iterations %v, want a resume at 3 from checkpoint 2", r.TrialID, its)
				}
				if c.want == Errored {
					if !errors.Is(r.Err, ErrTrialFailed) {
						t.Errorf("%s: err %v", r.TrialID, r.Err)
					}
					if _, err := os.Stat(filepath.Join(r.Path, ErrorFile)); err != nil {
						t.Error(err)
					}
				}
			}
			if c.want == Errored && len(grid.Errors()) != 2 {
				t.Errorf("Errors() = %v", grid.Errors())
			}
		})
	}
}

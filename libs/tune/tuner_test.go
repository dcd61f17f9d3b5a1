package tune

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// quadFunc reports score = -(x-3)^2 - iteration penalty, checkpointing its
// step counter so resumes continue.
func quadFunc(ctx context.Context, p Params, s Session) error {
	x := p.Float("x", 0)
	start := 0
	if ck := s.Checkpoint(); ck != nil {
		var st struct{ Step int }
		if err := ck.DecodeJSON(&st); err != nil {
			return err
		}
		start = st.Step
	}
	for i := start; i < p.Int("iters", 5); i++ {
		ck, _ := CheckpointJSON(struct{ Step int }{i + 1})
		if err := s.Report(ctx, Metrics{"score": -(x-3)*(x-3) + float64(i)}, ck); err != nil {
			return err
		}
	}
	return nil
}

func TestFitGridFunctionTrainable(t *testing.T) {
	dir := t.TempDir()
	tuner, err := NewTuner(TrainFunc(quadFunc), map[string]any{
		"x":      GridSearch(1.0, 3.0, 5.0),
		"iters":  4,
		"nested": map[string]any{"lr": LogUniform(1e-4, 1e-1)},
	}, Config{Metric: "score", Mode: "max", Seed: 1, NumSamples: 2},
		RunConfig{Name: "grid", StoragePath: dir})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if grid.Len() != 6 {
		t.Fatalf("got %d trials, want 3 grid points x 2 samples = 6", grid.Len())
	}
	best, err := grid.GetBestResult("", "", ScopeLast)
	if err != nil {
		t.Fatal(err)
	}
	if x := best.Params.Float("x", 0); x != 3 {
		t.Errorf("best x = %v, want 3", x)
	}
	for _, r := range grid.Results {
		if r.Status != Terminated {
			t.Errorf("%s: status %s", r.TrialID, r.Status)
		}
		h, err := r.History()
		if err != nil {
			t.Fatal(err)
		}
		// 4 reports + the final done=true line Ray writes when the function returns.
		if len(h) != 5 || h[3].Iteration() != 4 || !h[4].Done() || h[0].Done() {
			t.Errorf("%s: history %d lines, last iter %d", r.TrialID, len(h), h[len(h)-1].Iteration())
		}
		for _, f := range []string{ParamsFile, ResultFile, ProgressFile, "checkpoint_000003"} {
			if _, err := os.Stat(filepath.Join(r.Path, f)); err != nil {
				t.Errorf("%s: %v", r.TrialID, err)
			}
		}
		if lr := r.Params.Float("nested/lr", 0); lr < 1e-4 || lr > 1e-1 {
			t.Errorf("lr %v out of range", lr)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(grid.Results[0].Path, ProgressFile))
	if n := strings.Count(string(csv), "\n"); n != 6 {
		t.Errorf("progress.csv has %d lines, want header + 5", n)
	}
	loaded, err := LoadResults(tuner.ExperimentPath())
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := loaded.GetBestResult("score", "max", ScopeAll)
	if lb == nil || lb.TrialID != best.TrialID {
		t.Errorf("loaded best %v, want %s", lb, best.TrialID)
	}
	if _, err := os.Stat(filepath.Join(tuner.ExperimentPath(), SummaryPlot)); err != nil {
		t.Errorf("summary plot: %v", err)
	}
	var sb strings.Builder
	loaded.WriteTable(&sb)
	if !strings.Contains(sb.String(), "TERMINATED") || !strings.Contains(sb.String(), "iter") {
		t.Errorf("table:\n%s", sb.String())
	}
}

func TestNewTunerRejectsBadInput(t *testing.T) {
	cases := []struct {
		name  string
		space map[string]any
		cfg   Config
		run   RunConfig
		want  error
	}{
		{"empty grid", map[string]any{"x": GridSearch()}, Config{}, RunConfig{}, ErrBadSpace},
		{"bad bounds", map[string]any{"a": map[string]any{"x": Uniform(2, 1)}}, Config{}, RunConfig{}, ErrBadSpace},
		{"log <= 0", map[string]any{"x": LogUniform(0, 1)}, Config{}, RunConfig{}, ErrBadSpace},
		{"bad mode", nil, Config{Metric: "m", Mode: "up"}, RunConfig{}, ErrBadConfig},
		{"metric without mode", nil, Config{Metric: "m"}, RunConfig{}, ErrBadConfig},
		{"asha without metric", nil, Config{Scheduler: NewASHA()}, RunConfig{}, ErrBadConfig},
		{"bad stop", nil, Config{}, RunConfig{Stop: 3}, ErrBadConfig},
		{"bad failures", nil, Config{}, RunConfig{Failure: FailureConfig{MaxFailures: -2}}, ErrBadConfig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewTuner(TrainFunc(quadFunc), c.space, c.cfg, c.run)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if _, err := NewTuner("no-such-trainable", nil, Config{}, RunConfig{}); !errors.Is(err, ErrUnknownTrainable) {
		t.Errorf("unknown trainable: %v", err)
	}
}

// TestFailFastEndsExperimentWithCause: with FailFast, the first trial error
// ends Fit with an error that is both ErrTrialFailed and the trainable's
// own error, and the failed trial is recorded as ERROR.
func TestFailFastEndsExperimentWithCause(t *testing.T) {
	errBoom := errors.New("boom")
	fn := func(ctx context.Context, p Params, s Session) error {
		if p.Int("i", 0) == 2 {
			return errBoom
		}
		return s.Report(ctx, Metrics{"v": 1}, nil)
	}
	tuner, err := NewTuner(TrainFunc(fn), map[string]any{"i": GridSearch(1, 2, 3)}, Config{MaxConcurrentTrials: 1},
		RunConfig{Name: "ff", StoragePath: t.TempDir(), NoPlot: true, Failure: FailureConfig{FailFast: true}})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(context.Background())
	if !errors.Is(err, ErrTrialFailed) || !errors.Is(err, errBoom) {
		t.Fatalf("Fit = %v, want an error wrapping ErrTrialFailed and the trainable's error", err)
	}
	if grid == nil {
		t.Fatal("no result grid with the fail_fast error")
	}
	errored := 0
	for _, r := range grid.Results {
		if r.Status == Errored {
			errored++
		}
	}
	if errored != 1 {
		t.Fatalf("%d trials in ERROR, want 1", errored)
	}
}

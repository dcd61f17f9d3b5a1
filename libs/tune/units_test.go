package tune

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestStopMapAnyKeyReached(t *testing.T) {
	s := StopMap{"acc": 0.9, "training_iteration": 10, "a/b": 5}
	cases := []struct {
		r    Result
		stop bool
	}{
		{Result{"acc": 0.5, "training_iteration": 3}, false},
		{Result{"acc": 0.95, "training_iteration": 3}, true},
		{Result{"acc": 0.1, "training_iteration": 10}, true},
		{Result{"acc": 0.1, "a": map[string]any{"b": 5.0}}, true},
		{Result{"acc": 0.1, "a": map[string]any{"b": 4.0}}, false},
		{Result{}, false},
	}
	for i, c := range cases {
		if got := s.StopTrial("t", c.r); got != c.stop {
			t.Errorf("case %d %v: stop=%v, want %v", i, c.r, got, c.stop)
		}
	}
	if m := s.missing(Result{"acc": 1}); !reflect.DeepEqual(m, []string{"a/b", "training_iteration"}) {
		t.Errorf("missing = %v", m)
	}
}

func TestTrialPlateauStopper(t *testing.T) {
	p := NewTrialPlateauStopper("loss")
	vals := []float64{5, 4, 3, 2, 1.001, 1.0, 1.002, 1.001}
	var stopAt int
	for i, v := range vals {
		if p.StopTrial("a", Result{"loss": v}) {
			stopAt = i + 1
			break
		}
	}
	// The last 4 results must have std <= 0.01: results 5..8.
	if stopAt != 8 {
		t.Errorf("plateau stop after %d results, want 8", stopAt)
	}
	// Other trials keep their own window.
	if p.StopTrial("b", Result{"loss": 1.0}) {
		t.Error("trial b stopped on its first result")
	}
	th := 0.5
	q := &TrialPlateauStopper{Metric: "loss", Std: 0.01, NumResults: 2, GracePeriod: 2, MetricThreshold: &th, Mode: "min"}
	q.StopTrial("a", Result{"loss": 1.0})
	if q.StopTrial("a", Result{"loss": 1.0}) {
		t.Error("stopped on a plateau above the threshold")
	}
	q.StopTrial("a", Result{"loss": 0.4})
	if !q.StopTrial("a", Result{"loss": 0.4}) {
		t.Error("no stop on a plateau below the threshold")
	}
	c := CombinedStopper{MaximumIterationStopper{MaxIter: 3}, StopFunc(func(_ string, r Result) bool { f, _ := r.Float("x"); return f > 1 })}
	if c.StopTrial("a", Result{"training_iteration": 1, "x": 0}) || !c.StopTrial("a", Result{"training_iteration": 3}) || !c.StopTrial("a", Result{"x": 2}) {
		t.Error("CombinedStopper")
	}
}

func TestPercentileMatchesNumpyLinear(t *testing.T) {
	cases := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 75, 3.25},
		{[]float64{1, 2, 3, 4}, 50, 2.5},
		{[]float64{5}, 75, 5},
		{[]float64{3, 1, 2}, 0, 1},
		{[]float64{3, 1, 2}, 100, 3},
	}
	for _, c := range cases {
		if got := percentile(c.xs, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("percentile(%v, %v) = %v, want %v", c.xs, c.q, got, c.want)
		}
	}
}

func TestASHARungsAndDecisions(t *testing.T) {
	a := NewASHA()
	a.Metric, a.Mode = "m", "max"
	a.init()
	var ms []float64
	for _, r := range a.brackets[0].rungs {
		ms = append(ms, r.milestone)
	}
	if !reflect.DeepEqual(ms, []float64{64, 16, 4, 1}) {
		t.Fatalf("default rungs %v, want Ray's 64 16 4 1", ms)
	}
	a = NewASHA()
	a.Metric, a.Mode, a.MaxT, a.ReductionFactor = "m", "min", 9, 3 // rungs 3, 1
	c := &experiment{}
	res := func(it int, v float64) Result { return Result{KeyTrainingIteration: it, "m": v} }
	steps := []struct {
		trial string
		r     Result
		want  Action
	}{
		{"a", res(1, 1.0), Continue}, // empty rung: no cutoff
		{"b", res(1, 2.0), Stop},     // worse than a's 1.0 (min mode)
		{"c", res(1, 0.5), Continue}, // better than the 75th pct of {1, 2}
		{"a", res(2, 0.1), Continue}, // between rungs
		{"a", res(3, 0.1), Continue}, // first at rung 3
		{"c", res(3, 0.2), Stop},     // worse than a at rung 3
		{"a", res(9, 0.05), Stop},    // max_t reached
	}
	for i, s := range steps {
		tr := &Trial{ID: s.trial}
		if got := a.OnTrialResult(c, tr, s.r).Action; got != s.want {
			t.Errorf("step %d (%s %v): %s, want %s", i, s.trial, s.r, got, s.want)
		}
	}
}

func TestHyperBandBracketShapes(t *testing.T) {
	h := NewHyperBand()
	h.Metric, h.Mode = "m", "max"
	c := &experiment{}
	var shapes [][2]float64
	for i := 0; i < 81+34+15+8+5; i++ {
		h.OnTrialAdd(c, &Trial{ID: string(rune(i + 1000))})
	}
	for _, b := range h.brackets {
		shapes = append(shapes, [2]float64{float64(b.capacity), b.milestone})
	}
	want := [][2]float64{{81, 1}, {34, 3}, {15, 9}, {8, 27}, {5, 81}}
	if !reflect.DeepEqual(shapes, want) {
		t.Errorf("brackets (n, r) = %v, want Ray's %v", shapes, want)
	}
}

func TestPBTExplore(t *testing.T) {
	p := NewPBT(map[string]any{"lr": Uniform(0, 1), "bs": []any{16, 32, 64, 128}, "n": RandInt(1, 100)})
	p.Seed = 4
	p.ResampleProbability = 0
	base := Params{"lr": 0.5, "bs": 32, "n": 10, "other": "kept"}
	for i := 0; i < 50; i++ {
		out := p.explore(base)
		if lr := out.Float("lr", 0); lr != 0.5*1.2 && lr != 0.5*0.8 {
			t.Fatalf("lr %v: want ×1.2 or ×0.8", lr)
		}
		if bs := out.Int("bs", 0); bs != 16 && bs != 64 {
			t.Fatalf("bs %v: want a neighbour of 32", bs)
		}
		if n, ok := out["n"].(int); !ok || (n != 12 && n != 8) {
			t.Fatalf("n %v (%T): want int ×1.2/×0.8", out["n"], out["n"])
		}
		if out["other"] != "kept" {
			t.Fatal("unmutated key changed")
		}
	}
	if base.Float("lr", 0) != 0.5 {
		t.Fatal("explore mutated its input")
	}
	p.ResampleProbability = 1
	if out := p.explore(Params{"lr": 5.0, "bs": 999, "n": 1}); out.Float("lr", 9) >= 1 || out.Int("bs", 0) == 999 {
		t.Errorf("resample: %v", out)
	}
}

func TestGetBestResultScopes(t *testing.T) {
	dir := t.TempDir()
	curves := map[float64][]float64{1: {1, 9, 2}, 2: {3, 3, 3}, 3: {0, 0, 4}}
	fn := func(ctx context.Context, p Params, s Session) error {
		for _, v := range curves[p.Float("k", 0)] {
			if err := s.Report(ctx, Metrics{"m": v}, nil); err != nil {
				return err
			}
		}
		return nil
	}
	tuner, _ := NewTuner(TrainFunc(fn), map[string]any{"k": GridSearch(1.0, 2.0, 3.0)}, Config{Metric: "m", Mode: "max"},
		RunConfig{StoragePath: dir, Name: "scopes", NoPlot: true})
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		scope, mode string
		want        float64
	}{{ScopeLast, "max", 3}, {ScopeAll, "max", 1}, {ScopeAvg, "max", 1}, {ScopeLast5Avg, "min", 3}, {ScopeAll, "min", 3}} {
		b, err := grid.GetBestResult("m", c.mode, c.scope)
		if err != nil {
			t.Fatal(err)
		}
		if k := b.Params.Float("k", 0); k != c.want {
			t.Errorf("scope %s %s: best k=%v, want %v", c.scope, c.mode, k, c.want)
		}
	}
	if _, err := grid.GetBestResult("m", "max", "best-ever"); !errors.Is(err, ErrBadConfig) {
		t.Errorf("bad scope: %v", err)
	}
}

func TestJSONRoundTripKeepsTypes(t *testing.T) {
	in := map[string]any{"f": 1.0, "i": 3, "s": "x", "l": []any{1, 2.5}, "n": map[string]any{"g": 2.0}, "nan": math.NaN()}
	b, err := EncodeJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out["f"].(float64); !ok {
		t.Errorf("1.0 came back as %T", out["f"])
	}
	if _, ok := out["i"].(int); !ok {
		t.Errorf("3 came back as %T", out["i"])
	}
	if g, _ := Params(out).Get("n/g"); g != 2.0 {
		t.Errorf("nested: %v", out["n"])
	}
	if out["nan"] != "NaN" {
		t.Errorf("NaN: %v", out["nan"])
	}
}

func TestProgressTableAppendsWhenNotATerminal(t *testing.T) {
	var buf syncBuffer
	fn := func(ctx context.Context, p Params, s Session) error {
		return s.Report(ctx, Metrics{"acc": p.Float("x", 0)}, nil)
	}
	tuner, _ := NewTuner(TrainFunc(fn), map[string]any{"x": GridSearch(0.25, 0.5)}, Config{Metric: "acc", Mode: "max"},
		RunConfig{StoragePath: t.TempDir(), Name: "p", Progress: &buf, NoPlot: true})
	if _, err := tuner.Fit(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "\x1b[") {
		t.Error("cursor escapes written to a non-terminal")
	}
	if strings.Count(out, "== Status ==") < 2 {
		t.Errorf("want the first and final tables appended:\n%s", out)
	}
	for _, want := range []string{"Trial name", "status", "loc", "x", "iter", "total time (s)", "acc", "2 TERMINATED", "Current best trial", "FIFO"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestConcurrencyBoundedByResourcesAndMax(t *testing.T) {
	for _, c := range []struct {
		cpus, per float64
		max, want int
	}{{4, 2, 0, 2}, {4, 1, 3, 3}, {4, 1, 1, 1}} {
		var cur, peak, started atomic.Int32
		fn := func(ctx context.Context, p Params, s Session) error {
			started.Add(1)
			n := cur.Add(1)
			defer cur.Add(-1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			// Hold the slot across a report so overlapping trials are seen.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) && cur.Load() < int32(c.want) && started.Load() < 6 {
				time.Sleep(time.Millisecond)
			}
			return s.Report(ctx, Metrics{"v": 1}, nil)
		}
		tuner, _ := NewTuner(TrainFunc(fn), map[string]any{"i": GridSearch(1, 2, 3, 4, 5, 6)},
			Config{MaxConcurrentTrials: c.max, ResourcesPerTrial: Resources{"CPU": c.per}, Executor: &InProcessExecutor{CPUs: c.cpus}},
			RunConfig{StoragePath: t.TempDir(), Name: "conc", NoPlot: true})
		if _, err := tuner.Fit(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := int(peak.Load()); got != c.want {
			t.Errorf("%v CPUs, %v per trial, max %d: peak %d concurrent, want %d", c.cpus, c.per, c.max, got, c.want)
		}
	}
}

func TestInfeasibleTrialIsAnError(t *testing.T) {
	tuner, _ := NewTuner(TrainFunc(quadFunc), nil, Config{ResourcesPerTrial: Resources{"CPU": 1, "GPU": 1}, Executor: &InProcessExecutor{CPUs: 2}},
		RunConfig{StoragePath: t.TempDir(), Name: "inf", NoPlot: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := tuner.Fit(ctx); !errors.Is(err, ErrInfeasible) {
		t.Fatalf("err = %v, want ErrInfeasible", err)
	}
}

func TestCancelThenRestoreFinishes(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var reports atomic.Int32
	fn := func(c context.Context, p Params, s Session) error {
		step := 0
		if ck := s.Checkpoint(); ck != nil {
			ck.DecodeJSON(&step)
		}
		for ; step < 6; step++ {
			if reports.Add(1) == 5 {
				cancel()
			}
			ck, _ := CheckpointJSON(step + 1)
			if err := s.Report(c, Metrics{"v": step}, ck); err != nil {
				return err
			}
		}
		return nil
	}
	space := map[string]any{"i": GridSearch(1, 2, 3)}
	tuner, _ := NewTuner(TrainFunc(fn), space, Config{MaxConcurrentTrials: 1}, RunConfig{StoragePath: dir, Name: "c", NoPlot: true})
	if _, err := tuner.Fit(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	grid, err := LoadResults(tuner.ExperimentPath())
	if err != nil {
		t.Fatal(err)
	}
	if grid.NumTerminated() == 3 {
		t.Fatal("everything finished before the cancel")
	}
	r2, err := Restore(context.Background(), tuner.ExperimentPath(), TrainFunc(fn), WithParamSpace(space))
	if err != nil {
		t.Fatal(err)
	}
	grid, err = r2.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range grid.Results {
		h, _ := r.History()
		if r.Status != Terminated || r.Metrics.Iteration() != 6 || h[0].Iteration() != 1 {
			t.Errorf("%s: %s at %d", r.TrialID, r.Status, r.Metrics.Iteration())
		}
		for i := 1; i < len(h); i++ {
			if h[i].Iteration() == 1 {
				t.Errorf("%s restarted from scratch", r.TrialID)
			}
		}
	}
	if _, err := Restore(context.Background(), t.TempDir(), TrainFunc(fn)); !errors.Is(err, ErrNoExperiment) {
		t.Errorf("restore of an empty dir: %v", err)
	}
}

func TestTimeBudgetEndsExperiment(t *testing.T) {
	fn := func(ctx context.Context, p Params, s Session) error {
		for {
			if err := s.Report(ctx, Metrics{"v": 1}, nil); err != nil {
				return err
			}
			time.Sleep(time.Millisecond) // a slow iteration; the budget ends it
		}
	}
	tuner, _ := NewTuner(TrainFunc(fn), nil, Config{TimeBudget: 50 * time.Millisecond}, RunConfig{StoragePath: t.TempDir(), Name: "tb", NoPlot: true})
	start := time.Now()
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
	if grid.Results[0].Status != Terminated || !grid.Results[0].Metrics.Done() {
		t.Errorf("trial %s, done=%v", grid.Results[0].Status, grid.Results[0].Metrics.Done())
	}
}

type panicky struct{}

func (panicky) Setup(context.Context, Params) error        { return nil }
func (panicky) Step(context.Context) (Metrics, error)      { panic("boom") }
func (panicky) Save(context.Context) (*Checkpoint, error)  { return nil, nil }
func (panicky) Restore(context.Context, *Checkpoint) error { return nil }

func TestPanickingTrainerFailsOnlyItsTrial(t *testing.T) {
	tuner, _ := NewTuner(func() Trainer { return panicky{} }, nil, Config{}, RunConfig{StoragePath: t.TempDir(), Name: "p", NoPlot: true})
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := grid.Results[0]; r.Status != Errored || !strings.Contains(r.Err.Error(), "panicked") {
		t.Fatalf("%s: %v", r.Status, r.Err)
	}
}

func TestRestoreWithTPEAndLimiterContinuesTheSearch(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	fn := func(c context.Context, p Params, s Session) error {
		if n.Add(1) == 12 {
			cancel()
		}
		return s.Report(c, Metrics{"f": p.Float("x", 0) * p.Float("x", 0)}, nil)
	}
	space := map[string]any{"x": Uniform(-1, 1)}
	cfg := func() Config {
		return Config{NumSamples: 15, Metric: "f", Mode: "min", Seed: 2, SearchAlg: NewConcurrencyLimiter(NewTPESearch(), 1)}
	}
	tuner, _ := NewTuner(TrainFunc(fn), space, cfg(), RunConfig{StoragePath: dir, Name: "tpe", NoPlot: true})
	if _, err := tuner.Fit(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	r2, err := Restore(context.Background(), tuner.ExperimentPath(), TrainFunc(fn), WithParamSpace(space),
		WithConfig(func(c *Config, _ *RunConfig) { c.SearchAlg = cfg().SearchAlg }))
	if err != nil {
		t.Fatal(err)
	}
	grid, err := r2.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if grid.Len() != 15 || grid.NumTerminated() != 15 {
		t.Fatalf("%d trials, %d terminated, want 15", grid.Len(), grid.NumTerminated())
	}
}

func TestLastResultSkipsTornLine(t *testing.T) {
	p := t.TempDir() + "/result.json"
	os.WriteFile(p, []byte("{\"training_iteration\":1}\n{\"training_iteration\":2}\n{\"training_itera"), 0o644)
	r, err := lastResult(p)
	if err != nil || r.Iteration() != 2 {
		t.Fatalf("last = %v, %v; want iteration 2", r, err)
	}
	rs, _ := readResults(p)
	if len(rs) != 2 {
		t.Errorf("readResults kept %d lines, want 2", len(rs))
	}
}

// pauseOnce pauses every trial once at iteration 3 and resumes paused
// trials when the tuner is idle.
type pauseOnce struct {
	FIFOScheduler
	paused map[string]bool
}

func (p *pauseOnce) OnTrialResult(_ Controller, t *Trial, r Result) Decision {
	if r.Iteration() == 3 && !p.paused[t.ID] {
		p.paused[t.ID] = true
		return Decision{Action: Pause}
	}
	return Decision{}
}

func (p *pauseOnce) OnIdle(c Controller) {
	for _, t := range c.Trials() {
		c.ResumeTrial(t)
	}
}

func TestPausedFunctionTrialResumesFromItsLastReportedCheckpoint(t *testing.T) {
	// Checkpoints at iterations 2 and 4: the pause at 3 resumes from 2.
	fn := func(ctx context.Context, p Params, s Session) error {
		step := 0
		if ck := s.Checkpoint(); ck != nil {
			ck.DecodeJSON(&step)
		}
		for step < 5 {
			step++
			var ck *Checkpoint
			if step%2 == 0 {
				ck, _ = CheckpointJSON(step)
			}
			if err := s.Report(ctx, Metrics{"step": step}, ck); err != nil {
				return err
			}
		}
		return nil
	}
	tuner, _ := NewTuner(TrainFunc(fn), nil, Config{Scheduler: &pauseOnce{paused: map[string]bool{}}},
		RunConfig{StoragePath: t.TempDir(), Name: "pause", NoPlot: true})
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h, _ := grid.Results[0].History()
	var its, steps []int
	for _, r := range h {
		its = append(its, r.Iteration())
		s, _ := r.Float("step")
		steps = append(steps, int(s))
	}
	if fmt.Sprint(its) != "[1 2 3 3 4 5 5]" || fmt.Sprint(steps) != fmt.Sprint(its) {
		t.Errorf("iterations %v, steps %v; want the resume to repeat iteration 3 from checkpoint 2", its, steps)
	}
	if n, _ := filepath.Glob(filepath.Join(grid.Results[0].Path, "checkpoint_*")); len(n) != 2 {
		t.Errorf("checkpoints %v: the pause must not persist checkpoint 2 twice", n)
	}
}

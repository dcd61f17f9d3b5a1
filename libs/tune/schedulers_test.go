package tune

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// curveTrainer is a class trainable with a known learning curve:
// acc(t) = q·(1 - e^(-t/8)). Higher q is better at every iteration, so the
// best config is known and early stopping decisions can be checked.
type curveTrainer struct {
	q    float64
	iter int
}

func (c *curveTrainer) Setup(_ context.Context, p Params) error { c.q = p.Float("q", 0); return nil }
func (c *curveTrainer) Step(context.Context) (Metrics, error) {
	c.iter++
	return Metrics{"acc": c.q * (1 - math.Exp(-float64(c.iter)/8))}, nil
}
func (c *curveTrainer) Save(context.Context) (*Checkpoint, error) { return CheckpointJSON(c.iter) }
func (c *curveTrainer) Restore(_ context.Context, ck *Checkpoint) error {
	return ck.DecodeJSON(&c.iter)
}

func newCurve() Trainer { return &curveTrainer{} }

// runCurves runs n random q's and returns the grid, the best q sampled and
// how many trials stopped before maxIter.
func runCurves(t *testing.T, sched Scheduler, n, maxIter, conc int) (*ResultGrid, float64, int) {
	t.Helper()
	tuner, err := NewTuner(newCurve, map[string]any{"q": Uniform(0, 1)},
		Config{NumSamples: n, Metric: "acc", Mode: "max", Scheduler: sched, Seed: 42, MaxConcurrentTrials: conc},
		RunConfig{Name: "curves", StoragePath: t.TempDir(), Stop: StopMap{KeyTrainingIteration: float64(maxIter)}, NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bestQ, early := 0.0, 0
	for _, r := range grid.Results {
		if r.Status != Terminated {
			t.Errorf("%s ended %s", r.TrialID, r.Status)
		}
		bestQ = math.Max(bestQ, r.Params.Float("q", 0))
		if r.Metrics.Iteration() < maxIter {
			early++
		}
	}
	return grid, bestQ, early
}

func checkBest(t *testing.T, grid *ResultGrid, bestQ float64) {
	t.Helper()
	best, err := grid.GetBestResult("acc", "max", ScopeLast)
	if err != nil {
		t.Fatal(err)
	}
	if got := best.Params.Float("q", 0); got != bestQ {
		t.Errorf("best config q=%v, want the best sampled q=%v", got, bestQ)
	}
}

func TestASHAStopsHalfEarlyAndKeepsBest(t *testing.T) {
	asha := NewASHA()
	asha.MaxT, asha.GracePeriod, asha.ReductionFactor = 27, 1, 3
	grid, bestQ, early := runCurves(t, asha, 24, 27, 1)
	if early < grid.Len()/2 {
		t.Errorf("ASHA stopped %d of %d trials early, want at least half", early, grid.Len())
	}
	checkBest(t, grid, bestQ)
	t.Logf("ASHA: %d/%d stopped early", early, grid.Len())
}

func TestHyperBandStopsHalfEarlyAndKeepsBest(t *testing.T) {
	hb := NewHyperBand()
	hb.MaxT, hb.ReductionFactor = 27, 3
	// 27 trials fill the first bracket (s=3: 27 trials at 1 iteration, then
	// 9 at 3, 3 at 9, 1 at 27); 3 run at a time, so trials are paused and
	// resumed from checkpoints between rounds.
	grid, bestQ, early := runCurves(t, hb, 27, 27, 3)
	if early < grid.Len()/2 {
		t.Errorf("HyperBand stopped %d of %d trials early, want at least half", early, grid.Len())
	}
	if early != 26 {
		t.Errorf("one bracket of 27 keeps exactly one trial to max_t; %d stopped early", early)
	}
	checkBest(t, grid, bestQ)
	for _, r := range grid.Results {
		h, _ := r.History()
		for i := 1; i < len(h); i++ {
			if h[i].Iteration() < h[i-1].Iteration() {
				t.Fatalf("%s: iteration went back %d → %d: a pause lost progress", r.TrialID, h[i-1].Iteration(), h[i].Iteration())
			}
		}
	}
}

func TestMedianStoppingStopsHalfEarlyAndKeepsBest(t *testing.T) {
	m := NewMedianStoppingRule()
	m.TimeAttr, m.GracePeriod = KeyTrainingIteration, 4
	grid, bestQ, early := runCurves(t, m, 24, 30, 1)
	if early < grid.Len()/2 {
		t.Errorf("MedianStopping stopped %d of %d trials early, want at least half", early, grid.Len())
	}
	checkBest(t, grid, bestQ)
	t.Logf("MedianStopping: %d/%d stopped early", early, grid.Len())
}

// quadTrainer is the toy problem of the PBT paper (Jaderberg et al. 2017,
// fig. 2): maximise Q(θ) = 1.2 − (θ0² + θ1²) by gradient ascent on the
// surrogate Q̂(θ|h) = 1.2 − (h0·θ0² + h1·θ1²). A worker whose h has a zero
// component never improves that coordinate on its own.
type quadTrainer struct {
	theta [2]float64
	h     [2]float64
}

func (q *quadTrainer) Setup(_ context.Context, p Params) error {
	q.theta = [2]float64{0.9, 0.9}
	q.h = [2]float64{p.Float("h0", 0), p.Float("h1", 0)}
	return nil
}
func (q *quadTrainer) Step(context.Context) (Metrics, error) {
	for i := range q.theta {
		q.theta[i] -= 0.02 * 2 * q.h[i] * q.theta[i]
	}
	return Metrics{"Q": 1.2 - (q.theta[0]*q.theta[0] + q.theta[1]*q.theta[1])}, nil
}
func (q *quadTrainer) Save(context.Context) (*Checkpoint, error) { return CheckpointJSON(q.theta) }
func (q *quadTrainer) Restore(_ context.Context, c *Checkpoint) error {
	return c.DecodeJSON(&q.theta)
}

var pbtLines int

func runQuad(t *testing.T, sched Scheduler) float64 {
	t.Helper()
	tuner, err := NewTuner(func() Trainer { return &quadTrainer{} }, map[string]any{
		"h":  GridSearch(0, 1, 2, 3),
		"h0": SampleFrom(func(_ *rand.Rand, p Params) any { return []float64{1, 0, 0.5, 0}[p.Int("h", 0)] }),
		"h1": SampleFrom(func(_ *rand.Rand, p Params) any { return []float64{0, 1, 0, 0.5}[p.Int("h", 0)] }),
	}, Config{Metric: "Q", Mode: "max", Scheduler: sched, Seed: 3, MaxConcurrentTrials: 1},
		RunConfig{Name: "pbt", StoragePath: t.TempDir(), Stop: StopMap{KeyTrainingIteration: 100}, NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	best, err := grid.GetBestResult("", "", ScopeLast)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sched.(*PopulationBasedTraining); ok {
		b, _ := os.ReadFile(filepath.Join(grid.Path, "pbt_global.txt"))
		pbtLines = strings.Count(string(b), "\n")
	}
	q, _ := best.Metrics.Float("Q")
	return q
}

func TestPBTBeatsNoExploitation(t *testing.T) {
	pbt := NewPBT(map[string]any{"h0": Uniform(0, 1), "h1": Uniform(0, 1)})
	pbt.TimeAttr, pbt.PerturbationInterval, pbt.Seed, pbt.Synch = KeyTrainingIteration, 4, 1, true
	withPBT := runQuad(t, pbt)
	without := runQuad(t, FIFOScheduler{})
	t.Logf("PBT best Q = %.4f, without exploitation %.4f (optimum 1.2), %d exploits", withPBT, without, len(pbt.Log))
	if without > 0.4 {
		t.Errorf("baseline Q = %v: a single worker should not pass 1.2-0.81", without)
	}
	if withPBT < without+0.3 {
		t.Errorf("PBT best Q = %v, want well above the no-exploitation %v", withPBT, without)
	}
	if len(pbt.Log) == 0 {
		t.Error("PBT never exploited")
	}
	if pbtLines != len(pbt.Log) {
		t.Errorf("pbt_global.txt has %d lines, PBT logged %d exploits", pbtLines, len(pbt.Log))
	}
}

func TestAsyncPBTExploitContinuesFromDonorCheckpoint(t *testing.T) {
	pbt := NewPBT(map[string]any{"h0": Uniform(0, 1), "h1": Uniform(0, 1)})
	pbt.TimeAttr, pbt.PerturbationInterval, pbt.Seed = KeyTrainingIteration, 4, 1
	tuner, err := NewTuner(func() Trainer { return &quadTrainer{} }, map[string]any{
		"h":  GridSearch(0, 1, 2, 3),
		"h0": SampleFrom(func(_ *rand.Rand, p Params) any { return []float64{1, 0, 0.5, 0}[p.Int("h", 0)] }),
		"h1": SampleFrom(func(_ *rand.Rand, p Params) any { return []float64{0, 1, 0, 0.5}[p.Int("h", 0)] }),
	}, Config{Metric: "Q", Mode: "max", Scheduler: pbt, MaxConcurrentTrials: 1},
		RunConfig{Name: "apbt", StoragePath: t.TempDir(), Stop: StopMap{KeyTrainingIteration: 20}, NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pbt.Log) == 0 {
		t.Fatal("no exploit")
	}
	b, _ := os.ReadFile(filepath.Join(grid.Path, "pbt_global.txt"))
	var line []any
	if err := json.Unmarshal([]byte(strings.SplitN(string(b), "\n", 2)[0]), &line); err != nil {
		t.Fatal(err)
	}
	target, cloneIter := line[0].(string), int(line[3].(float64))
	for _, r := range grid.Results {
		if r.TrialID != target {
			continue
		}
		// The first result after the exploit continues the donor's
		// checkpoint: iteration cloneIter+1, whatever the target's own was.
		h, _ := r.History()
		exploitAt := -1
		for i, x := range h {
			if float64(x.Iteration()) == line[2].(float64) {
				exploitAt = i
				break
			}
		}
		if exploitAt < 0 || exploitAt+1 >= len(h) {
			t.Fatalf("%s: no result after the exploit at iteration %v", target, line[2])
		}
		if got := h[exploitAt+1].Iteration(); got != cloneIter+1 {
			t.Errorf("after the exploit %s continued at iteration %d, want donor checkpoint %d + 1", target, got, cloneIter)
		}
		if got := r.Params.Float("h0", -1) + r.Params.Float("h1", -1); got == 1 && r.Params.Float("h0", 0) == pbt.Log[0].Old.Float("h0", 0) {
			t.Errorf("exploited trial kept its params %v", r.Params)
		}
	}
}

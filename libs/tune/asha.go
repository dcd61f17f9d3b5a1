package tune

import (
	"math"
	"math/rand/v2"
	"sort"
)

// AsyncHyperBand is ASHA (Ray's AsyncHyperBandScheduler / ASHAScheduler):
// rungs at GracePeriod·ReductionFactor^k below MaxT; a trial reaching a rung
// is stopped if its metric is worse than the (1 - 1/ReductionFactor)
// percentile of what other trials recorded at that rung.
type AsyncHyperBand struct {
	metricMode
	TimeAttr        string
	MaxT            float64
	GracePeriod     float64
	ReductionFactor float64
	Brackets        int
	StopLastTrials  bool
	Seed            uint64

	brackets []*ashaBracket
	assign   map[string]*ashaBracket
	rng      *rand.Rand
}

// NewASHA returns ASHA with Ray's defaults: time_attr training_iteration,
// max_t 100, grace_period 1, reduction_factor 4, brackets 1,
// stop_last_trials true.
func NewASHA() *AsyncHyperBand {
	return &AsyncHyperBand{TimeAttr: KeyTrainingIteration, MaxT: 100, GracePeriod: 1,
		ReductionFactor: 4, Brackets: 1, StopLastTrials: true}
}

type ashaRung struct {
	milestone float64
	recorded  map[string]float64
}

type ashaBracket struct{ rungs []*ashaRung } // highest milestone first

func (a *AsyncHyperBand) init() {
	if a.assign != nil {
		return
	}
	a.assign = map[string]*ashaBracket{}
	a.rng = rand.New(rand.NewPCG(a.Seed, 7))
	if a.Brackets < 1 {
		a.Brackets = 1
	}
	for s := 0; s < a.Brackets; s++ {
		n := int(math.Log(a.MaxT/a.GracePeriod)/math.Log(a.ReductionFactor) - float64(s) + 1)
		b := &ashaBracket{}
		for k := n - 1; k >= 0; k-- {
			b.rungs = append(b.rungs, &ashaRung{
				milestone: a.GracePeriod * math.Pow(a.ReductionFactor, float64(k+s)),
				recorded:  map[string]float64{}})
		}
		a.brackets = append(a.brackets, b)
	}
}

func (a *AsyncHyperBand) defaultSeed(s uint64) {
	if a.Seed == 0 {
		a.Seed = s
	}
}

// Name implements Scheduler.
func (a *AsyncHyperBand) Name() string { return "AsyncHyperBand" }

// OnTrialAdd assigns a bracket, favouring brackets with more rungs (Ray's
// softmax over rung counts).
func (a *AsyncHyperBand) OnTrialAdd(_ Controller, t *Trial) {
	a.init()
	maxN := 0
	for _, b := range a.brackets {
		maxN = max(maxN, len(b.rungs))
	}
	var ws []float64
	var sum float64
	for _, b := range a.brackets {
		w := math.Exp(float64(len(b.rungs) - maxN))
		ws = append(ws, w)
		sum += w
	}
	x := a.rng.Float64() * sum
	for i, w := range ws {
		if x < w || i == len(ws)-1 {
			a.assign[t.ID] = a.brackets[i]
			return
		}
		x -= w
	}
}

// OnTrialResult implements Scheduler.
func (a *AsyncHyperBand) OnTrialResult(c Controller, t *Trial, r Result) Decision {
	a.init()
	b := a.assign[t.ID]
	if b == nil {
		a.OnTrialAdd(c, t)
		b = a.assign[t.ID]
	}
	cur, ok1 := r.Float(a.TimeAttr)
	score, ok2 := a.score(r)
	if !ok1 || !ok2 {
		return Decision{}
	}
	action := Continue
	if a.StopLastTrials && cur >= a.MaxT {
		action = Stop
	}
	for _, rung := range b.rungs {
		if cur < rung.milestone {
			continue
		}
		if _, seen := rung.recorded[t.ID]; seen {
			continue
		}
		if cut, ok := cutoff(rung.recorded, a.ReductionFactor); ok && score < cut {
			action = Stop
		}
		rung.recorded[t.ID] = score
		break
	}
	return Decision{Action: action}
}

// cutoff is numpy's nanpercentile (linear) at (1-1/rf)·100 of the recorded values.
func cutoff(rec map[string]float64, rf float64) (float64, bool) {
	var xs []float64
	for _, v := range rec {
		if !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return 0, false
	}
	return percentile(xs, (1-1/rf)*100), true
}

func percentile(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := q / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return s[lo]
	}
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// OnTrialComplete implements Scheduler: the final result is recorded at
// its rung too (as in Ray), which matters when a stopper, not ASHA, ended
// the trial.
func (a *AsyncHyperBand) OnTrialComplete(c Controller, t *Trial, r Result) {
	if r != nil {
		a.OnTrialResult(c, t, r)
	}
}

// OnTrialError implements Scheduler.
func (a *AsyncHyperBand) OnTrialError(Controller, *Trial) {}

// OnIdle implements Scheduler.
func (a *AsyncHyperBand) OnIdle(Controller) {}

// MedianStoppingRule stops a trial whose best result so far is worse than
// the median of the other trials' running averages at the same time (Ray's
// MedianStoppingRule). Defaults: time_attr time_total_s, grace_period 60,
// min_samples_required 3, min_time_slice 0, hard_stop true.
type MedianStoppingRule struct {
	metricMode
	TimeAttr           string
	GracePeriod        float64
	MinSamplesRequired int
	MinTimeSlice       float64
	HardStop           bool

	results map[string][]Result
	order   []string
	stopped map[string]bool
}

// NewMedianStoppingRule returns the rule with Ray's defaults.
func NewMedianStoppingRule() *MedianStoppingRule {
	return &MedianStoppingRule{TimeAttr: KeyTimeTotal, GracePeriod: 60, MinSamplesRequired: 3, HardStop: true}
}

// Name implements Scheduler.
func (m *MedianStoppingRule) Name() string { return "MedianStopping" }

// OnTrialAdd implements Scheduler.
func (m *MedianStoppingRule) OnTrialAdd(_ Controller, t *Trial) {
	if m.results == nil {
		m.results, m.stopped = map[string][]Result{}, map[string]bool{}
	}
	if _, ok := m.results[t.ID]; !ok {
		m.results[t.ID] = nil
		m.order = append(m.order, t.ID)
	}
}

// OnTrialResult implements Scheduler.
func (m *MedianStoppingRule) OnTrialResult(c Controller, t *Trial, r Result) Decision {
	m.OnTrialAdd(c, t)
	tm, ok1 := r.Float(m.TimeAttr)
	_, ok2 := m.score(r)
	if !ok1 || !ok2 {
		return Decision{}
	}
	if m.stopped[t.ID] {
		return Decision{Action: Stop}
	}
	m.results[t.ID] = append(m.results[t.ID], r)
	if tm < m.GracePeriod {
		return Decision{}
	}
	var others []string
	for _, id := range m.order {
		rs := m.results[id]
		if id == t.ID || len(rs) == 0 {
			continue
		}
		if last, _ := rs[len(rs)-1].Float(m.TimeAttr); last >= tm {
			others = append(others, id)
		}
	}
	if len(others) < m.MinSamplesRequired {
		return Decision{}
	}
	var means []float64
	for _, id := range others {
		means = append(means, m.runningMean(id, tm))
	}
	median := percentile(means, 50)
	best := math.Inf(-1)
	for _, x := range m.results[t.ID] {
		if s, ok := m.score(x); ok && s > best {
			best = s
		}
	}
	if best < median && tm > m.MinTimeSlice {
		m.stopped[t.ID] = true
		if m.HardStop {
			return Decision{Action: Stop}
		}
		return Decision{Action: Pause}
	}
	return Decision{}
}

func (m *MedianStoppingRule) runningMean(id string, tm float64) float64 {
	var sum float64
	n := 0
	for _, r := range m.results[id] {
		at, _ := r.Float(m.TimeAttr)
		if at >= m.GracePeriod && at <= tm {
			s, _ := m.score(r)
			sum += s
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// OnTrialComplete implements Scheduler.
func (m *MedianStoppingRule) OnTrialComplete(Controller, *Trial, Result) {}

// OnTrialError implements Scheduler.
func (m *MedianStoppingRule) OnTrialError(Controller, *Trial) {}

// OnIdle implements Scheduler: with HardStop false, paused trials would wait
// for ever, so they end here.
func (m *MedianStoppingRule) OnIdle(c Controller) {
	for _, t := range c.Trials() {
		if t.Status == Paused {
			c.StopTrial(t)
		}
	}
}

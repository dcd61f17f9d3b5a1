package tune

import (
	"fmt"
	"math"
	"sort"
)

// Stopper decides when trials (or the whole experiment) end, like Ray's
// tune.Stopper. It is called from the tuner's control goroutine.
type Stopper interface {
	// StopTrial is called with every result; true ends that trial.
	StopTrial(trialID string, r Result) bool
	// StopAll is called after every result; true ends the experiment.
	StopAll() bool
}

// StopMap is Ray's dict stop condition: a trial stops when result[key] >=
// threshold for ANY key. Keys may address nested metrics as "a/b".
type StopMap map[string]float64

// StopTrial implements Stopper.
func (m StopMap) StopTrial(_ string, r Result) bool {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := r.Float(k); ok && v >= m[k] {
			return true
		}
	}
	return false
}

// StopAll implements Stopper.
func (StopMap) StopAll() bool { return false }

// missing lists stop keys absent from r (the tuner warns about them once, as
// newer Ray does, instead of failing the trial).
func (m StopMap) missing(r Result) []string {
	var out []string
	for k := range m {
		if _, ok := r.Float(k); !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// StopFunc is a function stop condition (trial_id, result) -> bool.
type StopFunc func(trialID string, r Result) bool

// StopTrial implements Stopper.
func (f StopFunc) StopTrial(id string, r Result) bool { return f(id, r) }

// StopAll implements Stopper.
func (StopFunc) StopAll() bool { return false }

// MaximumIterationStopper stops every trial at MaxIter iterations.
type MaximumIterationStopper struct{ MaxIter int }

// StopTrial implements Stopper.
func (s MaximumIterationStopper) StopTrial(_ string, r Result) bool {
	return r.Iteration() >= s.MaxIter
}

// StopAll implements Stopper.
func (MaximumIterationStopper) StopAll() bool { return false }

// CombinedStopper stops when any of its stoppers does.
type CombinedStopper []Stopper

// StopTrial implements Stopper.
func (c CombinedStopper) StopTrial(id string, r Result) bool {
	stop := false
	for _, s := range c {
		// Every stopper sees every result (stateful ones keep their window).
		if s.StopTrial(id, r) {
			stop = true
		}
	}
	return stop
}

// StopAll implements Stopper.
func (c CombinedStopper) StopAll() bool {
	for _, s := range c {
		if s.StopAll() {
			return true
		}
	}
	return false
}

// TrialPlateauStopper stops a trial whose metric has plateaued: over the last
// NumResults results the standard deviation is at most Std, after at least
// GracePeriod results. Defaults follow Ray: Std 0.01, NumResults 4,
// GracePeriod 4; MetricThreshold (with Mode) optionally requires the metric
// to have passed a value first.
type TrialPlateauStopper struct {
	Metric          string
	Std             float64
	NumResults      int
	GracePeriod     int
	MetricThreshold *float64
	Mode            string // "min" or "max", used with MetricThreshold

	hist  map[string][]float64
	count map[string]int
}

// NewTrialPlateauStopper returns a plateau stopper with Ray's defaults.
func NewTrialPlateauStopper(metric string) *TrialPlateauStopper {
	return &TrialPlateauStopper{Metric: metric, Std: 0.01, NumResults: 4, GracePeriod: 4}
}

// StopTrial implements Stopper.
func (p *TrialPlateauStopper) StopTrial(id string, r Result) bool {
	if p.hist == nil {
		p.hist, p.count = map[string][]float64{}, map[string]int{}
	}
	v, ok := r.Float(p.Metric)
	if !ok {
		return false
	}
	p.count[id]++
	h := append(p.hist[id], v)
	if len(h) > p.NumResults {
		h = h[len(h)-p.NumResults:]
	}
	p.hist[id] = h
	if p.count[id] < p.GracePeriod || len(h) < p.NumResults {
		return false
	}
	if p.MetricThreshold != nil {
		t := *p.MetricThreshold
		if (p.Mode == "min" && v > t) || (p.Mode != "min" && v < t) {
			return false
		}
	}
	return stddev(h) <= p.Std
}

// StopAll implements Stopper.
func (*TrialPlateauStopper) StopAll() bool { return false }

func stddev(xs []float64) float64 {
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(xs)))
}

// toStopper accepts RunConfig.Stop's forms.
func toStopper(v any) (Stopper, error) {
	switch s := v.(type) {
	case nil:
		return nil, nil
	case Stopper:
		return s, nil
	case map[string]float64:
		return StopMap(s), nil
	case map[string]any:
		m := StopMap{}
		for k, x := range s {
			f, ok := toFloat(x)
			if !ok {
				return nil, fmt.Errorf("%w: stop[%q] = %v is not a number", ErrBadConfig, k, x)
			}
			m[k] = f
		}
		return m, nil
	case func(string, Result) bool:
		return StopFunc(s), nil
	}
	return nil, fmt.Errorf("%w: unsupported Stop type %T", ErrBadConfig, v)
}

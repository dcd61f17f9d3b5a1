package tune

import (
	"math"
	"strings"
)

// Auto-filled result keys (Ray's python/ray/tune/result.py names).
const (
	KeyTrainingIteration = "training_iteration"
	KeyTimeThisIter      = "time_this_iter_s"
	KeyTimeTotal         = "time_total_s"
	KeyTimestamp         = "timestamp"
	KeyDate              = "date"
	KeyDone              = "done"
	KeyTrialID           = "trial_id"
	KeyExperimentID      = "experiment_id"
	KeyPID               = "pid"
	KeyHostname          = "hostname"
	KeyNodeIP            = "node_ip"
	KeyConfig            = "config"
	KeyItersSinceRestore = "iterations_since_restore"
	KeyTimeSinceRestore  = "time_since_restore"
)

// Metrics is what a trainable reports for one iteration.
type Metrics map[string]any

// Result is one reported result as the tuner saw it: the trainable's metrics
// plus the auto-filled keys above.
type Result map[string]any

// Float returns the numeric value at key ("a/b" reaches into nested maps).
func (r Result) Float(key string) (float64, bool) {
	if r == nil {
		return 0, false
	}
	if v, ok := r[key]; ok {
		return toFloat(v)
	}
	if !strings.Contains(key, "/") {
		return 0, false
	}
	v, ok := Params(r).Get(key)
	if !ok {
		return 0, false
	}
	return toFloat(v)
}

// Iteration is the result's training_iteration (0 if absent).
func (r Result) Iteration() int {
	f, _ := r.Float(KeyTrainingIteration)
	return int(f)
}

// Done reports the done flag.
func (r Result) Done() bool {
	b, _ := r[KeyDone].(bool)
	return b
}

// better reports whether a beats b under mode ("max"/"min"); NaN never wins.
func better(a, b float64, mode string) bool {
	if math.IsNaN(a) {
		return false
	}
	if math.IsNaN(b) {
		return true
	}
	if mode == "min" {
		return a < b
	}
	return a > b
}

// signed turns a metric into "higher is better" for mode.
func signed(v float64, mode string) float64 {
	if mode == "min" {
		return -v
	}
	return v
}
